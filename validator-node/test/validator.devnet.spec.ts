import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { Hyperparameters, JobSpecInput, TrialPlan } from '@decenter/core';
import { createConsortium, startDevnet, type RunningDevnet } from '@decenter/devnet';
import {
  CertificatesClient,
  JobsClient,
  LedgerConnection,
  LedgerError,
  loadNetworkConfig,
  NodesClient,
  type ScoreRecord,
} from '@decenter/ledger';
import { hashArtifacts, initBackend, type BackendName } from '@decenter/ml';
import { ensureChaincodeBuilt } from '@decenter/system-tests/support/devnet';
import { BUCKET, flipByte, type IrisSplits } from '@decenter/system-tests/support/iris-job.fixture';
import { buildWorkspace, waitFor } from '@decenter/system-tests/support/node.process';

import {
  buildCertificateMetadata,
  certificateFacts,
  checkStoredMetadata,
  fabricIdOfFile,
  type SelectionReport,
} from '../src';
import {
  editModelJson,
  IRIS_SPEC,
  layersOf,
  trainCandidate,
  writeIrisFiles,
  type TrainedCandidate,
} from './support/candidate.fixture';
import {
  commitCandidate,
  createStoredJob,
  killValidator,
  startValidator,
  type ValidatorProcess,
} from './support/ledger.fixture';

jest.setTimeout(150_000);

const GOOD: Hyperparameters = { learningRate: 0.1, batchSize: 16, epochs: 8, optimizer: 'adam' };
const POOR: Hyperparameters = { learningRate: 0.001, batchSize: 16, epochs: 2, optimizer: 'adam' };
const SPEC: JobSpecInput = { ...IRIS_SPEC, validation: { replayShare: 1 } };

const plan = (trialId: string, seed: number, hyperparameters: Hyperparameters): TrialPlan => ({
  trialId,
  seed,
  hyperparameters,
});

