import { Client, GRNToString, Long, newObjectGRN, type TxResponse } from '@bnb-chain/greenfield-js-sdk';
import {
  ActionType,
  Effect,
  PrincipalType,
} from '@bnb-chain/greenfield-cosmos-types/greenfield/permission/common';
import {
  ObjectStatus,
  RedundancyType,
  VisibilityType,
} from '@bnb-chain/greenfield-cosmos-types/greenfield/storage/common';
import { Status as SpStatus } from '@bnb-chain/greenfield-cosmos-types/greenfield/sp/types';
import type { ObjectInfo } from '@bnb-chain/greenfield-cosmos-types/greenfield/storage/types';

import type { RedundancyParams } from './checksum.pool';
import { GreenfieldChainError } from './errors';
import type { SecretKey } from './greenfield.config';
import { addressOfKey } from './sp-request.signer';

/** Storage module error codes (greenfield x/storage/types/errors.go) that mean "absent", not "failed". */
const NO_SUCH_BUCKET = 1100;
const NO_SUCH_OBJECT = 1101;
const DENOM = 'BNB';
/** Messages per transaction when deleting many objects: keeps each under the chain's gas and size limits. */
export const MAX_MSGS_PER_TX = 50;

export interface ChainObject {
  bucket: string;
  key: string;
  size: number;
  contentType: string;
  createdAt: Date;
  sealed: boolean;
  checksums: Uint8Array[];
}

export interface StorageProviderInfo {
  operatorAddress: string;
  endpoint: string;
}

