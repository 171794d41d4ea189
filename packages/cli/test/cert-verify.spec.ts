import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';

import { canonicalJson } from '@decenter/core';
import { createConsortium, startDevnet, type RunningDevnet } from '@decenter/devnet';
import {
  CertificatesClient,
  FailedPreconditionError,
  JobsClient,
  LedgerConnection,
  loadNetworkConfig,
  NodesClient,
  type CertificateRecord,
} from '@decenter/ledger';
import { LocalDiskBackend } from '@decenter/storage';

import { parseLocalUri } from '../src/certificate.verifier';
import { runCli } from './run-in-process';

jest.setTimeout(180_000);

const REPO_ROOT = join(__dirname, '..', '..', '..');
const hex = (c: string): string => c.repeat(64);

interface VerifyOutput {
  tokenId: string;
  valid: boolean;
  checks: { check: string; ok: boolean; detail: string }[];
}

/**
 * `decenter cert verify` against certificates the real chaincode minted on the devnet: valid while it stands,
 * NOT VALID (exit code 1, with who revoked it and why) once its issuer revoked it; and a certificate cannot
 * change hands, whoever asks.
 */
describe('decenter cert verify on the devnet', () => {
  let home: string;
  let devnet: RunningDevnet;
  const connections: LedgerConnection[] = [];
  const env = (): Record<string, string> => ({ DECENTER_HOME: home });

  async function open(identity: string): Promise<LedgerConnection> {
    const connection = await LedgerConnection.open({
      config: await loadNetworkConfig(join(home, 'network.json')),
      identity,
    });
    connections.push(connection);
    return connection;
  }

  beforeAll(async () => {
    if (!existsSync(join(REPO_ROOT, 'chaincode', 'dist', 'index.js'))) {
      await promisify(execFile)('npm', ['run', 'build', '--prefix', join(REPO_ROOT, 'chaincode')], {
        timeout: 120_000,
      });
    }
    home = await mkdtemp(join(tmpdir(), 'cli-cert-'));
    await createConsortium({ home });
    devnet = await startDevnet({ home, port: 0, log: () => undefined });
    for (const identity of ['Org1/executor1', 'Org2/validator1', 'Org3/validator1']) {
      await new NodesClient(await open(identity)).registerNode({
        cores: 1,
        memoryMiB: 512,
        backends: ['wasm'],
      });
    }
  });

  afterAll(async () => {
    for (const connection of connections) connection.close();
    await devnet.stop();
    await rm(home, { recursive: true, force: true });
  });

  /** A job taken to selection through the ledger alone, and its certificates' metadata as validators store it. */
  async function certifiedJob(jobId: string): Promise<CertificateRecord[]> {
    const owner = new JobsClient(await open('Org1/user1'));
    const now = Date.now();
    await owner.createJob({
      jobId,
      name: 'iris',
      specHash: hex('a'),
      objective: { metric: 'accuracy', direction: 'maximize' },
      trials: [
        {
          trialId: 't000',
          seed: 1,
          hyperparameters: { learningRate: 0.01, batchSize: 8, epochs: 1, optimizer: 'adam' },
        },
      ],
      validation: { validatorOrgs: ['Org2MSP', 'Org3MSP'], quorum: 2 },
      schedule: {
        trainingDeadline: new Date(now + 3_600_000).toISOString(),
        validationDeadline: new Date(now + 7_200_000).toISOString(),
      },
      data: { manifestHash: hex('b'), merkleRoot: hex('c'), holdoutHash: hex('d') },
      storageUri: `local://decenter-jobs/jobs/${jobId}`,
    });
    const trainer = new JobsClient(await open('Org1/executor1'));
    await trainer.claimTrial(jobId, 't000');
    await trainer.commitCandidate(jobId, 't000', {
      modelHash: hex('e'),
      artifactUri: `local://decenter-jobs/jobs/${jobId}/candidates/t000/model/`,
      metrics: { accuracy: 0.95 },
      backend: 'wasm',
    });
    for (const org of ['Org2', 'Org3']) {
      await new JobsClient(await open(`${org}/validator1`)).submitScores(jobId, [
        { trialId: 't000', verified: true, objective: 0.95, metrics: { accuracy: 0.95 } },
      ]);
    }
    await owner.finalizeJob(jobId);
    const job = await owner.getJob(jobId);
    const minted = await new CertificatesClient(await open('Org1/user1')).listCertificates({ jobId });
    const storage = new LocalDiskBackend(join(home, 'storage'));
    for (const certificate of minted) {
      const location = parseLocalUri(certificate.tokenUri);
      if (location === undefined) throw new Error(`unexpected token URI ${certificate.tokenUri}`);
      if (!(await storage.bucketExists(location.bucket))) await storage.createBucket(location.bucket);
      const metadata = {
        tokenId: certificate.tokenId,
        job: { jobId, name: 'iris' },
        role: certificate.role,
        holder: certificate.owner,
        issuer: certificate.issuer,
        trialIds: certificate.trialIds,
        modelHash: job.selected?.modelHash,
        transactionId: job.selected?.txId,
        metrics: job.selected?.metrics,
      };
      await storage.putObject(
        location.bucket,
        location.key,
        Readable.from([Buffer.from(canonicalJson(metadata))]),
      );
    }
    return minted;
  }

  async function verify(tokenId: string): Promise<{ code: number; output: VerifyOutput }> {
    const result = await runCli(['cert', 'verify', tokenId, '--json', '--identity', 'Org2/user1'], {
      env: env(),
    });
    return { code: result.code, output: JSON.parse(result.stdout) as VerifyOutput };
  }

  it('a revoked certificate fails verify, naming who revoked it and why', async () => {
    const minted = await certifiedJob('cert-revoke');
    const trainer = minted.find((c) => c.role === 'winning-trainer');
    if (trainer === undefined) throw new Error('no winning-trainer certificate');
    const before = await verify(trainer.tokenId);
    expect(before.code).toBe(0);
    expect(before.output).toMatchObject({ tokenId: trainer.tokenId, valid: true });

    await new CertificatesClient(await open('Org1/user1')).revoke(trainer.tokenId, 'plagiarised model');
    const after = await verify(trainer.tokenId);
    expect(after.code).toBe(1);
    expect(after.output.valid).toBe(false);
    expect(after.output.checks.filter((c) => !c.ok).map((c) => c.check)).toEqual(['not-revoked']);
    expect(after.output.checks.find((c) => c.check === 'not-revoked')?.detail).toMatch(
      /^revoked .* by Org1MSP: plagiarised model$/,
    );
    const human = await runCli(['cert', 'verify', trainer.tokenId, '--identity', 'Org2/user1'], {
      env: env(),
    });
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`certificate ${trainer.tokenId}: NOT VALID`);
    // The other certificates of the job still verify.
    const owner = minted.find((c) => c.role === 'owner');
    expect((await verify(owner?.tokenId ?? '')).output.valid).toBe(true);
  });

  it('a certificate cannot be transferred or approved, by its holder or anyone else, and stays valid with its holder', async () => {
    const minted = await certifiedJob('cert-transfer');
    const certificate = minted.find((c) => c.role === 'winning-trainer');
    if (certificate === undefined) throw new Error('no winning-trainer certificate');
    const other = minted.find((c) => c.role === 'owner')?.owner.id ?? '';
    for (const identity of ['Org1/executor1', 'Org1/user1', 'Org1/admin']) {
      const client = new CertificatesClient(await open(identity));
      // The chaincode's refusal, not the client's own "unreachable" error should a transfer go through.
      const transfer = client.transferFrom(certificate.owner.id, other, certificate.tokenId);
      await expect(transfer).rejects.toBeInstanceOf(FailedPreconditionError);
      await expect(transfer).rejects.toThrow(/cannot be transferred/);
      const approve = client.approve(other, certificate.tokenId);
      await expect(approve).rejects.toBeInstanceOf(FailedPreconditionError);
      await expect(approve).rejects.toThrow(/no one can be approved/);
    }
    const reader = new CertificatesClient(await open('Org2/user1'));
    expect(await reader.ownerOf(certificate.tokenId)).toBe(certificate.owner.id);
    expect((await verify(certificate.tokenId)).output.valid).toBe(true);
  });
});
