import { canonicalJson } from '@decenter/core';
import type { CertificateRecord, JobRecord } from '@decenter/ledger';

import { parseLocalUri, verifyCertificate } from './certificate.verifier';

const holder = { mspId: 'Org1MSP', id: 'x509::/CN=executor1/O=Org1::/CN=ca.org1' };
const issuer = { mspId: 'Org3MSP', id: 'x509::/CN=validator1/O=Org3::/CN=ca.org3' };
const modelHash = 'a'.repeat(64);

const certificate: CertificateRecord = {
  tokenId: 'job-1-c001',
  owner: holder,
  role: 'winning-trainer',
  jobId: 'job-1',
  tokenUri: 'local://decenter-jobs/jobs/job-1/certificates/job-1-c001.json',
  issuer,
  issuedAt: '2026-11-22T06:00:00.000Z',
  revoked: false,
  trialIds: ['t000'],
};

const job = {
  jobId: 'job-1',
  status: 'COMPLETED',
  selected: {
    trialId: 't000',
    modelHash,
    metrics: { accuracy: 0.97 },
    rule: 'max',
    agreeingOrgs: ['Org2MSP', 'Org3MSP'],
    txId: 'tx-final',
    finalizedAt: '',
  },
} as unknown as JobRecord;

const metadata = {
  tokenId: 'job-1-c001',
  job: { jobId: 'job-1', name: 'iris' },
  role: 'winning-trainer',
  holder,
  issuer,
  trialIds: ['t000'],
  modelHash,
  transactionId: 'tx-final',
  metrics: { accuracy: 0.97 },
};
const stored = (value: unknown): Buffer => Buffer.from(canonicalJson(value));
const failed = (result: ReturnType<typeof verifyCertificate>): string[] =>
  result.checks.filter((item) => !item.ok).map((item) => item.check);

describe('verifyCertificate', () => {
  it('accepts a certificate whose metadata states exactly what the ledger holds', () => {
    const result = verifyCertificate(certificate, job, stored(metadata));
    expect(failed(result)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(result.metadataSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects a revoked certificate, saying by whom and why', () => {
    const result = verifyCertificate(
      {
        ...certificate,
        revoked: true,
        revokedReason: 'replay fraud',
        revokedAt: '2026-11-23T00:00:00Z',
        revokedBy: issuer,
      },
      job,
      stored(metadata),
    );
    expect(result.valid).toBe(false);
    expect(result.checks.find((item) => item.check === 'not-revoked')?.detail).toContain('replay fraud');
  });

  it('rejects metadata naming another model or holder', () => {
    const result = verifyCertificate(
      certificate,
      job,
      stored({ ...metadata, modelHash: 'b'.repeat(64), holder: issuer }),
    );
    expect(failed(result)).toEqual(['metadata-holder', 'model-hash']);
  });

  it('rejects metadata edited outside its canonical form', () => {
    const edited = Buffer.from(JSON.stringify(metadata, null, 2));
    expect(failed(verifyCertificate(certificate, job, edited))).toEqual(['metadata-canonical']);
  });

  it('rejects a certificate whose metadata cannot be read, or of a job with no selected model', () => {
    expect(failed(verifyCertificate(certificate, job, new Error('ENOENT')))).toEqual(['metadata-readable']);
    const open = { ...job, status: 'VALIDATING', selected: undefined } as unknown as JobRecord;
    expect(failed(verifyCertificate(certificate, open, stored(metadata)))).toEqual([
      'job-completed',
      'model-hash',
    ]);
  });

  it('parses local:// object URIs only', () => {
    expect(parseLocalUri(certificate.tokenUri)).toEqual({
      bucket: 'decenter-jobs',
      key: 'jobs/job-1/certificates/job-1-c001.json',
    });
    expect(parseLocalUri('gnfd://bucket/key')).toBeUndefined();
  });
});
