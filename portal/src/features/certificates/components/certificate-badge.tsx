import type { CertificateRole } from '@decenter/core';

const LOOK: Record<CertificateRole, { color: string; label: string; symbol: string }> = {
  owner: { color: '#1d4ed8', label: 'Job owner', symbol: 'O' },
  trainer: { color: '#047857', label: 'Trainer', symbol: 'T' },
  'winning-trainer': { color: '#92400e', label: 'Winning trainer', symbol: '★' },
  validator: { color: '#6d28d9', label: 'Validator', symbol: 'V' },
  'data-contributor': { color: '#0e7490', label: 'Data contributor', symbol: 'D' },
};

export function roleLabel(role: CertificateRole): string {
  return LOOK[role].label;
}

/** A badge drawn per role: a shield with the role's mark, struck through when revoked. */
export function CertificateBadge({
  role,
  revoked,
  size = 88,
}: {
  role: CertificateRole;
  revoked: boolean;
  size?: number;
}) {
  const look = LOOK[role];
  const color = revoked ? '#6b7280' : look.color;
  return (
    <svg
      width={size}
      height={size}
      viewBox="0 0 100 100"
      role="img"
      aria-label={`${look.label} certificate badge${revoked ? ' (revoked)' : ''}`}
    >
      <path d="M50 4 L90 18 V48 C90 72 72 88 50 96 C28 88 10 72 10 48 V18 Z" fill={color} />
      <path
        d="M50 12 L82 23 V48 C82 67 68 80 50 87 C32 80 18 67 18 48 V23 Z"
        fill="none"
        stroke="#ffffff"
        strokeWidth="2"
      />
      <text x="50" y="60" textAnchor="middle" fontSize="34" fontWeight="700" fill="#ffffff">
        {look.symbol}
      </text>
      {revoked && <line x1="14" y1="86" x2="86" y2="14" stroke="#b91c1c" strokeWidth="8" />}
    </svg>
  );
}
