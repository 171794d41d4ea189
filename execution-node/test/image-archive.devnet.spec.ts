import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { canonicalJson, parseJobSpec, type TrialPlan } from '@decenter/core';
import { splitImageZip, SPLITS } from '@decenter/data';
import { createConsortium, startDevnet, type RunningDevnet } from '@decenter/devnet';
import { JobsClient, LedgerConnection, loadNetworkConfig, type ScoreRecord } from '@decenter/ledger';
import { buildManifest, manifestBytes, manifestDigest, storeObject } from '@decenter/storage';
import { ensureChaincodeBuilt } from '@decenter/system-tests/support/devnet';
import { BUCKET, jobReadPolicies, openJobsBucket } from '@decenter/system-tests/support/iris-job.fixture';
import {
  buildWorkspace,
  killNode,
  spawnNode,
  waitFor,
  type NodeProcess,
} from '@decenter/system-tests/support/node.process';

import { fabricIdOfFile, readNodeStatus } from '../src';
import { startExecutor, stopExecutor, type ExecutorProcess } from './support/executor.process';

jest.setTimeout(300_000);

const REPO = path.join(__dirname, '..', '..');
const DIGITS = path.join(REPO, 'fixtures', 'digits-images');
const VALIDATOR_MAIN = path.join(REPO, 'validator-node', 'dist', 'src', 'main.js');

/** A validator node as its own process, as `decenter node start --role validator` starts it. */
function startValidator(home: string, identity: string): NodeProcess {
  return spawnNode(VALIDATOR_MAIN, identity, ['--home', home, '--poll-seconds', '1'], { stdout: true });
}

/**
 * The digits archive (fixtures/digits-images) split and stored as the gateway's ingest stores an image
 * job: data/train.zip, data/validation.zip and the sealed data/holdout.zip, metadata.json, CreateJob.
 */
async function storeDigitsJob(
  home: string,
  jobs: JobsClient,
  options: { jobId: string; owner: { mspId: string; id: string }; trials: TrialPlan[] },
): Promise<{ holdoutImages: number }> {
  const spec = {
    ...(JSON.parse(await readFile(path.join(DIGITS, 'spec.json'), 'utf8')) as Record<string, unknown>),
    validation: { tolerance: 0.01, replayShare: 1 },
  };
  const parsed = parseJobSpec(spec);
  const scratch = path.join(home, 'ingest');
  await mkdir(scratch, { recursive: true });
  const archives = Object.fromEntries(SPLITS.map((split) => [split, path.join(scratch, `${split}.zip`)]));
  const counts = await splitImageZip(
    path.join(DIGITS, 'digits.zip'),
    { file: 'digits.zip', ratios: parsed.data.split, seed: parsed.data.splitSeed },
    {
      train: createWriteStream(archives['train'] as string),
      validation: createWriteStream(archives['validation'] as string),
      holdout: createWriteStream(archives['holdout'] as string),
    },
  );
  const backend = await openJobsBucket(path.join(home, 'storage'));
  const prefix = `jobs/${options.jobId}`;
  const { nodes, sealed } = jobReadPolicies(options.owner);
  const specJson = canonicalJson(spec);
  const sizes = { blockSize: 64 * 1024, shardSize: 256 * 1024 };
  const objects = [
    await storeObject(backend, BUCKET, prefix, 'spec.json', Readable.from([Buffer.from(specJson)]), {
      role: 'spec',
      policy: nodes,
      size: Buffer.byteLength(specJson),
      ...sizes,
    }),
  ];
  for (const split of SPLITS) {
    const file = archives[split] as string;
    objects.push(
      await storeObject(backend, BUCKET, prefix, `data/${split}.zip`, createReadStream(file), {
        role: split,
        policy: split === 'holdout' ? sealed : nodes,
        size: (await stat(file)).size,
        ...sizes,
      }),
    );
  }
  const manifest = buildManifest({
    jobId: options.jobId,
    objects,
    ...sizes,
    createdAt: '2026-01-01T00:00:00Z',
  });
  await backend.putObject(BUCKET, `${prefix}/metadata.json`, Readable.from([manifestBytes(manifest)]), {
    policy: nodes,
  });
  const now = Date.now();
  await jobs.createJob({
    jobId: options.jobId,
    name: options.jobId,
    specHash: createHash('sha256').update(specJson).digest('hex'),
    objective: { metric: 'accuracy', direction: 'maximize' },
    trials: options.trials,
    validation: { validatorOrgs: ['Org2MSP'], quorum: 1, tolerance: 0.01 },
    schedule: {
      trainingDeadline: new Date(now + 3_600_000).toISOString(),
      validationDeadline: new Date(now + 7_200_000).toISOString(),
    },
    leaseSeconds: 120,
    data: {
      manifestHash: manifestDigest(manifest),
      merkleRoot: manifest.merkleRoot,
      holdoutHash: objects.find((o) => o.role === 'holdout')?.digest ?? '',
    },
    storageUri: `local://${BUCKET}/${prefix}/`,
  });
  return { holdoutImages: counts.holdout };
}

