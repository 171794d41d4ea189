import ChaincodeFromContract from 'fabric-shim/lib/contract-spi/chaincodefromcontract';
import { JSONSerializer } from 'fabric-contract-api';

import { contracts } from './index';
import { EXECUTOR_CERT_PEM, MEMBER_CERT_PEM } from './testing/certificates';
import { FakeLedger, FakeStub } from './testing/fake-stub';
import { jobInput } from './testing/fixtures';
import { START_MS, TestNetwork } from './testing/test-network';

interface TransactionMetadata {
  name: string;
  tag: string[];
  parameters?: { name: string; schema: { type?: string } }[];
}

/**
 * Runs the contracts through fabric-shim's own dispatcher, as the peer does: function routing,
 * argument conversion, ClientIdentity built from a real X.509 certificate with Fabric CA attributes,
 * result serialization through class-transformer, and the built-in GetMetadata.
 */
describe('contracts behind the real fabric-shim dispatcher', () => {
  const chaincode = new ChaincodeFromContract(
    contracts,
    { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } },
    {},
    'decenter-chaincode',
    '0.1.0',
  );
  const ledger = new FakeLedger();
  let tx = 0;

  async function invoke(
    pem: string,
    args: string[],
  ): Promise<{ status: number; message?: string; payload: string; stub: FakeStub }> {
    tx += 1;
    const stub = new FakeStub(ledger, {
      txId: `d${tx}`,
      timestampMs: START_MS + tx,
      mspId: 'Org1MSP',
      creatorPem: pem,
      args,
    });
    const response = await chaincode.Invoke(stub);
    return {
      status: response.status,
      message: response.message,
      payload: Buffer.from(response.payload ?? []).toString('utf8'),
      stub,
    };
  }

  it('pins class-transformer 0.4.0, the release whose classToPlain the serializer needs', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const transformer = require('class-transformer') as { classToPlain?: unknown };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect((require('class-transformer/package.json') as { version: string }).version).toBe('0.4.0');
    expect(typeof transformer.classToPlain).toBe('function');
  });

  it('answers org.hyperledger.fabric:GetMetadata with every contract and transaction', async () => {
    const response = await invoke(MEMBER_CERT_PEM, ['org.hyperledger.fabric:GetMetadata']);
    expect(response.status).toBe(200);
    const metadata = JSON.parse(response.payload) as {
      info: { title: string; version: string };
      contracts: Record<string, { name: string; transactions: TransactionMetadata[] }>;
    };
    expect(metadata.info).toMatchObject({ title: 'decenter-chaincode', version: '0.1.0' });
    expect(Object.keys(metadata.contracts).sort()).toEqual([
      'CertificateContract',
      'JobContract',
      'NodeContract',
      'org.hyperledger.fabric',
    ]);
    const names = (contract: string): string[] =>
      (metadata.contracts[contract]?.transactions ?? []).map((t) => t.name).sort();
    expect(names('JobContract')).toEqual(
      [
        'CancelJob',
        'ClaimTrial',
        'CommitCandidate',
        'CreateJob',
        'FailTrial',
        'FinalizeJob',
        'GetJob',
        'GetJobHistory',
        'ListCandidates',
        'ListJobs',
        'ListScores',
        'ListTrials',
        'ReleaseTrial',
        'RenewLease',
        'SubmitScores',
      ].sort(),
    );
    expect(names('NodeContract')).toEqual(['GetNode', 'ListNodes', 'RegisterNode']);
    expect(names('CertificateContract')).toEqual(
      [
        'Approve',
        'BalanceOf',
        'GetCertificate',
        'ListCertificates',
        'Name',
        'OwnerOf',
        'Revoke',
        'Symbol',
        'TokenURI',
        'TotalSupply',
        'TransferFrom',
      ].sort(),
    );
    const job = metadata.contracts.JobContract?.transactions ?? [];
    expect(job.find((t) => t.name === 'GetJob')?.tag).toEqual(['EVALUATE']);
    expect(job.find((t) => t.name === 'CreateJob')?.tag).toContain('SUBMIT');
    expect(job.find((t) => t.name === 'ListJobs')?.parameters?.map((p) => [p.name, p.schema.type])).toEqual([
      ['status', 'string'],
      ['owner', 'string'],
      ['pageSize', 'number'],
      ['bookmark', 'string'],
    ]);
  });

  it('runs transactions with the identity and role of a real certificate, on the default and named contracts', async () => {
    const net = new TestNetwork();
    const input = jobInput(net, { jobId: 'dispatch-1', validation: { validatorOrgs: ['Org2MSP'] } });
    const created = await invoke(MEMBER_CERT_PEM, ['CreateJob', JSON.stringify(input)]);
    expect(created.status).toBe(200);
    expect(ledger.commit(created.stub)).toBe('VALID');
    expect(JSON.parse(created.payload)).toMatchObject({
      jobId: 'dispatch-1',
      owner: {
        id: 'x509::/C=US/O=org1.example.com/OU=client/CN=alice::/C=US/O=org1.example.com/CN=ca.org1.example.com',
        mspId: 'Org1MSP',
      },
    });
    expect(ledger.events.at(-1)?.name).toBe('JobCreated');

    const read = await invoke(MEMBER_CERT_PEM, ['JobContract:GetJob', 'dispatch-1']);
    expect(JSON.parse(read.payload)).toEqual(JSON.parse(created.payload));

    const page = await invoke(MEMBER_CERT_PEM, ['JobContract:ListJobs', 'OPEN', '', '10', '']);
    expect((JSON.parse(page.payload) as { jobs: { jobId: string }[] }).jobs.map((j) => j.jobId)).toEqual([
      'dispatch-1',
    ]);

    const registered = await invoke(EXECUTOR_CERT_PEM, ['NodeContract:RegisterNode', '{"capabilities":{}}']);
    expect(JSON.parse(registered.payload)).toMatchObject({
      role: 'executor',
      nodeId: expect.stringContaining('CN=carol'),
    });

    expect(await invoke(MEMBER_CERT_PEM, ['CertificateContract:TotalSupply'])).toMatchObject({
      status: 200,
      payload: '0',
    });
    expect(await invoke(MEMBER_CERT_PEM, ['CertificateContract:Symbol'])).toMatchObject({
      status: 200,
      payload: 'DCC',
    });
  });

  it('returns the chaincode error message to the client', async () => {
    const denied = await invoke(EXECUTOR_CERT_PEM, ['CreateJob', '{}']);
    expect(denied).toMatchObject({
      status: 500,
      message: expect.stringMatching(/^ACCESS_DENIED: creating a job needs role member or admin/),
    });
    const soulbound = await invoke(MEMBER_CERT_PEM, [
      'CertificateContract:TransferFrom',
      'a',
      'b',
      'job-c000',
    ]);
    expect(soulbound).toMatchObject({ status: 500, message: expect.stringMatching(/^SOULBOUND:/) });
    const badNumber = await invoke(MEMBER_CERT_PEM, ['ListJobs', '', '', 'ten', '']);
    expect(badNumber.status).toBe(500);
  });
});