describe('validator nodes of two orgs on the devnet', () => {
  let home: string;
  let devnet: RunningDevnet;
  const connections: LedgerConnection[] = [];
  let owner: JobsClient;
  let ownerParty: { mspId: string; id: string };
  const executors: Record<string, JobsClient> = {};
  let org3Nodes: NodesClient;
  let rogueValidator: JobsClient;
  let org1Validator: JobsClient;
  let certificates: CertificatesClient;
  const validators: ValidatorProcess[] = [];
  let files: IrisSplits;
  let backend: BackendName;
  let work: string;
  let good: TrainedCandidate;

  const storageDir = (): string => path.join(home, 'storage');

  async function open(identity: string): Promise<LedgerConnection> {
    const config = await loadNetworkConfig(path.join(home, 'network.json'));
    const connection = await LedgerConnection.open({ config, identity });
    connections.push(connection);
    return connection;
  }

  async function train(
    name: string,
    seed: number,
    hyperparameters: Hyperparameters,
    dataSeed?: number,
  ): Promise<TrainedCandidate> {
    return trainCandidate({
      dir: path.join(work, name),
      spec: SPEC,
      files,
      seed,
      hyperparameters,
      ...(dataSeed === undefined ? {} : { dataSeed }),
    });
  }

  beforeAll(async () => {
    await ensureChaincodeBuilt();
    buildWorkspace('validator-node');
    // Candidates are trained here on the backend the validator processes pick by default, so they can replay.
    backend = (await initBackend()).name;
    home = await mkdtemp(path.join(tmpdir(), 'validator-devnet-'));
    work = path.join(home, 'work');
    files = await writeIrisFiles(path.join(work, 'data'));
    good = await train('good', 2, GOOD);
    await createConsortium({ home, orgs: ['Org1', 'Org2', 'Org3'] });
    devnet = await startDevnet({ home, port: 0, log: () => undefined });
    const ownerConnection = await open('Org1/user1');
    owner = new JobsClient(ownerConnection);
    ownerParty = { mspId: 'Org1MSP', id: await fabricIdOfFile(ownerConnection.identity.cert) };
    certificates = new CertificatesClient(ownerConnection);
    const capabilities = { cores: 1, memoryMiB: 512, backends: [backend] };
    for (const org of ['Org1', 'Org2', 'Org3']) {
      const connection = await open(`${org}/executor1`);
      await new NodesClient(connection).registerNode(capabilities);
      executors[org] = new JobsClient(connection);
      if (org === 'Org3') org3Nodes = new NodesClient(connection);
    }
    const rogue = await open('Org3/validator1');
    await new NodesClient(rogue).registerNode(capabilities);
    rogueValidator = new JobsClient(rogue);
    org1Validator = new JobsClient(await open('Org1/validator1'));
    validators.push(startValidator(home, 'Org1/validator1'), startValidator(home, 'Org2/validator1'));
    await waitFor(
      'both validators to register',
      () =>
        Promise.resolve(
          validators.every((v) => v.logs.some((l) => l.includes('"started"'))) ? true : undefined,
        ),
      30_000,
      validators,
    );
  });

  afterAll(async () => {
    await Promise.all(validators.map((v) => killValidator(v)));
    for (const connection of connections) connection.close();
    await devnet.stop();
    await rm(home, { recursive: true, force: true });
  });

  const scoresOf = (scores: ScoreRecord[], trialId: string): ScoreRecord[] =>
    scores.filter((s) => s.trialId === trialId);

  it('selects the best verified candidate, rejects tampered, unreplayable and disallowed ones with their reasons, and scores once per org', async () => {
    const jobId = 'iris-select';
    await createStoredJob(storageDir(), owner, {
      jobId,
      spec: SPEC,
      owner: ownerParty,
      trials: [
        plan('t000', 1, POOR),
        plan('t001', 2, GOOD),
        plan('t002', 3, GOOD),
        plan('t003', 4, GOOD),
        plan('t004', 5, GOOD),
        plan('t005', 6, POOR),
      ],
      validation: { validatorOrgs: ['Org1MSP', 'Org2MSP'], quorum: 2, tolerance: 0.01 },
    });
    const org3 = executors['Org3'] as JobsClient;
    const org3Party = { mspId: 'Org3MSP', id: 'unused' };
    const commit = (trialId: string, candidate: TrainedCandidate, modelHash?: string) =>
      commitCandidate(storageDir(), org3, {
        jobId,
        trialId,
        owner: org3Party,
        candidate,
        backend,
        ...(modelHash === undefined ? {} : { modelHash }),
      });
    const poor = await train('poor', 1, POOR);
    await commit('t000', poor);
    await commit('t001', good);
    // Tampered after commit: the stored weights change by one byte.
    await commit('t002', await train('tampered', 3, GOOD));
    await flipByte(
      path.join(storageDir(), BUCKET, 'objects', 'jobs', jobId, 'candidates', 't002', 'model', 'weights.bin'),
      20,
    );
    // Trained on another shuffle than its recorded seed gives: no epoch can be reproduced.
    await commit('t003', await train('unreplayable', 4, GOOD, 99));
    // A Lambda layer smuggled into the artifact, with the hash of what was smuggled committed.
    const evil = await train('evil', 5, { ...GOOD, epochs: 2 });
    const evilHash = await editModelJson(path.join(evil.dir, 'model'), (json) => {
      const layer = layersOf(json.modelTopology)[0];
      if (layer === undefined) throw new Error('no layers');
      layer.class_name = 'Lambda';
    });

    // The Org2 validator is killed in the middle of scoring and restarted: its org still scores once.
    const org2 = validators[1] as ValidatorProcess;
    await commit('t004', evil, evilHash);
    // encoding.json is outside the model hash: one that reads the holdout differently is caught by refitting.
    const skewed = await train('skewed', 6, POOR);
    const encodingFile = path.join(skewed.dir, 'model', 'encoding.json');
    const encoding = JSON.parse(await readFile(encodingFile, 'utf8')) as { features: { mean?: number }[] };
    const first = encoding.features[0];
    if (first?.mean === undefined) throw new Error('expected a numeric first feature');
    first.mean += 1;
    await writeFile(encodingFile, JSON.stringify(encoding));
    await commit('t005', skewed);
    await waitFor(
      'the Org2 validator to start checking',
      () => Promise.resolve(org2.logs.some((l) => l.includes('candidate-checked')) ? true : undefined),
      60_000,
      validators,
    );
    await killValidator(org2);
    validators[1] = startValidator(home, 'Org2/validator1');

    const job = await waitFor(
      'the job to be finalized',
      async () => {
        const current = await owner.getJob(jobId);
        return current.status === 'VALIDATING' ? undefined : current;
      },
      90_000,
      validators,
    );
    expect(job.status).toBe('COMPLETED');
    expect(job.outcome?.winner?.trialId).toBe('t001');
    expect(job.outcome?.winner?.modelHash).toBe(good.modelHash);
    expect(job.outcome?.winner?.score).toBeGreaterThanOrEqual(0.9);

    const scores = await owner.listScores(jobId);
    for (const trialId of ['t000', 't001']) {
      expect(scoresOf(scores, trialId).map((s) => [s.mspId, s.verified])).toEqual([
        ['Org1MSP', true],
        ['Org2MSP', true],
      ]);
    }
    const reasons = (trialId: string) =>
      scoresOf(scores, trialId).map((s) => [s.mspId, s.verified, s.rejectionReason]);
    expect(reasons('t002')).toEqual([
      ['Org1MSP', false, expect.stringMatching(/^artifact-hash: the artifact hashes to/)],
      ['Org2MSP', false, expect.stringMatching(/^artifact-hash: the artifact hashes to/)],
    ]);
    expect(reasons('t003')).toEqual([
      ['Org1MSP', false, expect.stringMatching(/^replay: retraining epoch \d+ with seed 4/)],
      ['Org2MSP', false, expect.stringMatching(/^replay: retraining epoch \d+ with seed 4/)],
    ]);
    expect(reasons('t004')).toEqual([
      ['Org1MSP', false, expect.stringMatching(/^layers: .*Lambda/)],
      ['Org2MSP', false, expect.stringMatching(/^layers: .*Lambda/)],
    ]);
    expect(reasons('t005')).toEqual([
      ['Org1MSP', false, expect.stringMatching(/^encoding: encoding.json is not the encoding fitted/)],
      ['Org2MSP', false, expect.stringMatching(/^encoding: encoding.json is not the encoding fitted/)],
    ]);
    const winnerScore = scoresOf(scores, 't001')[0];
    expect(winnerScore?.metrics).toMatchObject({ 'holdout-rows': 22, 'contaminated-rows': 0 });
    expect(Object.keys(winnerScore?.metrics ?? {})).toEqual(
      expect.arrayContaining(['accuracy', 'macro-f1', 'log-loss', 'replay-epoch']),
    );

    // Each of the four rejected candidates counts against its node.
    expect(await org3Nodes.getNode()).toMatchObject({ completed: 6, rejected: 4 });

    const history = await owner.getJobHistory(jobId);
    const submissions = history.filter((e) => e.event === 'ScoresSubmitted').map((e) => e.actor.mspId);
    expect(submissions.sort()).toEqual(['Org1MSP', 'Org2MSP']);

    // Published after finalization: the model for the owner, certificate metadata and badges, the report.
    const objects = path.join(storageDir(), BUCKET, 'objects', 'jobs', jobId);
    await waitFor(
      'the report',
      () => Promise.resolve(existsSync(path.join(objects, 'report.json')) ? true : undefined),
      30_000,
      validators,
    );
    expect(await hashArtifacts(path.join(objects, 'models', 't001'))).toBe(good.modelHash);
    const report = JSON.parse(await readFile(path.join(objects, 'report.json'), 'utf8')) as SelectionReport;
    expect(report.winner).toMatchObject({ trialId: 't001', txId: job.selected?.txId });
    expect(report.candidates.map((c) => [c.trialId, c.verdict])).toEqual([
      ['t000', 'valid'],
      ['t001', 'valid'],
      ['t002', 'rejected'],
      ['t003', 'rejected'],
      ['t004', 'rejected'],
      ['t005', 'rejected'],
    ]);
    expect(report.candidates[1]?.trainingCurve).toHaveLength(GOOD.epochs);
    expect(report.candidates[1]?.validators.map((v) => v.txId)).toEqual(
      scoresOf(scores, 't001').map((s) => s.txId),
    );
    const minted = await certificates.listCertificates({ jobId });
    expect(minted.map((c) => c.role)).toEqual(
      expect.arrayContaining(['owner', 'winning-trainer', 'validator']),
    );
    for (const certificate of minted) {
      const stored = await readFile(path.join(objects, 'certificates', `${certificate.tokenId}.json`));
      // As `decenter cert verify` would: rebuild the metadata from the ledger alone and compare digests.
      const expected = buildCertificateMetadata(
        certificateFacts(await certificates.getCertificate(certificate.tokenId), await owner.getJob(jobId)),
      );
      expect(checkStoredMetadata(stored, expected)).toBeUndefined();
      const badge = await readFile(path.join(objects, 'certificates', `${certificate.tokenId}.svg`), 'utf8');
      expect(badge).toContain('<title id="title">');
    }
  });

  it("never scores its own org's candidate, and the chaincode refuses it", async () => {
    const jobId = 'iris-own-org';
    await createStoredJob(storageDir(), owner, {
      jobId,
      spec: SPEC,
      owner: ownerParty,
      trials: [plan('t000', 2, GOOD)],
      validation: { validatorOrgs: ['Org1MSP', 'Org2MSP', 'Org3MSP'], quorum: 2, tolerance: 0.01 },
    });
    const copy = path.join(work, 'good-org1');
    await cp(good.dir, copy, { recursive: true });
    await commitCandidate(storageDir(), executors['Org1'] as JobsClient, {
      jobId,
      trialId: 't000',
      owner: { mspId: 'Org1MSP', id: 'unused' },
      candidate: { ...good, dir: copy },
      backend,
    });
    // Quorum 2 of Org1, Org2 and Org3: Org1 may never score its own candidate and no Org3 validator runs here,
    // so Org2's verdict alone cannot decide the job (the chaincode caps the quorum at the other orgs: 2).
    await waitFor(
      "Org2's verdict",
      async () => ((await owner.listScores(jobId)).length > 0 ? true : undefined),
      60_000,
      validators,
    );
    // Give the Org1 validator the time to handle the ScoresSubmitted event (it must not score).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await owner.listScores(jobId)).map((s) => s.mspId)).toEqual(['Org2MSP']);
    expect((await owner.getJob(jobId)).status).toBe('VALIDATING');
    const refused = org1Validator.submitScores(jobId, [{ trialId: 't000', verified: true, objective: 1 }]);
    await expect(refused).rejects.toBeInstanceOf(LedgerError);
    await expect(refused).rejects.toMatchObject({ chaincodeCode: 'ACCESS_DENIED' });
    expect((await owner.listScores(jobId)).map((s) => s.mspId)).toEqual(['Org2MSP']);
  });

  it('validates what was committed once the training deadline passes with trials still open', async () => {
    const jobId = 'iris-deadline';
    await createStoredJob(storageDir(), owner, {
      jobId,
      spec: SPEC,
      owner: ownerParty,
      trials: [plan('t000', 2, GOOD), plan('t001', 3, GOOD)],
      validation: { validatorOrgs: ['Org1MSP', 'Org2MSP'], quorum: 2, tolerance: 0.01 },
      trainingMs: 4_000,
    });
    const copy = path.join(work, 'good-deadline');
    await cp(good.dir, copy, { recursive: true });
    await commitCandidate(storageDir(), executors['Org3'] as JobsClient, {
      jobId,
      trialId: 't000',
      owner: { mspId: 'Org3MSP', id: 'unused' },
      candidate: { ...good, dir: copy },
      backend,
    });
    // t001 is never trained: no event says the deadline passed, the validators' scans find the job.
    expect((await owner.getJob(jobId)).status).toBe('TRAINING');
    const job = await waitFor(
      'the job to be finalized after its training deadline',
      async () => {
        const current = await owner.getJob(jobId);
        return current.status === 'COMPLETED' || current.status === 'FAILED' ? current : undefined;
      },
      30_000,
      validators,
    );
    expect(job.status).toBe('COMPLETED');
    expect(job.outcome?.winner?.trialId).toBe('t000');
    expect((await owner.listScores(jobId)).map((s) => s.mspId)).toEqual(['Org1MSP', 'Org2MSP']);
  });

  it('leaves a job unfinalized when two validator orgs disagree beyond the tolerance', async () => {
    const jobId = 'iris-disagree';
    await createStoredJob(storageDir(), owner, {
      jobId,
      spec: SPEC,
      owner: ownerParty,
      trials: [plan('t000', 2, GOOD)],
      validation: { validatorOrgs: ['Org1MSP', 'Org3MSP'], quorum: 2, tolerance: 0.01 },
    });
    const copy = path.join(work, 'good-org2');
    await cp(good.dir, copy, { recursive: true });
    await commitCandidate(storageDir(), executors['Org2'] as JobsClient, {
      jobId,
      trialId: 't000',
      owner: { mspId: 'Org2MSP', id: 'unused' },
      candidate: { ...good, dir: copy },
      backend,
    });
    // Org3's validator reports a score far from the honest one.
    await rogueValidator.submitScores(jobId, [{ trialId: 't000', verified: true, objective: 0.2 }]);
    await waitFor(
      'the Org1 validator to score and try to finalize',
      () =>
        Promise.resolve(
          validators[0]?.logs.some((l) => l.includes('finalize-waiting') && l.includes(jobId))
            ? true
            : undefined,
        ),
      60_000,
      validators,
    );
    const job = await owner.getJob(jobId);
    expect(job.status).toBe('VALIDATING');
    const scores = await owner.listScores(jobId);
    expect(scores.map((s) => [s.mspId, s.verified])).toEqual([
      ['Org1MSP', true],
      ['Org3MSP', true],
    ]);
    expect(Math.abs((scores[0]?.objective ?? 0) - 0.2)).toBeGreaterThan(0.01);
    expect((await owner.getJobHistory(jobId)).some((e) => e.event === 'JobFinalized')).toBe(false);
  });
});
