import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { checkPage, describeViolations, openBrowser, screenshotDir } from './browser';
import {
  devUser,
  repoRoot,
  startPortalFor,
  startStack,
  stopProcess,
  stopStack,
  type DevUser,
  type StackInfo,
} from './stack';

/**
 * The portal in Chromium against the whole consortium on the devnet (`decenter up` in a fresh home):
 * sign in, submit an Iris job whose upload breaks off and resumes, watch it train, read the winner,
 * leaderboard and report, download the model, verify a certificate, and see another org's user refused
 * the download. Every page is screenshotted and checked with axe-core.
 */

// DECENTER_E2E_HOME reuses a stack that already runs there (and leaves it running): for debugging.
const reuseHome = process.env.DECENTER_E2E_HOME;
const iris = join(repoRoot, 'fixtures', 'iris', 'iris.csv');

let stack: StackInfo;
let browser: BrowserContext | undefined;
let otherBrowser: BrowserContext | undefined;
let otherPortal: { url: string; process: ChildProcess } | undefined;
let home = '';
let owner: DevUser;
let page: Page;
let jobId = '';

async function expectAccessible(target: Page, name: string): Promise<void> {
  const violations = await checkPage(target, name);
  expect(describeViolations(violations), `axe on ${name}`).toBe('');
}

async function signIn(target: Page, portalUrl: string, user: DevUser): Promise<void> {
  await target.goto(`${portalUrl}/sign-in`);
  await target.getByLabel('Organization').fill(user.org);
  await target.getByLabel('User name').fill(user.username);
  await target.getByLabel('Password').fill(user.password);
  await target.getByRole('button', { name: /sign in/i }).click();
  await target.waitForURL((url) => !url.pathname.startsWith('/sign-in'));
}

