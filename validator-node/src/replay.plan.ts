import { createHash } from 'node:crypto';

function digest(...parts: string[]): Buffer {
  return createHash('sha256').update(parts.join('\u0000')).digest();
}

/**
 * Which candidates this validator org replays, and which epoch of each: ranked by a hash of (job, org,
 * trial), so the choice is deterministic, public and differs between orgs (their replays cross-check
 * different candidates) while no trainer can know in advance which epoch will be retrained.
 */
export function planReplays(
  jobId: string,
  mspId: string,
  candidates: readonly { trialId: string; epochs: number }[],
  share: number,
): Map<string, number> {
  const eligible = candidates.filter((c) => c.epochs > 0);
  const count = Math.min(eligible.length, Math.ceil(Math.max(0, Math.min(1, share)) * eligible.length));
  const ranked = eligible
    .map((c) => ({ ...c, rank: digest(jobId, mspId, c.trialId).toString('hex') }))
    .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
  const plan = new Map<string, number>();
  for (const c of ranked.slice(0, count)) {
    const pick = digest(jobId, mspId, c.trialId, 'epoch').readUInt32BE(0);
    plan.set(c.trialId, 1 + (pick % c.epochs));
  }
  return plan;
}
