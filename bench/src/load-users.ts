import { createUpload, patchFile } from './lib/gateway-client';
import { sleep } from './lib/processes';

/**
 * The simulated users of bench/load. A browsing user behaves as a person with the portal open: signs in
 * once, then views pages with the HttpOnly session cookie the sign-in set, pausing between views; only
 * when the session is older than `sessionMinutes` does it sign out and in again (the portal keeps a
 * session for SESSION_TTL, 12 h by default, so this signs in far more often than people do). An uploading
 * user behaves as the CLI: one sign-in, then tus uploads with its bearer token.
 */

export interface Sample {
  endpoint: string;
  ms: number;
  ok: boolean;
  /** A sign-in the gateway refused with 503 + Retry-After because its password queue was full. */
  busy?: boolean;
  detail?: string;
}

export interface Credentials {
  org: string;
  username: string;
  password: string;
}

/** What every user of one run shares: where to go, when to stop, where to record. */
export interface LoadRun {
  url: string;
  deadline: number;
  /** Requests one user may send at most, so a run is bounded in count as well as time. */
  maxRequests: number;
  samples: Sample[];
}

export const SESSION_COOKIE = 'decenter_session';
/** Not a request: the time from a user's first sign-in attempt to its session, retries included. */
export const SIGN_IN_WAIT = 'sign-in as the user waits it (first attempt to session)';
const REQUEST_TIMEOUT_MS = 30_000;
const MAX_RETRY_AFTER_S = 30;