/** cosmjs reports a failed ABCI query only as text: "Query failed with (<code>): <log>". */
function queryErrorCode(error: unknown): number | undefined {
  const match = /Query failed with \((\d+)\)/.exec(error instanceof Error ? error.message : String(error));
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function toChainObject(info: ObjectInfo): ChainObject {
  return {
    bucket: info.bucketName,
    key: info.objectName,
    size: info.payloadSize.toNumber(),
    contentType: info.contentType,
    createdAt: new Date(info.createAt.toNumber() * 1000),
    sealed: info.objectStatus === ObjectStatus.OBJECT_STATUS_SEALED,
    checksums: info.checksums,
  };
}

/**
 * Everything this package asks of the Greenfield chain, through the SDK: transactions are built by the SDK,
 * simulated for gas, signed with EIP-712 by the configured key and broadcast; several messages go in one
 * transaction so that an object and its policies appear together or not at all.
 */
export class GreenfieldChainClient {
  readonly address: string;
  private sending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: Client,
    private readonly key: SecretKey,
  ) {
    this.address = addressOfKey(key);
  }

  static connect(rpcUrl: string, chainId: string, key: SecretKey): GreenfieldChainClient {
    return new GreenfieldChainClient(Client.create(rpcUrl, chainId), key);
  }

  private async query<T>(what: string, run: () => Promise<T>, absentCode?: number): Promise<T | undefined> {
    try {
      return await run();
    } catch (cause) {
      if (absentCode !== undefined && queryErrorCode(cause) === absentCode) return undefined;
      throw new GreenfieldChainError(`Greenfield query ${what} failed`, { cause });
    }
  }

  /**
   * Simulates for gas, signs and broadcasts `txs` as one transaction; returns its hash once committed.
   * Sends are serialized: the SDK reads the account sequence when it assembles the transaction, so two
   * concurrent sends from this account would sign the same sequence and one would be rejected.
   */
  send(what: string, txs: readonly TxResponse[]): Promise<string> {
    const run = this.sending.then(() => this.sendNow(what, txs));
    this.sending = run.catch(() => undefined);
    return run;
  }

  private async sendNow(what: string, txs: readonly TxResponse[]): Promise<string> {
    if (txs.length === 0) throw new GreenfieldChainError(`Nothing to send for ${what}`);
    let result;
    try {
      // Reassembled here, inside the serialized section, so the sequence is read now and not when the
      // messages were built.
      const tx = await this.client.txClient.multiTx(txs.map((t) => ({ metaTxInfo: t.metaTxInfo })));
      const gas = await tx.simulate({ denom: DENOM });
      result = await tx.broadcast({
        denom: DENOM,
        gasLimit: Number(gas.gasLimit),
        gasPrice: gas.gasPrice,
        payer: this.address,
        granter: '',
        privateKey: this.key.reveal(),
      });
    } catch (cause) {
      throw new GreenfieldChainError(`Greenfield transaction ${what} failed`, { cause });
    }
    if (result.code !== 0) {
      const log = result.events.map((event) => event.type).join(', ');
      throw new GreenfieldChainError(
        `Greenfield transaction ${what} was rejected with code ${result.code}${log === '' ? '' : ` (events: ${log})`}`,
      );
    }
    return result.transactionHash;
  }

  async storageProvider(
    operatorAddress: string | undefined,
    endpoint: string | undefined,
  ): Promise<StorageProviderInfo> {
    const rpc = await this.client.queryClient.getSpQueryClient();
    if (operatorAddress !== undefined) {
      const found = await this.query('StorageProviderByOperatorAddress', () =>
        rpc.StorageProviderByOperatorAddress({ operatorAddress }),
      );
      const sp = found?.storageProvider;
      if (sp === undefined)
        throw new GreenfieldChainError(`Storage provider ${operatorAddress} is not on chain`);
      return { operatorAddress: sp.operatorAddress, endpoint: sp.endpoint };
    }
    const all = await this.query('StorageProviders', () => rpc.StorageProviders({}));
    const providers = all?.sps ?? [];
    // Never place a bucket on an SP that is joining, leaving or jailed.
    const sp =
      providers.find((p) => endpoint !== undefined && sameEndpoint(p.endpoint, endpoint)) ??
      providers.find((p) => p.status === SpStatus.STATUS_IN_SERVICE);
    if (sp === undefined) throw new GreenfieldChainError('No storage provider in service was found on chain');
    return { operatorAddress: sp.operatorAddress, endpoint: sp.endpoint };
  }

  /** Segment size and erasure-coding layout the chain expects checksums for (storage module params). */
  async redundancyParams(): Promise<RedundancyParams> {
    const rpc = await this.client.queryClient.getStorageQueryClient();
    const found = await this.query('Params', () => rpc.Params({}));
    const versioned = found?.params.versionedParams;
    if (versioned === undefined) throw new GreenfieldChainError('The chain returned no storage params');
    return {
      segmentSize: versioned.maxSegmentSize.toNumber(),
      dataShards: versioned.redundantDataChunkNum,
      parityShards: versioned.redundantParityChunkNum,
    };
  }

  async bucketExists(bucket: string): Promise<boolean> {
    const rpc = await this.client.queryClient.getStorageQueryClient();
    const found = await this.query(
      'HeadBucket',
      () => rpc.HeadBucket({ bucketName: bucket }),
      NO_SUCH_BUCKET,
    );
    return found?.bucketInfo !== undefined;
  }

  async createBucket(bucket: string, primarySpAddress: string): Promise<void> {
    const tx = await this.client.bucket.createBucket({
      bucketName: bucket,
      creator: this.address,
      visibility: VisibilityType.VISIBILITY_TYPE_PRIVATE,
      chargedReadQuota: Long.fromNumber(0),
      primarySpAddress,
      paymentAddress: this.address,
    });
    await this.send(`CreateBucket ${bucket}`, [tx]);
  }

  async headObject(bucket: string, key: string): Promise<ChainObject | undefined> {
    const rpc = await this.client.queryClient.getStorageQueryClient();
    const found = await this.query(
      'HeadObject',
      () => rpc.HeadObject({ bucketName: bucket, objectName: key }),
      NO_SUCH_OBJECT,
    );
    return found?.objectInfo === undefined ? undefined : toChainObject(found.objectInfo);
  }

  async *listObjects(bucket: string): AsyncIterable<ChainObject> {
    const rpc = await this.client.queryClient.getStorageQueryClient();
    let nextKey: Uint8Array = new Uint8Array();
    for (;;) {
      const page = await this.query('ListObjects', () =>
        rpc.ListObjects({
          bucketName: bucket,
          pagination: {
            key: nextKey,
            offset: Long.UZERO,
            limit: Long.fromNumber(500),
            countTotal: false,
            reverse: false,
          },
        }),
      );
      for (const info of page?.objectInfos ?? []) yield toChainObject(info);
      const next = page?.pagination?.nextKey;
      if (next === undefined || next.length === 0) return;
      nextKey = next;
    }
  }

  /** Whether `address` may read the object according to the chain's own permission check. */
  async canRead(bucket: string, key: string, address: string): Promise<boolean> {
    const rpc = await this.client.queryClient.getStorageQueryClient();
    const found = await this.query('VerifyPermission', () =>
      rpc.VerifyPermission({
        bucketName: bucket,
        objectName: key,
        operator: address,
        actionType: ActionType.ACTION_GET_OBJECT,
      }),
    );
    return found?.effect === Effect.EFFECT_ALLOW;
  }

  createObjectTx(bucket: string, key: string, size: number, contentType: string, checksums: Uint8Array[]) {
    return this.client.object.createObject({
      bucketName: bucket,
      objectName: key,
      creator: this.address,
      visibility: VisibilityType.VISIBILITY_TYPE_PRIVATE,
      contentType,
      payloadSize: Long.fromNumber(size),
      redundancyType: RedundancyType.REDUNDANCY_EC_TYPE,
      expectChecksums: checksums,
    });
  }

  cancelCreateObjectTx(bucket: string, key: string) {
    return this.client.object.cancelCreateObject({
      operator: this.address,
      bucketName: bucket,
      objectName: key,
    });
  }

  deleteObjectTx(bucket: string, key: string) {
    return this.client.object.deleteObject({ operator: this.address, bucketName: bucket, objectName: key });
  }

  /** One MsgPutPolicy: `reader` may get (download) exactly this object, nothing else. */
  grantReadTx(bucket: string, key: string, reader: string) {
    return this.client.storage.putPolicy({
      operator: this.address,
      resource: GRNToString(newObjectGRN(bucket, key)),
      principal: { type: PrincipalType.PRINCIPAL_TYPE_GNFD_ACCOUNT, value: reader },
      statements: [{ effect: Effect.EFFECT_ALLOW, actions: [ActionType.ACTION_GET_OBJECT], resources: [] }],
    });
  }

  revokeReadTx(bucket: string, key: string, reader: string) {
    return this.client.storage.deletePolicy({
      operator: this.address,
      resource: GRNToString(newObjectGRN(bucket, key)),
      principal: { type: PrincipalType.PRINCIPAL_TYPE_GNFD_ACCOUNT, value: reader },
    });
  }
}

function sameEndpoint(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}