describe('an image-archive job on the devnet', () => {
  let home = '';
  let devnet: RunningDevnet | undefined;
  let connection: LedgerConnection | undefined;
  let executor: ExecutorProcess | undefined;
  let validator: NodeProcess | undefined;

  beforeAll(async () => {
    await ensureChaincodeBuilt();
    buildWorkspace('execution-node');
    buildWorkspace('validator-node');
    home = await mkdtemp(path.join(tmpdir(), 'image-devnet-'));
    await createConsortium({ home, orgs: ['Org1', 'Org2'] });
    devnet = await startDevnet({ home, port: 0, log: () => undefined });
  });

  afterAll(async () => {
    if (executor !== undefined) await stopExecutor(executor);
    if (validator !== undefined) await killNode(validator);
    connection?.close();
    await devnet?.stop();
    if (home !== '') await rm(home, { recursive: true, force: true });
  });

  it('trains a candidate on the digits archive and the other org validator scores it on the sealed holdout', async () => {
    const network = await loadNetworkConfig(path.join(home, 'network.json'));
    connection = await LedgerConnection.open({ config: network, identity: 'Org1/user1' });
    const jobs = new JobsClient(connection);
    const owner = { mspId: connection.identity.mspId, id: await fabricIdOfFile(connection.identity.cert) };
    const jobId = 'digits-images';
    const { holdoutImages } = await storeDigitsJob(home, jobs, {
      jobId,
      owner,
      trials: [
        {
          trialId: 't000',
          seed: 1,
          hyperparameters: { learningRate: 0.01, batchSize: 32, epochs: 8, optimizer: 'adam' },
        },
      ],
    });

    executor = await startExecutor(home, 'Org1/executor1', {
      concurrency: 1,
      pollSeconds: 1,
      leaseRenewFraction: 0.3,
      offers: { memoryMiB: 1024 },
    });
    const trial = await waitFor(
      'the trial to be committed',
      async () => {
        const [record] = await jobs.listTrials(jobId);
        if (record?.status === 'FAILED') throw new Error(`the trial failed: ${JSON.stringify(record)}`);
        return record?.status === 'COMMITTED' ? record : undefined;
      },
      200_000,
      [executor],
    );
    expect(trial.claimedBy?.mspId).toBe('Org1MSP');
    const status = await readNodeStatus(home, 'Org1/executor1');
    expect(status?.state).toBe('running');

    // The trainer recorded the image encoding with the model: 8x8 grayscale, classes 0..9 from the folders.
    const candidateDir = path.join(home, 'storage', BUCKET, 'objects', 'jobs', jobId, 'candidates', 't000');
    const encoding = JSON.parse(
      await readFile(path.join(candidateDir, 'model', 'encoding.json'), 'utf8'),
    ) as {
      format: string;
      inputShape: number[];
      label: { classes: string[] };
    };
    expect(encoding.format).toBe('image-zip');
    expect(encoding.inputShape).toEqual([8, 8, 1]);
    expect(encoding.label.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

    validator = startValidator(home, 'Org2/validator1');
    const [score] = await waitFor<ScoreRecord[]>(
      'the Org2 validator to score the candidate',
      async () => {
        const scores = await jobs.listScores(jobId);
        return scores.length > 0 ? scores : undefined;
      },
      120_000,
      [validator],
    );
    if (score === undefined) throw new Error('no score');
    // Verified means the artifacts match the committed hash and a replayed epoch gave the trainer's weights.
    expect(score.rejectionReason).toBeUndefined();
    expect(score.verified).toBe(true);
    expect(score.mspId).toBe('Org2MSP');
    expect(score.metrics['holdout-rows']).toBe(holdoutImages);
    expect(score.metrics['contaminated-rows']).toBe(0);
    expect(score.metrics['replay-epoch']).toBeGreaterThanOrEqual(1);
    expect(score.objective).toBeGreaterThanOrEqual(0.9);
  });
});
