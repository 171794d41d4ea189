import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import * as grpc from '@grpc/grpc-js';
import { Module, type INestApplication } from '@nestjs/common';
import { NestApplicationContextOptions } from '@nestjs/common/interfaces/nest-application-context-options.interface';
import { NestFactory } from '@nestjs/core';
import { createConsortium } from '@decenter/devnet';
import {
  encodeEpochProgress,
  loadProgressService,
  signProgress,
  type ProgressServiceClient,
  type SignedProgress,
} from '@decenter/proto';
import type { Request } from 'express';

import { APP_CONFIG } from '../src/config/config.tokens';
import { JobController } from '../src/controllers/job.controller';
import { AccountsRepository } from '../src/repositories/accounts.repository';
import { LedgerRepository } from '../src/repositories/ledger.repository';
import { MspRepository } from '../src/repositories/msp.repository';
import { ProgressGrpcRepository } from '../src/repositories/progress-grpc.repository';
import { DownloadService } from '../src/services/download.service';
import { EventsService } from '../src/services/events.service';
import { JobService } from '../src/services/job.service';
import { JobViewService } from '../src/services/job-view.service';
import { MetricsService } from '../src/services/metrics.service';
import {
  ProgressAuthenticator,
  ProgressAuthService,
  type TrialClaimant,
} from '../src/services/progress-auth.service';
import { progressSignerOf, reportOf } from './support/progress-signing';
import { openEvents } from './support/sse-client';

jest.setTimeout(60_000);

const JOB = 'job-sse';

/**
 * The real SSE route (JobController -> EventsService) and the real progress gRPC server with the real
 * authenticator and the consortium's real certificates; the ledger's answer (who claimed which trial) is
 * a map the test sets, and the signed-in user is set by a middleware.
 */
