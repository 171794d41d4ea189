/** Roles carried in an identity's `role` certificate attribute and checked by the chaincode. */
export const ROLES = ['member', 'admin', 'executor', 'validator'] as const;
export type Role = (typeof ROLES)[number];

/** Who acted: the MSP (org) and the X.509 identity id Fabric derives from the certificate. */
export interface Actor {
  mspId: string;
  /** `ctx.clientIdentity.getID()`: `x509::<subject>::<issuer>`. */
  id: string;
}
