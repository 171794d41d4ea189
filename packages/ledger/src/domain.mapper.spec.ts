import {
  decodeCapabilities,
  encodeCapabilities,
  toCertificateRecord,
  toJobRecord,
  toScoreRecord,
} from './domain.mapper';
import { LedgerIntegrityError } from './ledger.errors';
import { chaincodeJobSchema, type ChaincodeJob } from './ledger-records.schema';

const h = (c: string): string => c.repeat(64);
const owner = { id: 'x509::CN=user1::CN=ca', mspId: 'Org1MSP' };

const job: ChaincodeJob = chaincodeJobSchema.parse({
  jobId: 'job-1',
  owner,
  specHash: h('a'),
  objective: { metric: 'accuracy', direction: 'maximize', minImprovement: 0.01 },
  trials: [
    {
      trialId: 't000',
      hyperparameters: { learningRate: 0.01, batchSize: 32, epochs: 2, optimizer: 'adam' },
      seed: 1,
    },
  ],
  validation: { validatorOrgs: ['Org2MSP', 'Org3MSP'], quorum: 2, tolerance: 0.01 },
  schedule: { trainingDeadline: '2030-01-01T00:00:00.000Z', validationDeadline: '2030-01-02T00:00:00.000Z' },
  leaseSeconds: 900,
  data: { manifestHash: h('b'), merkleRoot: h('c'), holdoutCommitment: h('d') },
  storageUri: 'local://jobs/job-1',
  dataContributors: [],
  status: 'COMPLETED',
  createdAt: '2029-12-01T00:00:00.000Z',
  updatedAt: '2029-12-03T00:00:00.000Z',
  outcome: {
    finalizedAt: '2029-12-03T00:00:00.000Z',
    winner: { trialId: 't000', node: owner, modelHash: h('e'), artifactUri: 'local://m', score: 0.93 },
    candidates: [
      {
        trialId: 't000',
        node: owner,
        committedAt: '2029-12-02T00:00:00.000Z',
        verdict: 'valid',
        score: 0.93,
        agreeingOrgs: ['Org2MSP', 'Org3MSP'],
        rejectionReasons: [],
      },
    ],
    disagreements: [],
    certificateIds: ['job-1-0'],
  },
});

describe('toJobRecord', () => {
  it('maps the chaincode job onto the core Job with its trial plans', () => {
    const record = toJobRecord(job, 'tx-final');
    expect(record).toMatchObject({
      jobId: 'job-1',
      name: 'job-1',
      holdoutHash: h('d'),
      manifestHash: h('b'),
      quorum: 2,
      trialCount: 1,
      validatorOrgs: ['Org2MSP', 'Org3MSP'],
      objective: { metric: 'accuracy', direction: 'maximize', minImprovement: 0.01 },
      selected: {
        trialId: 't000',
        modelHash: h('e'),
        metrics: { accuracy: 0.93 },
        agreeingOrgs: ['Org2MSP', 'Org3MSP'],
        txId: 'tx-final',
      },
    });
    expect(record.trials[0]?.hyperparameters).toEqual({
      learningRate: 0.01,
      batchSize: 32,
      epochs: 2,
      optimizer: 'adam',
    });
    expect(record.startAt).toBeUndefined();
  });

  it('refuses a metric the domain does not know', () => {
    expect(() => toJobRecord({ ...job, objective: { ...job.objective, metric: 'bleu' } })).toThrow(
      LedgerIntegrityError,
    );
  });

  it('refuses trial hyperparameters that are not a training configuration', () => {
    const trials = [{ trialId: 't000', hyperparameters: { learningRate: 'fast' }, seed: 1 }];
    expect(() => toJobRecord({ ...job, trials })).toThrow(/trials\[0\]\.hyperparameters/);
  });
});

describe('capabilities encoding', () => {
  it('round-trips through the flat map the chaincode stores', () => {
    const capabilities = {
      cores: 8,
      memoryMiB: 16384,
      backends: ['wasm' as const, 'cpu' as const],
      accepts: { orgs: ['Org1MSP', 'Org2MSP'], maxDataBytes: 1e9 },
    };
    const flat = encodeCapabilities(capabilities);
    expect(flat).toEqual({
      cores: 8,
      memoryMiB: 16384,
      backends: 'wasm,cpu',
      acceptsOrgs: 'Org1MSP,Org2MSP',
      maxDataBytes: 1e9,
    });
    expect(decodeCapabilities(flat, 'node')).toEqual(capabilities);
  });

  it('refuses an unknown backend', () => {
    expect(() => decodeCapabilities({ cores: 1, memoryMiB: 1, backends: 'cuda' }, 'node')).toThrow(
      LedgerIntegrityError,
    );
  });
});

describe('scores and certificates', () => {
  it('keeps an unverified score without an objective value', () => {
    const record = toScoreRecord({
      jobId: 'job-1',
      trialId: 't000',
      mspId: 'Org2MSP',
      validator: { id: 'v', mspId: 'Org2MSP' },
      verified: false,
      rejectionReason: 'hash mismatch',
      submittedAt: '2029-12-02T00:00:00.000Z',
      txId: 'tx',
    });
    expect(record.objective).toBeUndefined();
    expect(record.metrics).toEqual({});
    expect(record.rejectionReason).toBe('hash mismatch');
  });

  it('maps holder and minting time to the core names', () => {
    const record = toCertificateRecord({
      tokenId: 'job-1-0',
      jobId: 'job-1',
      holder: owner,
      role: 'owner',
      issuer: owner,
      tokenUri: 'local://jobs/job-1/certificates/job-1-0.json',
      trialIds: [],
      mintedAt: '2029-12-03T00:00:00.000Z',
      revoked: true,
      revokedAt: '2029-12-04T00:00:00.000Z',
      revocationReason: 'fraud',
    });
    expect(record).toMatchObject({
      owner,
      issuedAt: '2029-12-03T00:00:00.000Z',
      revoked: true,
      revokedReason: 'fraud',
    });
  });
});
