/** Base class for every devnet failure: a stable code for callers to branch on, and the cause kept. */
export class DevnetError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DevnetError';
    this.code = code;
  }
}

/** The consortium files under $home are missing or unreadable. */
export class NetworkConfigError extends DevnetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NETWORK_CONFIG', message, options);
    this.name = 'NetworkConfigError';
  }
}

/** A request carried an identity the consortium does not know, or a signature that does not verify. */
export class AccessDeniedError extends DevnetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ACCESS_DENIED', message, options);
    this.name = 'AccessDeniedError';
  }
}

/** A request was malformed (bad protobuf, wrong channel, unknown chaincode...). */
export class InvalidRequestError extends DevnetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_REQUEST', message, options);
    this.name = 'InvalidRequestError';
  }
}

/** The chaincode process could not be started, reached, or failed while running a transaction. */
export class ChaincodeError extends DevnetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CHAINCODE', message, options);
    this.name = 'ChaincodeError';
  }
}