describe('portal end to end on the devnet', () => {
  beforeAll(async () => {
    home = reuseHome ?? (await mkdtemp(join(tmpdir(), 'decenter-e2e-')));
    stack = reuseHome === undefined ? await startStack(home) : await readStack(reuseHome);
    owner = await devUser(home, 'Org1', 'user1');
    const context = await openBrowser();
    browser = context;
    page = context.pages()[0] ?? (await context.newPage());
  }, 420_000);

  afterAll(async () => {
    await otherBrowser?.close();
    await browser?.close();
    if (otherPortal !== undefined) await stopProcess(otherPortal.process);
    if (reuseHome === undefined && home !== '') {
      await stopStack(home);
      await rm(home, { recursive: true, force: true });
    }
  }, 120_000);

  afterEach(async (context) => {
    // What the browser showed when a step failed, beside the screenshots of the steps that passed.
    if (context.task.result?.state === 'fail' && !page.isClosed()) {
      await page
        .screenshot({
          path: join(screenshotDir, `failed-${context.task.name.slice(0, 40)}.png`),
          fullPage: true,
        })
        .catch(() => undefined);
    }
  });

  it('signs in and shows the user, org and role in the header', async () => {
    await page.goto(stack.portalUrl);
    await page.waitForURL(/\/sign-in/, { timeout: 60_000 });
    await expectAccessible(page, '01-sign-in');
    await signIn(page, stack.portalUrl, owner);
    const banner = page.getByRole('banner');
    await expect.poll(() => banner.textContent()).toContain('user1');
    expect(await banner.textContent()).toContain('Org1');
    await expectAccessible(page, '02-jobs-empty');
  });

  it('creates an Iris job whose upload is interrupted and resumed', async () => {
    // The first PATCH reaches the gateway with only half the file, then the connection breaks: tus
    // resumes from the offset the gateway kept (HEAD), and the second PATCH carries the rest.
    const patches: { offset: number; bytes: number }[] = [];
    let interrupted = false;
    await page.route('**/api/uploads/**', async (route) => {
      const request = route.request();
      const body = request.postDataBuffer();
      if (request.method() !== 'PATCH' || body === null) return route.continue();
      patches.push({ offset: Number(await request.headerValue('upload-offset')), bytes: body.length });
      if (interrupted) return route.continue();
      interrupted = true;
      const half = body.subarray(0, Math.floor(body.length / 2));
      const headers = { ...request.headers() };
      delete headers['content-length'];
      await route.fetch({ postData: half, headers });
      return route.abort('connectionreset');
    });

    await page.goto(`${stack.portalUrl}/jobs/new`);
    await page.getByLabel('Name', { exact: true }).fill('iris-e2e');
    await page.getByLabel('Label column').fill('species');
    await page.getByLabel('Hidden units').fill('16');
    await page.getByLabel('Learning rates').fill('0.01, 0.03');
    await page.getByLabel('Batch sizes').fill('16');
    await page.getByLabel('Epochs').fill('20');
    await page.getByLabel('Seeds').fill('1');
    // A validator does not score its own org's candidates, so with two validator orgs a candidate of
    // Org2 can only get one verdict: a quorum of one, and a validation deadline minutes away as the
    // fallback the chaincode finalizes on, keep the job short.
    await page.getByLabel('Validator quorum (optional)').fill('1');
    await page.getByLabel('Training deadline').fill(localDateTime(5));
    await page.getByLabel('Validation deadline').fill(localDateTime(8));
    await page.getByLabel('Data files').setInputFiles(iris);
    await expect
      .poll(() => page.getByText(/Uploaded and verified/).count(), { timeout: 60_000, interval: 500 })
      .toBe(1);
    await expectAccessible(page, '03-new-job');
    await page.unroute('**/api/uploads/**');
    const size = (await readFile(iris)).length;
    expect(patches.length).toBe(2);
    expect(patches[0]).toEqual({ offset: 0, bytes: size });
    expect(patches[1]?.offset).toBe(Math.floor(size / 2));
    expect(patches[1]?.bytes).toBe(size - Math.floor(size / 2));

    await page.getByRole('button', { name: 'Review' }).click();
    await page.getByRole('heading', { name: 'Review and submit' }).waitFor();
    await expectAccessible(page, '04-review');
    await page.getByRole('button', { name: 'Submit job' }).click();
    // The job's own page, not the /jobs/new the form is on.
    await page.waitForURL(
      (url) => /^\/jobs\/[A-Za-z0-9_-]+$/.test(url.pathname) && url.pathname !== '/jobs/new',
      {
        timeout: 30_000,
      },
    );
    jobId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
    expect(jobId).not.toBe('');
  }, 120_000);

  it('follows the job while it trains, then shows the winner, leaderboard and report', async () => {
    await expect
      .poll(() => page.getByText(/TRAINING|VALIDATING|COMPLETED/).count(), {
        timeout: 120_000,
        interval: 1_000,
      })
      .toBeGreaterThan(0);
    await expectAccessible(page, '05-job-training');
    await expect
      .poll(() => page.getByRole('link', { name: 'Download model' }).count(), {
        timeout: 240_000,
        interval: 2_000,
      })
      .toBe(1);
    const leaderboard = page.getByRole('region', { name: 'Leaderboard' });
    await expect.poll(() => leaderboard.getByRole('row').count(), { timeout: 30_000 }).toBeGreaterThan(2);
    const report = page.getByRole('region', { name: 'Why this model' });
    await expect.poll(() => report.textContent(), { timeout: 60_000, interval: 2_000 }).toMatch(/t00[01]/);
    await expectAccessible(page, '06-job-completed');
  }, 400_000);

  it('downloads the selected model', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download model' }).click(),
    ]);
    const file = await download.path();
    const model = JSON.parse(await readFile(file, 'utf8')) as {
      modelTopology?: unknown;
      weightsManifest?: unknown;
    };
    expect(model.modelTopology).toBeDefined();
    expect(model.weightsManifest).toBeDefined();
  }, 60_000);

  it('lists the jobs, nodes and ledger', async () => {
    await page.goto(`${stack.portalUrl}/jobs`);
    await page.getByText('iris-e2e').first().waitFor();
    await expectAccessible(page, '07-jobs');
    await page.goto(`${stack.portalUrl}/nodes`);
    await page.getByText('executor1').first().waitFor({ timeout: 20_000 });
    await expectAccessible(page, '08-nodes');
    await page.goto(`${stack.portalUrl}/ledger`);
    await page.getByText('FinalizeJob').first().waitFor({ timeout: 20_000 });
    await expectAccessible(page, '09-ledger');
  }, 90_000);

  it("opens a certificate's verification page", async () => {
    await page.goto(`${stack.portalUrl}/certificates`);
    await page.getByRole('link', { name: 'Verification page' }).first().waitFor({ timeout: 20_000 });
    // Only the signed-in user's own: the job owner's certificate, not the trainers' or validators'.
    expect(await page.getByRole('heading', { name: 'Job owner' }).count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Verification page' }).count()).toBe(1);
    await expectAccessible(page, '10-certificates');
    await page.getByRole('link', { name: 'Verification page' }).first().click();
    await page.waitForURL(/\/verify\//);
    const result = page.getByRole('region', { name: 'Verification result' });
    await result.waitFor({ timeout: 20_000 });
    expect(await result.getByRole('heading', { level: 2 }).textContent()).toMatch(/^Valid: /);
    await expectAccessible(page, '11-verify-certificate');
  }, 60_000);

  it("refuses the model to another org's user", async () => {
    const org2 = stack.gateways.find((gateway) => gateway.org === 'Org2');
    if (org2 === undefined) throw new Error('the stack has no Org2 gateway');
    otherPortal = await startPortalFor(org2.url);
    otherBrowser = await openBrowser();
    const other = otherBrowser.pages()[0] ?? (await otherBrowser.newPage());
    await signIn(other, otherPortal.url, await devUser(home, 'Org2', 'user1'));
    await other.goto(`${otherPortal.url}/jobs/${encodeURIComponent(jobId)}`);
    try {
      await other
        .getByText("Only the job's owner can download the selected model.")
        .waitFor({ timeout: 30_000 });
    } catch (error) {
      // What the other org's user saw, to tell a refused page from a broken one.
      await checkPage(other, 'failed-job-other-org');
      throw error;
    }
    expect(await other.getByRole('link', { name: 'Download model' }).count()).toBe(0);
    await expectAccessible(other, '12-job-other-org');
    const refused = await other.request.get(`${otherPortal.url}/api/jobs/${encodeURIComponent(jobId)}/model`);
    expect(refused.status()).toBe(403);
    expect(((await refused.json()) as { hint?: string }).hint).toMatch(/owner/i);
  }, 60_000);

  it('creates a job from data the user split into train, validation and holdout files', async () => {
    // Iris in three files: every tenth row (from the 9th) to validation, every tenth (from the 10th) to
    // holdout, the rest to train; the file is sorted by species, so every split holds all three.
    const [header, ...rows] = (await readFile(iris, 'utf8')).trim().split('\n');
    const splits = { train: [] as string[], validation: [] as string[], holdout: [] as string[] };
    rows.forEach((row, i) => {
      (i % 10 === 8 ? splits.validation : i % 10 === 9 ? splits.holdout : splits.train).push(row);
    });
    const dir = await mkdtemp(join(tmpdir(), 'decenter-e2e-split-'));
    const files = Object.fromEntries(
      await Promise.all(
        Object.entries(splits).map(async ([role, lines]) => {
          const file = join(dir, `iris-${role}.csv`);
          await writeFile(file, [header, ...lines].join('\n') + '\n');
          return [role, file] as const;
        }),
      ),
    );
    try {
      await page.goto(`${stack.portalUrl}/jobs/new`);
      await page.getByLabel('Name', { exact: true }).fill('iris-split-e2e');
      await page.getByLabel('Label column').fill('species');
      await page.getByLabel('Epochs').fill('1');
      await page.getByLabel('Seeds').fill('1');
      await page.getByLabel('Training deadline').fill(localDateTime(5));
      await page.getByLabel('Validation deadline').fill(localDateTime(8));
      await page.getByLabel(/I split it myself/).check();
      await page.getByLabel('Training files', { exact: true }).setInputFiles(files['train'] ?? '');
      await page.getByLabel('Validation files', { exact: true }).setInputFiles(files['validation'] ?? '');
      await page.getByLabel('Holdout files', { exact: true }).setInputFiles(files['holdout'] ?? '');
      await expect
        .poll(() => page.getByText(/Uploaded and verified/).count(), { timeout: 60_000, interval: 500 })
        .toBe(3);
      await expectAccessible(page, '13-new-job-split');
      await page.getByRole('button', { name: 'Review' }).click();
      await page.getByText(/split by you into train \/ validation \/ holdout files/).waitFor();
      await page.getByRole('button', { name: 'Submit job' }).click();
      await page.waitForURL(
        (url) => /^\/jobs\/[A-Za-z0-9_-]+$/.test(url.pathname) && url.pathname !== '/jobs/new',
        { timeout: 30_000 },
      );
      const splitJob = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
      // Ingested (checked, moved into the job's folder, holdout sealed) and created on the ledger.
      await expect
        .poll(
          async () => {
            const answer = await page.request.get(
              `${stack.portalUrl}/api/jobs/${encodeURIComponent(splitJob)}`,
            );
            return answer.ok() ? ((await answer.json()) as { status?: string }).status : undefined;
          },
          { timeout: 60_000, interval: 1_000 },
        )
        .toMatch(/^(OPEN|TRAINING|VALIDATING|COMPLETED)$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

/** `datetime-local` value `minutes` from now, in the local time zone Chromium shares with this process. */
function localDateTime(minutes: number): string {
  const at = new Date(Date.now() + minutes * 60_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${String(at.getFullYear())}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

async function readStack(dir: string): Promise<StackInfo> {
  const state = JSON.parse(await readFile(join(dir, 'stack.json'), 'utf8')) as StackInfo;
  return { home: dir, portalUrl: state.portalUrl, gateways: state.gateways };
}
