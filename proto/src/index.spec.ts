import * as grpc from '@grpc/grpc-js';

import { loadProgressService, type EpochProgress, type ProgressServiceHandlers } from './index';

describe('progress service', () => {
  it('round-trips an epoch report over a real gRPC server and client', async () => {
    const { service, Client } = loadProgressService();
    const received: EpochProgress[] = [];
    const handlers: ProgressServiceHandlers = {
      Report: (call, callback) => {
        received.push(call.request);
        callback(null, { accepted: 1 });
      },
      Stream: (call, callback) => {
        let count = 0;
        call.on('data', (progress: EpochProgress) => {
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
      const report: EpochProgress = {
        jobId: 'job-1',
        trialId: 't-0',
        epoch: 2,
        epochs: 10,
        metrics: { loss: 0.5, accuracy: 0.75 },
        nodeMspId: 'Org1MSP',
        nodeId: 'x509::node',
        timestamp: '2026-01-01T00:00:00.000Z',
      };
      const ack = await new Promise((resolve, reject) => {
        client.Report(report, { deadline: Date.now() + 5000 }, (error, value) => {
          if (error) reject(error);
          else resolve(value);
        });
      });
      expect(ack).toEqual({ accepted: 1 });
      const streamAck = await new Promise((resolve, reject) => {
        const stream = client.Stream({ deadline: Date.now() + 5000 }, (error, value) => {
          if (error) reject(error);
          else resolve(value);
        });
        stream.write({ ...report, epoch: 3 });
        stream.write({ ...report, epoch: 4 });
        stream.end();
      });
      expect(streamAck).toEqual({ accepted: 2 });
      expect(received.map((r) => r.epoch)).toEqual([2, 3, 4]);
      expect(received[0]).toEqual(report);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
