// The SDK's package.json points CommonJS consumers at a glob ("./dist/cjs/types/**.d.ts") that TypeScript
// cannot resolve, and its ESM declarations import through unresolvable "@/..." aliases. These are the
// parts of its CommonJS API this package calls, typed from the SDK's own declarations (2.2.x).
declare module '@bnb-chain/greenfield-js-sdk' {
  import type { DeliverTxResponse } from '@cosmjs/stargate';
  import type { QueryClientImpl as StorageQueryClient } from '@bnb-chain/greenfield-cosmos-types/greenfield/storage/query';
  import type {
    MsgCancelCreateObject,
    MsgCreateBucket,
    MsgCreateObject,
    MsgDeleteObject,
    MsgDeletePolicy,
    MsgPutPolicy,
  } from '@bnb-chain/greenfield-cosmos-types/greenfield/storage/tx';
  import type { QueryClientImpl as SpQueryClient } from '@bnb-chain/greenfield-cosmos-types/greenfield/sp/query';
  import type LongType from 'long';

  export const Long: typeof LongType;

  export interface SimulateOptions {
    denom: string;
  }
  export interface ISimulateGasFee {
    gasLimit: bigint;
    gasPrice: string;
    gasFee: string;
  }
  export interface BroadcastOptions {
    denom: string;
    gasLimit: number;
    gasPrice: string;
    payer: string;
    granter: string;
    privateKey?: string;
  }
  export interface MetaTxInfo {
    typeUrl: string;
    address: string;
    MsgSDKTypeEIP712: object;
    MsgSDK: object;
    msgBytes: Uint8Array;
    bodyBytes: Uint8Array;
  }
  export interface TxResponse {
    simulate(opts: SimulateOptions): Promise<ISimulateGasFee>;
    broadcast(opts: BroadcastOptions): Promise<DeliverTxResponse>;
    metaTxInfo: MetaTxInfo;
  }

  export interface ReqMeta {
    contentSHA256: string;
    txnHash?: string;
    method: string;
    url: { hostname: string; query: string; path: string };
    contentType?: string;
  }
  export type AuthType = { type: 'ECDSA'; privateKey: string };

  export class Client {
    static create(rpcUrl: string, chainId: string): Client;
    bucket: {
      createBucket(msg: Omit<MsgCreateBucket, 'primarySpApproval'>): Promise<TxResponse>;
    };
    object: {
      createObject(msg: Omit<MsgCreateObject, 'primarySpApproval'>): Promise<TxResponse>;
      deleteObject(msg: MsgDeleteObject): Promise<TxResponse>;
      cancelCreateObject(msg: MsgCancelCreateObject): Promise<TxResponse>;
    };
    storage: {
      putPolicy(msg: MsgPutPolicy): Promise<TxResponse>;
      deletePolicy(msg: MsgDeletePolicy): Promise<TxResponse>;
    };
    txClient: {
      multiTx(txs: Pick<TxResponse, 'metaTxInfo'>[]): Promise<Omit<TxResponse, 'metaTxInfo'>>;
    };
    queryClient: {
      getStorageQueryClient(): Promise<StorageQueryClient>;
      getSpQueryClient(): Promise<SpQueryClient>;
    };
    spClient: {
      signHeaders(reqMeta: Partial<ReqMeta>, authType: AuthType): Promise<Headers>;
    };
  }

  export function GRNToString(grn: unknown): string;
  export function newObjectGRN(bucketName: string, objectName: string): unknown;
  export function encodePath(pathName: string): string;
  export const EMPTY_STRING_SHA256: string;
}