describe('job event stream: signed progress of every org, keep-alive, no leak on disconnect', () => {
  let home = '';
  let app: INestApplication;
  let url = '';
  let events: EventsService;
  let metrics: MetricsService;
  let client: ProgressServiceClient;
  const claims = new Map<string, TrialClaimant | undefined>();
  let org1Executor: Awaited<ReturnType<typeof progressSignerOf>>;
  let org2Executor: Awaited<ReturnType<typeof progressSignerOf>>;
  let org1Member: Awaited<ReturnType<typeof progressSignerOf>>;

  beforeAll(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'progress-sse-'));
    await createConsortium({ home, orgs: ['Org1', 'Org2'] });
    org1Executor = await progressSignerOf(home, 'Org1/executor1');
    org2Executor = await progressSignerOf(home, 'Org2/executor1');
    org1Member = await progressSignerOf(home, 'Org1/user1');
    claims.set('t-000', { mspId: org1Executor.mspId, id: org1Executor.id });
    claims.set('t-001', { mspId: org2Executor.mspId, id: org2Executor.id });

    const msp = new MspRepository({ home });
    const authenticator = new ProgressAuthenticator({
      caCertificates: (mspId) => msp.caCertificates(mspId),
      trialClaims: (jobId) => Promise.resolve(jobId === JOB ? new Map(claims) : new Map()),
    });
    @Module({
      controllers: [JobController],
      providers: [
        { provide: APP_CONFIG, useValue: { host: '127.0.0.1', grpcPort: 0 } },
        ProgressGrpcRepository,
        MetricsService,
        EventsService,
        { provide: ProgressAuthService, useValue: authenticator },
        // No ledger to follow here: the gateway logs that and relays progress only.
        { provide: AccountsRepository, useValue: { readOrgIdentities: () => Promise.resolve([]) } },
        { provide: LedgerRepository, useValue: {} },
        {
          provide: JobService,
          useValue: { get: (_user: unknown, id: string) => Promise.resolve({ jobId: id }) },
        },
        { provide: DownloadService, useValue: {} },
        { provide: JobViewService, useValue: {} },
      ],
    })
    class SseTestModule {}

    const options = new NestApplicationContextOptions();
    options.logger = false;
    app = await NestFactory.create(SseTestModule, options);
    app.use((request: Request & { user?: unknown }, _response: unknown, next: () => void) => {
      request.user = { username: 'user1', org: 'Org1' };
      next();
    });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${String((app.getHttpServer() as { address(): AddressInfo }).address().port)}`;
    events = app.get(EventsService);
    metrics = app.get(MetricsService);
    const { Client } = loadProgressService();
    client = new Client(
      `127.0.0.1:${String(app.get(ProgressGrpcRepository).port)}`,
      grpc.credentials.createInsecure(),
    );
  });

  afterAll(async () => {
    client.close();
    await app.close();
    await rm(home, { recursive: true, force: true });
  });

  function report(signed: SignedProgress): Promise<{ accepted: number }> {
    return new Promise((resolve, reject) => {
      client.Report(signed, { deadline: Date.now() + 5_000 }, (error, ack) => {
        if (error !== null) reject(error);
        else resolve(ack ?? { accepted: 0 });
      });
    });
  }

  async function sseClients(): Promise<number> {
    return (await metrics.sseClients.get()).values[0]?.value ?? 0;
  }

  it("carries the epochs of both orgs' executors and nothing refused", async () => {
    const stream = await openEvents(`${url}/api/jobs/${JOB}/events`, 'token-not-checked-here');
    try {
      expect(stream.status).toBe(200);
      expect((await stream.next()).event).toBe('job');

      // Refused before they reach anyone: an unsigned report, a member's report, a trial it does not hold.
      const unsigned = {
        report: encodeEpochProgress(reportOf(org1Executor, JOB, 't-000', 4)),
        mspId: '',
        certificate: new Uint8Array(),
        signature: new Uint8Array(),
      };
      await expect(report(unsigned)).rejects.toMatchObject({
        code: grpc.status.UNAUTHENTICATED,
        details: expect.stringContaining('not signed') as string,
      });
      await expect(
        report(await signProgress(reportOf(org1Member, JOB, 't-000', 4), org1Member)),
      ).rejects.toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
        details: expect.stringContaining('role "member"') as string,
      });
      await expect(
        report(await signProgress(reportOf(org1Executor, JOB, 't-001', 4), org1Executor)),
      ).rejects.toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
        details: expect.stringContaining('claimed on the ledger by another node') as string,
      });

      expect(await report(await signProgress(reportOf(org1Executor, JOB, 't-000', 1), org1Executor))).toEqual(
        {
          accepted: 1,
        },
      );
      expect(await report(await signProgress(reportOf(org2Executor, JOB, 't-001', 1), org2Executor))).toEqual(
        {
          accepted: 1,
        },
      );
      const first = await stream.nextOf('progress');
      const second = await stream.nextOf('progress');
      const seen = [first.data, second.data] as { trialId: string; nodeMspId: string; epoch: number }[];
      expect(seen.map((p) => `${p.nodeMspId}:${p.trialId}@${String(p.epoch)}`)).toEqual([
        'Org1MSP:t-000@1',
        'Org2MSP:t-001@1',
      ]);
      // Counted by outcome; a refused report's claims are not trusted as a label.
      const counted = (await metrics.progressReports.get()).values.map(
        (v) => `${String(v.labels.outcome)}/${String(v.labels.msp)}=${String(v.value)}`,
      );
      expect(counted.sort()).toEqual([
        'PERMISSION_DENIED/unverified=2',
        'UNAUTHENTICATED/unverified=1',
        'accepted/Org1MSP=1',
        'accepted/Org2MSP=1',
      ]);
    } finally {
      stream.close();
    }
  });

  it('accepts a stream of signed reports and ends it at the first refused one', async () => {
    const ack = await new Promise<unknown>((resolve, reject) => {
      const call = client.Stream({ deadline: Date.now() + 5_000 }, (error, value) => {
        if (error !== null) reject(error);
        else resolve(value);
      });
      void (async () => {
        call.write(await signProgress(reportOf(org2Executor, JOB, 't-001', 2), org2Executor));
        call.write(await signProgress(reportOf(org2Executor, JOB, 't-001', 3), org2Executor));
        call.end();
      })();
    });
    expect(ack).toEqual({ accepted: 2 });
    const refused = new Promise<unknown>((resolve, reject) => {
      const call = client.Stream({ deadline: Date.now() + 5_000 }, (error, value) => {
        if (error !== null) reject(error);
        else resolve(value);
      });
      void (async () => {
        call.write(await signProgress(reportOf(org2Executor, JOB, 't-001', 4), org2Executor));
        call.write(await signProgress(reportOf(org2Executor, JOB, 't-000', 4), org2Executor));
        call.end();
      })();
    });
    await expect(refused).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
  });

  it('sends a keep-alive comment while idle and frees everything when the client disconnects', async () => {
    // Let the earlier streams' teardown settle, then take the baseline.
    await waitUntil(async () => events.listenerCount(JOB) === 0 && (await sseClients()) === 0);
    events.keepAliveMs = 100;
    const controller = new AbortController();
    try {
      const response = await fetch(`${url}/api/jobs/${JOB}/events`, { signal: controller.signal });
      const reader = response.body?.getReader();
      if (reader === undefined) throw new Error('no body');
      let text = '';
      const decoder = new TextDecoder();
      while ((text.match(/^: keep-alive$/gm) ?? []).length < 2) {
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        text += decoder.decode(value as Uint8Array, { stream: true });
      }
      expect(text).toMatch(/^event: job$/m);
      expect(events.listenerCount(JOB)).toBe(1);
      expect(await sseClients()).toBe(1);
    } finally {
      // Also when an expectation fails: an open stream would keep app.close() waiting.
      controller.abort();
      events.keepAliveMs = 15_000;
    }
    // The bus listener and the client gauge go with the connection; the keep-alive timer is the
    // subscription's (withKeepAlive's own test shows it stops on unsubscribe).
    await waitUntil(async () => events.listenerCount(JOB) === 0 && (await sseClients()) === 0);
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
