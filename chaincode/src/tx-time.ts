import type { Context } from 'fabric-contract-api';

/**
 * The transaction's timestamp, set by the client in the proposal and identical on every endorser;
 * the local clock would differ between peers and break endorsement.
 */
export function txTimeMs(ctx: Context): number {
  const timestamp = ctx.stub.getTxTimestamp();
  return timestamp.seconds.toNumber() * 1000 + Math.floor(timestamp.nanos / 1_000_000);
}

export function txTimeIso(ctx: Context): string {
  return new Date(txTimeMs(ctx)).toISOString();
}

export function isoPlusSeconds(iso: string, seconds: number): string {
  return new Date(Date.parse(iso) + seconds * 1000).toISOString();
}
