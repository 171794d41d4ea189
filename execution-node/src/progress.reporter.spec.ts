import { generateKeyPairSync, sign, verify } from 'node:crypto';

import * as grpc from '@grpc/grpc-js';
import {
  decodeEpochProgress,
  loadProgressService,
  progressSigningBytes,
  type EpochProgress,
  type ProgressServiceHandlers,
  type SignedProgress,
} from '@decenter/proto';

import { GrpcProgressReporter, progressEndpointFor } from './progress.reporter';

const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const CERT =
  '-----BEGIN CERTIFICATE-----\n(the gateway checks it, not this test)\n-----END CERTIFICATE-----\n';
const NODE = {
  id: 'x509::executor1',
  signer: {
    mspId: 'Org2MSP',
    certificatePem: CERT,
    sign: (message: Uint8Array) => Promise.resolve(new Uint8Array(sign('sha256', message, keys.privateKey))),
  },
};
const REPORT = {
  jobId: 'j1',
  ownerMspId: 'Org1MSP',
  trialId: 't000',
  epoch: 2,
  epochs: 5,
  metrics: { loss: 0.5, accuracy: 0.9, bad: Number.NaN },
};

/** A stand-in gateway: records the signed reports it receives. */
async function startGateway(): Promise<{ endpoint: string; received: SignedProgress[]; stop: () => void }> {
  const received: SignedProgress[] = [];
  const server = new grpc.Server();
  const handlers: ProgressServiceHandlers = {
    Report: (call, callback) => {
      received.push(call.request);
      callback(null, { accepted: 1 });
    },
    Stream: (_call, callback) => {
      callback(null, { accepted: 0 });
    },
  };
  server.addService(loadProgressService().service, handlers);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error === null) resolve(bound);
      else reject(error);
    });
  });
  return {
    endpoint: `127.0.0.1:${String(port)}`,
    received,
    stop: () => {
      server.forceShutdown();
    },
  };
}

function opened(signed: SignedProgress | undefined): EpochProgress {
  if (signed === undefined) throw new Error('nothing received');
  expect(verify('sha256', progressSigningBytes(signed.report), keys.publicKey, signed.signature)).toBe(true);
  expect(signed.mspId).toBe('Org2MSP');
  expect(Buffer.from(signed.certificate).toString('utf8')).toBe(CERT);
  return decodeEpochProgress(signed.report);
}

describe('progressEndpointFor', () => {
  it('picks the owner org endpoint, else the default, else none', () => {
    const routes = { byMsp: { Org1MSP: 'a:1', Org2MSP: 'b:2' }, default: 'c:3' };
    expect(progressEndpointFor(routes, 'Org1MSP')).toBe('a:1');
    expect(progressEndpointFor(routes, 'Org2MSP')).toBe('b:2');
    expect(progressEndpointFor(routes, 'Org3MSP')).toBe('c:3');
    expect(progressEndpointFor({ byMsp: { Org1MSP: 'a:1' } }, 'Org3MSP')).toBeUndefined();
    // An inherited property name is not an MSP with an endpoint.
    expect(progressEndpointFor({ byMsp: {} }, 'toString')).toBeUndefined();
  });
});

describe('GrpcProgressReporter', () => {
  it('sends each epoch, signed, to the gateway of the job owner org', async () => {
    const org1 = await startGateway();
    const org3 = await startGateway();
    const fallback = await startGateway();
    const reporter = new GrpcProgressReporter(
      { byMsp: { Org1MSP: org1.endpoint, Org3MSP: org3.endpoint }, default: fallback.endpoint },
      NODE,
    );
    try {
      await reporter.report(REPORT);
      await reporter.report({ ...REPORT, jobId: 'j3', ownerMspId: 'Org3MSP' });
      await reporter.report({ ...REPORT, jobId: 'j9', ownerMspId: 'Org9MSP' });
    } finally {
      reporter.close();
      org1.stop();
      org3.stop();
      fallback.stop();
    }
    expect(org1.received).toHaveLength(1);
    expect(opened(org1.received[0])).toEqual(
      expect.objectContaining({
        jobId: 'j1',
        trialId: 't000',
        epoch: 2,
        epochs: 5,
        metrics: { loss: 0.5, accuracy: 0.9 },
        nodeMspId: 'Org2MSP',
        nodeId: 'x509::executor1',
      }),
    );
    expect(org3.received.map((signed) => opened(signed).jobId)).toEqual(['j3']);
    expect(fallback.received.map((signed) => opened(signed).jobId)).toEqual(['j9']);
  });

  it('says once that a job has no gateway to report to, and sends nothing', async () => {
    const events: Record<string, unknown>[] = [];
    const reporter = new GrpcProgressReporter({ byMsp: {} }, NODE, (event) => events.push(event));
    await reporter.report(REPORT);
    await reporter.report({ ...REPORT, epoch: 3 });
    reporter.close();
    expect(events).toEqual([{ event: 'progress-not-routed', jobId: 'j1', ownerMspId: 'Org1MSP' }]);
  });

  it('never fails or hangs when the gateway is down', async () => {
    const events: Record<string, unknown>[] = [];
    // Port 1 on loopback: nothing listens there.
    const reporter = new GrpcProgressReporter(
      { byMsp: {}, default: '127.0.0.1:1' },
      NODE,
      (event) => events.push(event),
      500,
    );
    const started = Date.now();
    await expect(reporter.report(REPORT)).resolves.toBeUndefined();
    reporter.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(events).toEqual([expect.objectContaining({ event: 'progress-not-reported', jobId: 'j1' })]);
  });
});
