import { generateKeyPairSync, sign, verify } from 'node:crypto';

import * as grpc from '@grpc/grpc-js';

import {
  decodeEpochProgress,
  encodeEpochProgress,
  loadProgressService,
  progressSigningBytes,
  PROGRESS_SIGNATURE_DOMAIN,
  signProgress,
  type EpochProgress,
  type ProgressServiceHandlers,
  type SignedProgress,
} from './index';

const REPORT: EpochProgress = {
  jobId: 'job-1',
  trialId: 't-0',
  epoch: 2,
  epochs: 10,
  metrics: { loss: 0.5, accuracy: 0.75 },
  nodeMspId: 'Org1MSP',
  nodeId: 'x509::node',
  timestamp: '2026-01-01T00:00:00.000Z',
};

const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const SIGNER = {
  mspId: 'Org1MSP',
  certificatePem: '-----BEGIN CERTIFICATE-----\n(not checked here)\n-----END CERTIFICATE-----\n',
  sign: (message: Uint8Array) => Promise.resolve(new Uint8Array(sign('sha256', message, keys.privateKey))),
};

describe('progress messages', () => {
  it('encodes and decodes a report to the same object', () => {
    expect(decodeEpochProgress(encodeEpochProgress(REPORT))).toEqual(REPORT);
  });

  it('refuses to encode what is not an EpochProgress, and to decode garbage', () => {
    expect(() => encodeEpochProgress({ ...REPORT, epoch: 'two' } as unknown as EpochProgress)).toThrow(
      /not an EpochProgress/,
    );
    expect(() => decodeEpochProgress(Buffer.from([0x0a, 0xff, 0xff, 0xff]))).toThrow();
  });

  it('signs the domain prefix followed by the exact report bytes', async () => {
    const signed = await signProgress(REPORT, SIGNER);
    expect(Buffer.from(signed.certificate).toString('utf8')).toBe(SIGNER.certificatePem);
    expect(signed.mspId).toBe('Org1MSP');
    const covered = progressSigningBytes(signed.report);
    expect(Buffer.from(covered).subarray(0, PROGRESS_SIGNATURE_DOMAIN.length).toString()).toBe(
      PROGRESS_SIGNATURE_DOMAIN,
    );
    expect(verify('sha256', covered, keys.publicKey, signed.signature)).toBe(true);
    // The bare report (no prefix) is not what was signed.
    expect(verify('sha256', signed.report, keys.publicKey, signed.signature)).toBe(false);
  });
});

describe('progress service', () => {
  it('round-trips signed reports over a real gRPC server and client', async () => {
    const { service, Client } = loadProgressService();
    const received: SignedProgress[] = [];
    const handlers: ProgressServiceHandlers = {
      Report: (call, callback) => {
        received.push(call.request);
        callback(null, { accepted: 1 });
      },
      Stream: (call, callback) => {
        let count = 0;
        call.on('data', (progress: SignedProgress) => {
          received.push(progress);
          count += 1;
        });
        call.on('end', () => {
          callback(null, { accepted: count });
        });
      },
    };
    const server = new grpc.Server();
    server.addService(service, handlers);
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => {
        if (error) reject(error);
        else resolve(bound);
      });
    });
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const ack = await new Promise((resolve, reject) => {
        void signProgress(REPORT, SIGNER).then((signed) => {
          client.Report(signed, { deadline: Date.now() + 5000 }, (error, value) => {
            if (error) reject(error);
            else resolve(value);
          });
        });
      });
      expect(ack).toEqual({ accepted: 1 });
      const three = await signProgress({ ...REPORT, epoch: 3 }, SIGNER);
      const four = await signProgress({ ...REPORT, epoch: 4 }, SIGNER);
      const streamAck = await new Promise((resolve, reject) => {
        const stream = client.Stream({ deadline: Date.now() + 5000 }, (error, value) => {
          if (error) reject(error);
          else resolve(value);
        });
        stream.write(three);
        stream.write(four);
        stream.end();
      });
      expect(streamAck).toEqual({ accepted: 2 });
      expect(received.map((r) => decodeEpochProgress(r.report).epoch)).toEqual([2, 3, 4]);
      expect(decodeEpochProgress(received[0]?.report ?? new Uint8Array())).toEqual(REPORT);
      expect(received[0]?.mspId).toBe('Org1MSP');
      expect(Buffer.from(received[0]?.certificate ?? []).toString('utf8')).toBe(SIGNER.certificatePem);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
