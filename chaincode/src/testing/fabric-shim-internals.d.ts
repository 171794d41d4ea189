// fabric-shim ships no types for the dispatcher that the peer runs contracts through; tests use it to
// exercise the real routing, argument conversion, ClientIdentity parsing and GetMetadata.
declare module 'fabric-shim/lib/contract-spi/chaincodefromcontract' {
  import type { ChaincodeResponse, ChaincodeStub } from 'fabric-shim-api';

  class ChaincodeFromContract {
    constructor(
      contractClasses: unknown[],
      serializers: { transaction: string; serializers: Record<string, unknown> },
      metadata?: object,
      title?: string,
      version?: string,
    );
    Invoke(stub: ChaincodeStub): Promise<ChaincodeResponse>;
  }
  export = ChaincodeFromContract;
}

declare module 'fabric-shim/lib/stub' {
  class ChaincodeStub {
    createCompositeKey(objectType: string, attributes: string[]): string;
    splitCompositeKey(compositeKey: string): { objectType: string | null; attributes: string[] };
  }
  export = ChaincodeStub;
}
