// The package ships ambient declarations that do not compile (default values in a declaration, a typo'd
// type); this is the part of its CommonJS API that this package and its tests use.
declare module '@bnb-chain/reed-solomon' {
  export interface EncodeShard {
    index: number;
    segChecksum: Uint8Array;
    encodeDataHash: Uint8Array[];
  }
  export class ReedSolomon {
    constructor(dataShards?: number, parityShards?: number, segmentSize?: number);
    encodeSegment(data: Uint8Array): Uint8Array[];
    encode(data: Uint8Array): string[];
    getEncodeShard(chunk: Uint8Array, index: number): EncodeShard;
    getChecksumsByEncodeShards(encodeShards: EncodeShard[]): string[];
  }
}
