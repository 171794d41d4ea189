const TONES: Record<string, string> = {
  OPEN: 'info',
  TRAINING: 'active',
  VALIDATING: 'active',
  COMPLETED: 'success',
  FAILED: 'danger',
  CANCELLED: 'muted',
  CLAIMED: 'active',
  COMMITTED: 'success',
  VALID: 'success',
  REVOKED: 'danger',
};

/** A status as text plus colour; the text alone carries the meaning, so it stays readable without colour. */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${TONES[status] ?? 'muted'}`}>{status}</span>;
}
