import { vi } from 'vitest';

/** Answers fetch like the gateway does, from a table of paths; anything else is a 404 with a hint. */
export type Routes = Record<string, unknown>;

export function stubGatewayFetch(routes: Routes) {
  const fetchMock = vi.fn((input: RequestInfo | URL) => {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const path = new URL(href, 'http://portal.test').pathname;
    const found = Object.prototype.hasOwnProperty.call(routes, path);
    return Promise.resolve(
      new Response(
        JSON.stringify(
          found ? routes[path] : { statusCode: 404, message: `no fixture for ${path}`, hint: 'add one' },
        ),
        { status: found ? 200 : 404, headers: { 'Content-Type': 'application/json' } },
      ),
    );
  });
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}

const hex = (c: string) => c.repeat(64);
const aliceId = { mspId: 'Org1MSP', id: 'x509::/CN=alice/OU=client::/CN=ca.org1.example.com' };
export const alice = {
  username: 'alice',
  org: 'Org1',
  mspId: 'Org1MSP',
  role: 'member',
  identityId: aliceId.id,
};
const node = (name: string, mspId: string) => ({ mspId, id: `x509::/CN=${name}::/CN=ca` });

export const jobSummary = {
  jobId: 'job-1',
  name: 'Iris species',
  owner: aliceId,
  status: 'COMPLETED',
  trialCount: 2,
  committedTrials: 2,
  createdAt: '2026-11-22T09:00:00Z',
  updatedAt: '2026-11-22T12:00:00Z',
};

export const jobDetail = {
  ...jobSummary,
  specHash: hex('a'),
  manifestHash: hex('b'),
  merkleRoot: hex('c'),
  objective: { metric: 'accuracy', direction: 'maximize' },
  quorum: 2,
  trainingDeadline: '2026-11-23T09:00:00Z',
  validationDeadline: '2026-11-24T09:00:00Z',
  selected: {
    trialId: 't1',
    modelHash: hex('d'),
    metrics: { accuracy: 0.95 },
    rule: 'best-mean-objective',
    agreeingOrgs: ['Org1MSP', 'Org2MSP'],
    txId: 'tx-final',
    finalizedAt: '2026-11-22T12:00:00Z',
  },
  trials: [],
  candidates: ['t1', 't2'].map((trialId, i) => ({
    trialId,
    node: node(`executor${i}`, i === 0 ? 'Org1MSP' : 'Org2MSP'),
    modelHash: hex(i === 0 ? 'd' : 'e'),
    backend: 'wasm',
    metrics: { accuracy: 0.9 },
    committedAt: '2026-11-22T10:00:00Z',
    txId: `tx-${trialId}`,
  })),
  scores: [
    {
      trialId: 't1',
      validator: node('validator', 'Org1MSP'),
      verified: true,
      metrics: {},
      objective: 0.95,
      submittedAt: '2026-11-22T11:00:00Z',
    },
    {
      trialId: 't2',
      validator: node('validator', 'Org1MSP'),
      verified: true,
      metrics: {},
      objective: 0.9,
      submittedAt: '2026-11-22T11:00:00Z',
    },
  ],
  history: [
    {
      event: 'JobCreated',
      status: 'OPEN',
      txId: 'tx-create',
      blockNumber: 5,
      timestamp: '2026-11-22T09:00:00Z',
      actor: aliceId,
    },
    {
      event: 'SelectionFinalized',
      status: 'COMPLETED',
      txId: 'tx-final',
      blockNumber: 12,
      timestamp: '2026-11-22T12:00:00Z',
    },
  ],
};

const verdict = (mspId: string, score: number) => ({ mspId, verified: true, score });

