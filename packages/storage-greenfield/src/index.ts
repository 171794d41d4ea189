export * from './errors';
export * from './greenfield.config';
export * from './account-map';
export * from './checksum.pool';
export * from './sp-request.signer';
