import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium, type BrowserContext, type Page } from 'playwright-core';

import { repoRoot } from './stack';

/** Debian's chromium (installed by .ci/run); Playwright's own browser is never downloaded. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Screenshots go to $OUT when a runner collects them, else portal/test-results/e2e (git-ignored). */
export const screenshotDir = process.env.OUT
  ? join(process.env.OUT, 'e2e-screenshots')
  : join(repoRoot, 'portal', 'test-results', 'e2e');

const axeSource = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** A browser with a fresh profile each time, so no session or tus fingerprint leaks between runs. */
export async function openBrowser(): Promise<BrowserContext> {
  const profile = await mkdtemp(join(tmpdir(), 'decenter-e2e-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  context.once('close', () => {
    // Chromium may still be writing its profile as it exits: retry, and never fail the run over it.
    rm(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }).catch(() => undefined);
  });
  return context;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * Saves a full-page screenshot and runs axe-core on the page as it is; answers the violations that are
 * serious or critical (the e2e asserts there are none).
 */
export async function checkPage(page: Page, name: string): Promise<AxeViolation[]> {
  await mkdir(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
  await page.addScriptTag({ path: axeSource });
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as { axe: { run: (context: Document) => Promise<{ violations: unknown[] }> } }
    ).axe;
    return (await axe.run(document)).violations;
  });
  return (violations as AxeViolation[]).filter(
    (violation) => violation.impact === 'serious' || violation.impact === 'critical',
  );
}

export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .map(
      (v) =>
        `${v.id} (${v.impact ?? '?'}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
    )
    .join('\n');
}
