import {
  badgeUriOf,
  buildCertificateMetadata,
  checkStoredMetadata,
  metadataBytes,
  metadataDigest,
  renderBadge,
  type CertificateFacts,
} from './certificate.metadata';

const facts: CertificateFacts = {
  tokenId: 'iris-1-c002',
  jobId: 'iris-1',
  jobName: 'Iris <classifier> & co',
  role: 'winning-trainer',
  holder: { mspId: 'Org3MSP', id: 'x509::/CN=executor1::/CN=ca' },
  issuer: { mspId: 'Org1MSP', id: 'x509::/CN=user1::/CN=ca' },
  tokenUri: 'local://b/jobs/iris-1/certificates/iris-1-c002.json',
  trialIds: ['t001'],
  mintedAt: '2026-01-01T00:00:00.000Z',
  modelHash: 'ab'.repeat(32),
  objective: { metric: 'accuracy', score: 0.9565 },
  issuingOrgs: ['Org1MSP', 'Org2MSP'],
  transactionId: 'tx-final',
};

describe('certificate metadata', () => {
  it('is rebuilt identically from the same ledger facts, so its digest can be checked', () => {
    const a = buildCertificateMetadata(facts);
    const b = buildCertificateMetadata({ ...facts, issuingOrgs: [...facts.issuingOrgs] });
    expect(metadataDigest(a)).toBe(metadataDigest(b));
    expect(a).toMatchObject({
      role: 'winning-trainer',
      job: { jobId: 'iris-1', name: facts.jobName },
      modelHash: facts.modelHash,
      metrics: { accuracy: 0.9565 },
      issuingOrgs: ['Org1MSP', 'Org2MSP'],
      transactionId: 'tx-final',
      image: 'local://b/jobs/iris-1/certificates/iris-1-c002.svg',
    });
    expect(checkStoredMetadata(metadataBytes(a), b)).toBeUndefined();
  });

  it('detects stored metadata that differs from the ledger in any field', () => {
    const stored = metadataBytes(buildCertificateMetadata({ ...facts, role: 'trainer' }));
    expect(checkStoredMetadata(stored, buildCertificateMetadata(facts))).toMatch(
      /hashes to [0-9a-f]{64}, but/,
    );
  });

  it('renders an accessible SVG badge with title and description, escaping the text', () => {
    const metadata = buildCertificateMetadata(facts);
    const svg = renderBadge(metadata);
    expect(svg).toMatch(/^<svg [^>]*role="img" aria-labelledby="title desc"/);
    expect(svg).toContain(
      '<title id="title">DeCenter Winning trainer: Iris &#60;classifier&#62; &#38; co</title>',
    );
    expect(svg).toContain(`Metadata SHA-256 ${metadataDigest(metadata)}`);
    expect(svg).not.toContain('<classifier>');
    expect(badgeUriOf(facts.tokenUri)).toBe('local://b/jobs/iris-1/certificates/iris-1-c002.svg');
  });
});
