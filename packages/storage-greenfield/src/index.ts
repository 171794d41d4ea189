export * from './errors';
export * from './greenfield.config';
export * from './account-map';
export * from './checksum.pool';
export * from './greenfield-chain.client';
export * from './storage-provider.client';
export * from './greenfield.backend';
export * from './sp-request.signer';