/** A seeded generator, so every run's arrivals and think times are the same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Answer {
  status: number;
  body: string;
  headers: Headers;
}

/** One request, timed and recorded; the answer, or undefined when it never came. */
async function timedFetch(
  run: LoadRun,
  endpoint: string,
  path: string,
  init: RequestInit = {},
): Promise<Answer | undefined> {
  const t0 = performance.now();
  try {
    const response = await fetch(`${run.url}${path}`, {
      ...init,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const body = await response.text();
    const ms = performance.now() - t0;
    const ok = response.status >= 200 && response.status < 300;
    const busy = response.status === 503 && response.headers.get('retry-after') !== null;
    run.samples.push({
      endpoint,
      ms,
      ok,
      ...(busy ? { busy } : {}),
      ...(ok ? {} : { detail: `${String(response.status)} ${body.slice(0, 200)}` }),
    });
    return { status: response.status, body, headers: response.headers };
  } catch (error) {
    run.samples.push({ endpoint, ms: performance.now() - t0, ok: false, detail: String(error) });
    return undefined;
  }
}

function sessionCookieOf(headers: Headers): string | undefined {
  for (const cookie of headers.getSetCookie()) {
    const [pair] = cookie.split(';');
    if (pair?.startsWith(`${SESSION_COOKIE}=`) === true) return pair;
  }
  return undefined;
}

/**
 * Signs in, honouring a 503's Retry-After as the portal would show "try again in N s" and the user would
 * wait; gives up at the deadline or the request budget. Returns the session cookie and the requests sent.
 */
async function signIn(
  run: LoadRun,
  user: Credentials,
  budget: number,
): Promise<{ cookie: string | undefined; sent: number }> {
  let sent = 0;
  const t0 = performance.now();
  while (Date.now() < run.deadline && sent < budget) {
    const answer = await timedFetch(run, 'POST /api/auth/login', '/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(user),
    });
    sent++;
    const cookie = answer?.status === 200 ? sessionCookieOf(answer.headers) : undefined;
    if (cookie !== undefined) {
      // What the person waited: from the first attempt to a session, 503s and their Retry-After included.
      run.samples.push({ endpoint: SIGN_IN_WAIT, ms: performance.now() - t0, ok: true });
      return { cookie, sent };
    }
    const retryAfter = Number(answer?.headers.get('retry-after') ?? '1');
    const waitS = Number.isFinite(retryAfter) ? Math.min(MAX_RETRY_AFTER_S, Math.max(1, retryAfter)) : 1;
    await sleep(Math.min(waitS * 1000, Math.max(0, run.deadline - Date.now())));
  }
  return { cookie: undefined, sent };
}

/** The portal's pages a user moves between, in the order of its navigation. */
function pagesOf(jobId: string): [string, string][] {
  return [
    ['GET /api/jobs', '/api/jobs'],
    ['GET /api/jobs/:id', `/api/jobs/${jobId}`],
    ['GET /api/jobs/:id/trials', `/api/jobs/${jobId}/trials`],
    ['GET /api/nodes', '/api/nodes'],
    ['GET /api/ledger', '/api/ledger'],
    ['GET /api/certificates', '/api/certificates'],
  ];
}

export interface BrowserPlan {
  jobId: string;
  seed: number;
  /** The user opens the portal this many ms after the run starts. */
  arrivalMs: number;
  sessionMs: number;
  thinkMs: { min: number; max: number };
}

/**
 * A browsing user: arrives, signs in, checks its session (`/api/auth/me`, as the portal shell does on
 * load), then cycles through the pages with think time; renews the session once it is `sessionMs` old
 * (sign out, sign in). A page answering 401 also sends it back to the sign-in.
 */
export async function browser(run: LoadRun, user: Credentials, plan: BrowserPlan): Promise<void> {
  const random = mulberry32(plan.seed);
  const pages = pagesOf(plan.jobId);
  let sent = 0;
  let page = Math.floor(random() * pages.length);
  await sleep(Math.min(plan.arrivalMs, Math.max(0, run.deadline - Date.now())));
  while (Date.now() < run.deadline && sent < run.maxRequests) {
    const session = await signIn(run, user, run.maxRequests - sent);
    sent += session.sent;
    if (session.cookie === undefined) return;
    const headers = { cookie: session.cookie };
    const since = Date.now();
    let expired = (await timedFetch(run, 'GET /api/auth/me', '/api/auth/me', { headers }))?.status === 401;
    sent++;
    while (!expired && Date.now() < run.deadline && sent < run.maxRequests) {
      if (Date.now() - since >= plan.sessionMs) {
        await timedFetch(run, 'POST /api/auth/logout', '/api/auth/logout', { method: 'POST', headers });
        sent++;
        break;
      }
      await sleep(plan.thinkMs.min + random() * (plan.thinkMs.max - plan.thinkMs.min));
      if (Date.now() >= run.deadline) return;
      const [endpoint, path] = pages[page] ?? ['GET /api/jobs', '/api/jobs'];
      page = (page + 1) % pages.length;
      expired = (await timedFetch(run, endpoint, path, { headers }))?.status === 401;
      sent++;
    }
  }
}

export interface UploadFile {
  path: string;
  size: number;
  digest: string;
}

/** Resolves with `work`, or rejects after `ms` (the request itself is ended when the stack stops). */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} took over ${String(ms / 1000)} s`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An uploading user (the CLI): a loop of one tus upload of `file` (creation, then the bytes in one
 * PATCH), each timed apart and together, then its termination so the user's quota never fills.
 */
export async function uploader(run: LoadRun, token: string, file: UploadFile): Promise<void> {
  const auth = { 'tus-resumable': '1.0.0', authorization: `Bearer ${token}` };
  for (let sent = 0; Date.now() < run.deadline && sent < run.maxRequests; sent += 3) {
    const t0 = performance.now();
    let stage = 'POST';
    try {
      const id = await within(
        REQUEST_TIMEOUT_MS,
        'tus creation',
        createUpload(run.url, token, file.size, { filename: 'load.bin', digest: file.digest }),
      );
      const t1 = performance.now();
      run.samples.push({ endpoint: 'tus create (POST /api/uploads)', ms: t1 - t0, ok: true });
      stage = 'PATCH';
      await within(4 * REQUEST_TIMEOUT_MS, 'tus PATCH', patchFile(run.url, token, id, file.path));
      const t2 = performance.now();
      run.samples.push({ endpoint: 'tus data (PATCH /api/uploads/:id)', ms: t2 - t1, ok: true });
      run.samples.push({ endpoint: 'tus upload (POST + PATCH)', ms: t2 - t0, ok: true });
      await timedFetch(run, 'DELETE /api/uploads/:id', `/api/uploads/${id}`, {
        method: 'DELETE',
        headers: auth,
      });
    } catch (error) {
      run.samples.push({
        endpoint: 'tus upload (POST + PATCH)',
        ms: performance.now() - t0,
        ok: false,
        detail: `${stage}: ${String(error)}`,
      });
      await sleep(1000);
    }
  }
}

/** The uploading user's one sign-in (bearer token, as the CLI keeps it). */
export async function signInToken(url: string, user: Credentials): Promise<string> {
  const response = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(user),
    signal: AbortSignal.timeout(2 * REQUEST_TIMEOUT_MS),
  });
  if (response.status !== 200)
    throw new Error(`sign-in failed: ${String(response.status)} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}
