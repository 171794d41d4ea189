import * as grpc from '@grpc/grpc-js';
import { loadProgressService, type EpochProgress, type ProgressServiceHandlers } from '@decenter/proto';

import { GrpcProgressReporter } from './progress.reporter';

const NODE = { mspId: 'Org1MSP', id: 'x509::executor1' };
const REPORT = {
  jobId: 'j1',
  trialId: 't000',
  epoch: 2,
  epochs: 5,
  metrics: { loss: 0.5, accuracy: 0.9, bad: Number.NaN },
};

describe('GrpcProgressReporter', () => {
  it('sends each epoch to the gateway', async () => {
    const received: EpochProgress[] = [];
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
    const reporter = new GrpcProgressReporter(`127.0.0.1:${port}`, NODE);
    try {
      await reporter.report(REPORT);
    } finally {
      reporter.close();
      server.forceShutdown();
    }
    expect(received).toEqual([
      expect.objectContaining({
        jobId: 'j1',
        trialId: 't000',
        epoch: 2,
        epochs: 5,
        metrics: { loss: 0.5, accuracy: 0.9 },
        nodeMspId: 'Org1MSP',
        nodeId: 'x509::executor1',
      }),
    ]);
  });

  it('never fails or hangs when the gateway is down', async () => {
    const events: Record<string, unknown>[] = [];
    // Port 1 on loopback: nothing listens there.
    const reporter = new GrpcProgressReporter('127.0.0.1:1', NODE, (event) => events.push(event), 500);
    const started = Date.now();
    await expect(reporter.report(REPORT)).resolves.toBeUndefined();
    reporter.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(events).toEqual([expect.objectContaining({ event: 'progress-not-reported', jobId: 'j1' })]);
  });
});