/** The validators' report.json as GET /api/jobs/:id/report serves it (trimmed to what the portal reads). */
export const report = {
  version: 1,
  jobId: 'job-1',
  name: 'iris',
  status: 'COMPLETED',
  objective: { metric: 'accuracy', direction: 'maximize', minImprovement: 0 },
  rule: {
    description: 't1 has the best mean holdout accuracy agreed by a quorum of validator orgs.',
    quorum: 2,
    tolerance: 0.01,
    validatorOrgs: ['Org1MSP', 'Org2MSP'],
    minImprovement: 0,
    tieBreak: 'earliest commitment',
  },
  finalization: { finalizedAt: '2026-11-22T12:00:00Z', txId: hex('f'), disagreements: 0 },
  winner: { trialId: 't1', node: aliceId, modelHash: hex('a'), score: 0.95, txId: hex('f') },
  candidates: [
    {
      trialId: 't1',
      org: 'Org1MSP',
      backend: 'wasm',
      verdict: 'valid',
      agreedScore: 0.95,
      agreeingOrgs: ['Org1MSP', 'Org2MSP'],
      rejectionReasons: [],
      validators: [verdict('Org1MSP', 0.95), verdict('Org2MSP', 0.95)],
      selected: true,
    },
    {
      trialId: 't2',
      org: 'Org2MSP',
      backend: 'wasm',
      verdict: 'valid',
      agreedScore: 0.9,
      agreeingOrgs: ['Org1MSP'],
      rejectionReasons: ['0.05 below the winner'],
      validators: [verdict('Org1MSP', 0.9)],
      selected: false,
    },
  ],
};

export const certificate = {
  tokenId: 'cert-0001',
  owner: aliceId,
  role: 'owner',
  jobId: 'job-1',
  modelHash: hex('d'),
  tokenUri: 'decenter://certificates/cert-0001.json',
  issuer: node('chaincode', 'Org1MSP'),
  issuedAt: '2026-11-22T12:00:00Z',
  txId: 'tx-mint',
  revoked: false,
};

export const nodes = {
  items: [
    {
      node: node('executor0', 'Org1MSP'),
      role: 'executor',
      capabilities: { cores: 2, memoryMiB: 4096, backends: ['wasm', 'cpu'] },
      registeredAt: '2026-11-22T08:00:00Z',
      completed: 3,
      failed: 1,
      rejected: 0,
      activity: { state: 'training', jobId: 'job-1', trialId: 't2' },
    },
    {
      node: node('validator0', 'Org2MSP'),
      role: 'validator',
      capabilities: { cores: 2, memoryMiB: 2048, backends: ['wasm'] },
      registeredAt: '2026-11-22T08:00:00Z',
      completed: 5,
      failed: 0,
      rejected: 1,
    },
  ],
};

export const blocks = {
  items: [
    {
      number: 11,
      hash: hex('1'),
      previousHash: hex('2'),
      transactionCount: 1,
      timestamp: '2026-11-22T11:00:00Z',
    },
    {
      number: 12,
      hash: hex('3'),
      previousHash: hex('1'),
      transactionCount: 2,
      timestamp: '2026-11-22T12:00:00Z',
    },
  ],
};

export const transactions = {
  items: [
    {
      txId: 'tx-create',
      blockNumber: 5,
      type: 'CreateJob',
      signer: aliceId,
      validationCode: 'VALID',
      timestamp: '2026-11-22T09:00:00Z',
    },
    {
      txId: 'tx-claim',
      blockNumber: 12,
      type: 'ClaimTrial',
      signer: node('executor1', 'Org2MSP'),
      validationCode: 'MVCC_READ_CONFLICT',
      timestamp: '2026-11-22T12:00:00Z',
    },
  ],
};

/** A populated consortium, as the signed-in owner alice sees it. */
export function populatedGateway(): Routes {
  return {
    '/api/auth/me': alice,
    '/api/jobs': { items: [jobSummary] },
    '/api/jobs/job-1': jobDetail,
    '/api/jobs/job-1/report': report,
    '/api/certificates': { items: [certificate] },
    '/api/certificates/cert-0001/verify': {
      tokenId: 'cert-0001',
      onLedger: true,
      certificate,
      blockNumber: 12,
    },
    '/api/nodes': nodes,
    '/api/ledger/blocks': blocks,
    '/api/ledger/transactions': transactions,
  };
}
