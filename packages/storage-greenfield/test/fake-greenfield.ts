/**
 * A fake of Greenfield's network for tests: a Tendermint JSON-RPC endpoint (abci_query, broadcast_tx_sync,
 * tx_search) holding just enough chain state (accounts, buckets, objects, object policies), and a storage
 * provider REST endpoint. It decodes and CHECKS what the client sends: transactions must carry a signer
 * whose key is the configured account and messages naming that account; SP requests must carry a valid
 * GNFD1-ECDSA signature by that account over the canonical request; uploaded bytes must match the
 * checksums declared in CreateObject (recomputed with node:crypto and the SDK's Reed-Solomon encoder);
 * policies must grant GET on exactly one object to exactly one account. The real network cannot run here.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import { BaseAccount } from '@bnb-chain/greenfield-cosmos-types/cosmos/auth/v1beta1/auth';
import {
  QueryAccountRequest,
  QueryAccountResponse,
} from '@bnb-chain/greenfield-cosmos-types/cosmos/auth/v1beta1/query';
import { PubKey } from '@bnb-chain/greenfield-cosmos-types/cosmos/crypto/eth/ethsecp256k1/keys';
import { SimulateResponse } from '@bnb-chain/greenfield-cosmos-types/cosmos/tx/v1beta1/service';
import { AuthInfo, TxBody, TxRaw } from '@bnb-chain/greenfield-cosmos-types/cosmos/tx/v1beta1/tx';
import {
  ActionType,
  Effect,
  PrincipalType,
} from '@bnb-chain/greenfield-cosmos-types/greenfield/permission/common';
import {
  QueryStorageProviderByOperatorAddressRequest,
  QueryStorageProviderByOperatorAddressResponse,
} from '@bnb-chain/greenfield-cosmos-types/greenfield/sp/query';
import { ObjectStatus } from '@bnb-chain/greenfield-cosmos-types/greenfield/storage/common';
import {
  QueryHeadBucketRequest,
  QueryHeadBucketResponse,
  QueryHeadObjectRequest,
  QueryHeadObjectResponse,
  QueryListObjectsRequest,
  QueryListObjectsResponse,
  QueryParamsResponse,
  QueryVerifyPermissionRequest,
  QueryVerifyPermissionResponse,
} from '@bnb-chain/greenfield-cosmos-types/greenfield/storage/query';
import {
  MsgCancelCreateObject,
  MsgCreateBucket,
  MsgCreateObject,
  MsgDeleteObject,
  MsgDeletePolicy,
  MsgPutPolicy,
} from '@bnb-chain/greenfield-cosmos-types/greenfield/storage/tx';
import { BucketInfo, ObjectInfo } from '@bnb-chain/greenfield-cosmos-types/greenfield/storage/types';
import { QuerySpOptimalGlobalVirtualGroupFamilyResponse } from '@bnb-chain/greenfield-cosmos-types/greenfield/virtualgroup/query';
import { ReedSolomon } from '@bnb-chain/reed-solomon';
import { keccak256 } from 'ethereum-cryptography/keccak';
import { secp256k1 } from 'ethereum-cryptography/secp256k1';
import Long from 'long';

import { recoverSpRequestSigner } from '../src/sp-request.signer';

export const SP_OPERATOR = '0x00000000000000000000000000000000000000a1';
const NO_SUCH_BUCKET = 1100;
const NO_SUCH_OBJECT = 1101;

interface FakeObject {
  info: ObjectInfo;
  bytes: Buffer;
  /** Accounts holding a GET_OBJECT policy on this object. */
  readers: Set<string>;
}

export interface SpRequestLog {
  method: string;
  path: string;
  query: string;
  signer: string | undefined;
  range: string | undefined;
  status: number;
}

class ChainRejection extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const lower = (address: string): string => address.toLowerCase();
const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

/** Greenfield's checksums recomputed here: integrity hash with node:crypto, piece hashes with the SDK encoder. */
export function expectedChecksums(bytes: Buffer, segmentSize: number): Buffer[] {
  if (bytes.length === 0) return Array.from({ length: 7 }, () => sha256(Buffer.alloc(0)));
  const segments: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += segmentSize) segments.push(bytes.subarray(at, at + segmentSize));
  const integrity = sha256(Buffer.concat(segments.map(sha256)));
  const pieces = new ReedSolomon(4, 2, segmentSize)
    .encode(new Uint8Array(bytes))
    .map((b64) => Buffer.from(b64, 'base64'));
  if (!pieces[0]?.equals(integrity))
    throw new Error('SDK encoder and node:crypto disagree on the integrity hash');
  return pieces;
}

export class FakeGreenfield {
  readonly buckets = new Map<string, BucketInfo>();
  readonly objects = new Map<string, FakeObject>();
  readonly txs = new Map<string, { height: number; raw: string; code: number; log: string }>();
  readonly messages: { typeUrl: string; value: unknown }[] = [];
  readonly spLog: SpRequestLog[] = [];
  /** Test switch: flip one byte of the next uploaded part, as a damaged transfer would. */
  corruptNextUpload = false;
  /** Test switch: answer 503 once to the part at this offset without keeping it, as a dropped connection. */
  dropPartAt: number | undefined;
  private readonly uploads = new Map<string, Buffer>();
  private sequence = 0;
  private height = 1;
  private rpcServer?: http.Server;
  private spServer?: http.Server;
  rpcUrl = '';
  spEndpoint = '';

  /** `segmentSize` is announced in the storage params; tests use a small one to keep erasure coding fast. */
  constructor(
    readonly account: string,
    readonly segmentSize: number,
  ) {}

  async start(): Promise<void> {
    this.rpcServer = http.createServer((req, res) => void this.handleRpc(req, res));
    this.spServer = http.createServer((req, res) => void this.handleSp(req, res));
    for (const server of [this.rpcServer, this.spServer]) {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    }
    this.rpcUrl = `http://127.0.0.1:${(this.rpcServer.address() as AddressInfo).port}`;
    this.spEndpoint = `http://127.0.0.1:${(this.spServer.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const server of [this.rpcServer, this.spServer]) {
      if (server === undefined) continue;
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    }
  }

  object(bucket: string, key: string): FakeObject | undefined {
    return this.objects.get(`${bucket}/${key}`);
  }

  // ---------------------------------------------------------------- chain: Tendermint JSON-RPC

  private async handleRpc(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = JSON.parse((await readAll(req)).toString('utf8')) as {
      id: number;
      method: string;
      params: Record<string, string>;
    };
    let result: unknown;
    try {
      result = this.rpc(body.method, body.params);
    } catch (error) {
      res.end(
        JSON.stringify({
          jsonrpc: '2.0',
          id: body.id,
          error: { code: -32603, message: String(error), data: '' },
        }),
      );
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ jsonrpc: '2.0', id: body.id, result }));
  }

  private rpc(method: string, params: Record<string, string>): unknown {
    switch (method) {
      case 'status':
        // cosmjs says "hi" with status before anything else and reads node_info.version.
        return {
          node_info: {
            id: 'ab'.repeat(20),
            listen_addr: '127.0.0.1',
            network: 'greenfield_5600-1',
            version: '0.37.4',
            channels: '40',
            moniker: 'fake-greenfield',
            other: {},
            protocol_version: { app: '0', block: '11', p2p: '8' },
          },
          sync_info: {
            latest_block_hash: 'CD'.repeat(32),
            latest_app_hash: 'EF'.repeat(32),
            latest_block_time: new Date().toISOString(),
            latest_block_height: String(this.height),
            catching_up: false,
          },
        };
      case 'abci_query': {
        const data = Buffer.from(params.data ?? '', 'hex');
        try {
          const value = this.query(params.path ?? '', data);
          return {
            response: {
              code: 0,
              log: '',
              info: '',
              index: '0',
              key: '',
              value: Buffer.from(value).toString('base64'),
              height: String(this.height),
              codespace: '',
            },
          };
        } catch (error) {
          if (!(error instanceof ChainRejection)) throw error;
          return {
            response: {
              code: error.code,
              log: error.message,
              info: '',
              index: '0',
              key: '',
              value: '',
              height: String(this.height),
              codespace: 'storage',
            },
          };
        }
      }
      case 'broadcast_tx_sync': {
        const raw = params.tx ?? '';
        const hash = createHash('sha256').update(Buffer.from(raw, 'base64')).digest('hex').toUpperCase();
        let code = 0;
        let log = '';
        try {
          this.deliver(Buffer.from(raw, 'base64'));
        } catch (error) {
          code = error instanceof ChainRejection ? error.code : 1;
          log = String(error);
        }
        this.height += 1;
        this.txs.set(hash, { height: this.height, raw, code, log });
        return { code: 0, data: '', log: '', codespace: '', hash };
      }
      case 'tx_search': {
        const hash = /tx\.hash='([0-9A-F]+)'/.exec(params.query ?? '')?.[1] ?? '';
        const tx = this.txs.get(hash);
        const txs =
          tx === undefined
            ? []
            : [
                {
                  hash,
                  height: String(tx.height),
                  index: 0,
                  tx: tx.raw,
                  tx_result: {
                    code: tx.code,
                    data: '',
                    log: tx.log,
                    info: '',
                    gas_wanted: '1200',
                    gas_used: '1200',
                    events: [],
                    codespace: '',
                  },
                },
              ];
        return { txs, total_count: String(txs.length) };
      }
      default:
        throw new Error(`fake chain: unsupported RPC method ${method}`);
    }
  }

  private query(path: string, data: Buffer): Uint8Array {
    switch (path) {
      case '/cosmos.auth.v1beta1.Query/Account': {
        const { address } = QueryAccountRequest.decode(data);
        const account = BaseAccount.encode(
          BaseAccount.fromPartial({
            address,
            accountNumber: 7,
            sequence: this.sequence,
          }),
        ).finish();
        return QueryAccountResponse.encode({
          account: { typeUrl: '/cosmos.auth.v1beta1.BaseAccount', value: account },
        }).finish();
      }
      case '/cosmos.tx.v1beta1.Service/Simulate':
        return SimulateResponse.encode(
          SimulateResponse.fromPartial({
            gasInfo: {
              gasWanted: 1200,
              gasUsed: 1200,
              minGasPrice: '5000000000BNB',
            },
            result: {},
          }),
        ).finish();
      case '/greenfield.sp.Query/StorageProviderByOperatorAddress': {
        const { operatorAddress } = QueryStorageProviderByOperatorAddressRequest.decode(data);
        if (lower(operatorAddress) !== SP_OPERATOR)
          throw new ChainRejection(1111, 'No such storage provider');
        return QueryStorageProviderByOperatorAddressResponse.encode({
          storageProvider: {
            id: 1,
            operatorAddress: SP_OPERATOR,
            endpoint: this.spEndpoint,
            status: 0,
            fundingAddress: '',
            sealAddress: '',
            approvalAddress: '',
            gcAddress: '',
            maintenanceAddress: '',
            totalDeposit: '0',
            blsKey: new Uint8Array(),
          } as never,
        }).finish();
      }
      case '/greenfield.virtualgroup.Query/QuerySpOptimalGlobalVirtualGroupFamily':
        return QuerySpOptimalGlobalVirtualGroupFamilyResponse.encode({
          globalVirtualGroupFamilyId: 3,
        }).finish();
      case '/greenfield.storage.Query/Params':
        return QueryParamsResponse.encode(
          QueryParamsResponse.fromPartial({
            params: {
              versionedParams: {
                maxSegmentSize: this.segmentSize,
                redundantDataChunkNum: 4,
                redundantParityChunkNum: 2,
                minChargeSize: 1,
              },
              maxPayloadSize: 64 << 30,
            },
          }),
        ).finish();
      case '/greenfield.storage.Query/HeadBucket': {
        const { bucketName } = QueryHeadBucketRequest.decode(data);
        const bucketInfo = this.buckets.get(bucketName);
        if (bucketInfo === undefined) throw new ChainRejection(NO_SUCH_BUCKET, 'No such bucket');
        return QueryHeadBucketResponse.encode({ bucketInfo }).finish();
      }
      case '/greenfield.storage.Query/HeadObject': {
        const { bucketName, objectName } = QueryHeadObjectRequest.decode(data);
        const found = this.object(bucketName, objectName);
        if (found === undefined) throw new ChainRejection(NO_SUCH_OBJECT, 'No such object');
        return QueryHeadObjectResponse.encode({ objectInfo: found.info }).finish();
      }
      case '/greenfield.storage.Query/ListObjects': {
        const { bucketName } = QueryListObjectsRequest.decode(data);
        if (!this.buckets.has(bucketName)) throw new ChainRejection(NO_SUCH_BUCKET, 'No such bucket');
        const objectInfos = [...this.objects.values()]
          .filter((o) => o.info.bucketName === bucketName)
          .map((o) => o.info)
          .sort((a, b) => a.objectName.localeCompare(b.objectName));
        return QueryListObjectsResponse.encode({
          objectInfos,
          pagination: { nextKey: new Uint8Array(), total: Long.fromNumber(objectInfos.length) },
        }).finish();
      }
      case '/greenfield.storage.Query/VerifyPermission': {
        const request = QueryVerifyPermissionRequest.decode(data);
        const found = this.object(request.bucketName, request.objectName);
        if (found === undefined) throw new ChainRejection(NO_SUCH_OBJECT, 'No such object');
        const operator = lower(request.operator);
        const allowed =
          request.actionType === ActionType.ACTION_GET_OBJECT &&
          (operator === lower(found.info.owner) || found.readers.has(operator));
        return QueryVerifyPermissionResponse.encode({
          effect: allowed ? Effect.EFFECT_ALLOW : Effect.EFFECT_DENY,
        }).finish();
      }
      default:
        throw new Error(`fake chain: unsupported query ${path}`);
    }
  }

  /** Checks the signer and applies every message of the transaction, all or nothing. */
  private deliver(raw: Buffer): void {
    const txRaw = TxRaw.decode(raw);
    const auth = AuthInfo.decode(txRaw.authInfoBytes);
    const signer = auth.signerInfos[0];
    if (signer?.publicKey?.typeUrl !== '/cosmos.crypto.eth.ethsecp256k1.PubKey')
      throw new ChainRejection(4, 'missing eth_secp256k1 signer');
    const compressed = PubKey.decode(signer.publicKey.value).key;
    const uncompressed = secp256k1.ProjectivePoint.fromHex(compressed).toRawBytes(false);
    const address = `0x${Buffer.from(keccak256(uncompressed.slice(1)).slice(-20)).toString('hex')}`;
    if (address !== this.account)
      throw new ChainRejection(4, `signed by ${address}, expected ${this.account}`);
    if (signer.sequence.toNumber() !== this.sequence)
      throw new ChainRejection(32, 'account sequence mismatch');
    if (txRaw.signatures.length !== 1 || txRaw.signatures[0]?.length !== 65)
      throw new ChainRejection(4, 'expected one 65-byte signature');
    const body = TxBody.decode(txRaw.bodyBytes);
    // Apply to copies so that a failing message leaves the state as it was.
    const objects = new Map([...this.objects].map(([k, v]) => [k, { ...v, readers: new Set(v.readers) }]));
    const buckets = new Map(this.buckets);
    for (const msg of body.messages) {
      this.apply(msg.typeUrl, msg.value, buckets, objects);
    }
    this.buckets.clear();
    for (const [k, v] of buckets) this.buckets.set(k, v);
    this.objects.clear();
    for (const [k, v] of objects) this.objects.set(k, v);
    this.sequence += 1;
  }

  private apply(
    typeUrl: string,
    value: Uint8Array,
    buckets: Map<string, BucketInfo>,
    objects: Map<string, FakeObject>,
  ): void {
    const own = (who: string): void => {
      if (lower(who) !== this.account) throw new ChainRejection(1107, `Access denied for ${who}`);
    };
    switch (typeUrl) {
      case '/greenfield.storage.MsgCreateBucket': {
        const msg = MsgCreateBucket.decode(value);
        own(msg.creator);
        if (lower(msg.primarySpAddress) !== SP_OPERATOR)
          throw new ChainRejection(1111, 'No such storage provider');
        if (buckets.has(msg.bucketName)) throw new ChainRejection(1104, 'Bucket already exists');
        buckets.set(
          msg.bucketName,
          BucketInfo.fromPartial({
            owner: msg.creator,
            bucketName: msg.bucketName,
            visibility: msg.visibility,
            id: String(buckets.size + 1),
            createAt: 1_700_000_000,
            paymentAddress: msg.paymentAddress,
            globalVirtualGroupFamilyId: msg.primarySpApproval?.globalVirtualGroupFamilyId ?? 0,
            chargedReadQuota: msg.chargedReadQuota.toNumber(),
          }),
        );
        this.messages.push({ typeUrl, value: msg });
        return;
      }
      case '/greenfield.storage.MsgCreateObject': {
        const msg = MsgCreateObject.decode(value);
        own(msg.creator);
        if (!buckets.has(msg.bucketName)) throw new ChainRejection(NO_SUCH_BUCKET, 'No such bucket');
        const key = `${msg.bucketName}/${msg.objectName}`;
        if (objects.has(key)) throw new ChainRejection(1105, 'Object already exists');
        if (msg.expectChecksums.length !== 7) throw new ChainRejection(1121, 'expect 7 checksums');
        const empty = msg.payloadSize.isZero();
        if (
          empty &&
          !expectedChecksums(Buffer.alloc(0), this.segmentSize).every((sum, i) =>
            sum.equals(Buffer.from(msg.expectChecksums[i] ?? [])),
          )
        ) {
          throw new ChainRejection(1121, 'wrong checksums for an empty object');
        }
        const info = ObjectInfo.fromPartial({
          owner: msg.creator,
          creator: msg.creator,
          bucketName: msg.bucketName,
          objectName: msg.objectName,
          id: String(objects.size + 1),
          payloadSize: msg.payloadSize.toNumber(),
          visibility: msg.visibility,
          contentType: msg.contentType,
          createAt: 1_700_000_000 + this.height,
          objectStatus: empty ? ObjectStatus.OBJECT_STATUS_SEALED : ObjectStatus.OBJECT_STATUS_CREATED,
          redundancyType: msg.redundancyType,
          checksums: msg.expectChecksums,
        });
        objects.set(key, { info, bytes: Buffer.alloc(0), readers: new Set() });
        this.messages.push({ typeUrl, value: msg });
        return;
      }
      case '/greenfield.storage.MsgPutPolicy': {
        const msg = MsgPutPolicy.decode(value);
        own(msg.operator);
        const target = /^grn:o::([^/]+)\/(.+)$/.exec(msg.resource);
        const found = target === null ? undefined : objects.get(`${target[1]}/${target[2]}`);
        if (found === undefined) throw new ChainRejection(NO_SUCH_OBJECT, `No such object ${msg.resource}`);
        const statement = msg.statements[0];
        if (
          msg.principal?.type !== PrincipalType.PRINCIPAL_TYPE_GNFD_ACCOUNT ||
          msg.statements.length !== 1 ||
          statement?.effect !== Effect.EFFECT_ALLOW ||
          statement.actions.length !== 1 ||
          statement.actions[0] !== ActionType.ACTION_GET_OBJECT ||
          statement.resources.length !== 0
        ) {
          throw new ChainRejection(1121, 'policy must allow GET_OBJECT on this object to one account');
        }
        found.readers.add(lower(msg.principal.value));
        this.messages.push({ typeUrl, value: msg });
        return;
      }
      case '/greenfield.storage.MsgDeletePolicy': {
        const msg = MsgDeletePolicy.decode(value);
        own(msg.operator);
        const target = /^grn:o::([^/]+)\/(.+)$/.exec(msg.resource);
        const found = target === null ? undefined : objects.get(`${target[1]}/${target[2]}`);
        if (
          found === undefined ||
          msg.principal === undefined ||
          !found.readers.delete(lower(msg.principal.value))
        )
          throw new ChainRejection(1120, 'No such Policy');
        this.messages.push({ typeUrl, value: msg });
        return;
      }
      case '/greenfield.storage.MsgDeleteObject':
      case '/greenfield.storage.MsgCancelCreateObject': {
        const msg = typeUrl.endsWith('MsgDeleteObject')
          ? MsgDeleteObject.decode(value)
          : MsgCancelCreateObject.decode(value);
        own(msg.operator);
        const key = `${msg.bucketName}/${msg.objectName}`;
        const found = objects.get(key);
        if (found === undefined) throw new ChainRejection(NO_SUCH_OBJECT, 'No such object');
        const sealed = found.info.objectStatus === ObjectStatus.OBJECT_STATUS_SEALED;
        // The chain only deletes sealed objects and only cancels unsealed ones.
        if (sealed !== typeUrl.endsWith('MsgDeleteObject'))
          throw new ChainRejection(1113, 'Object not sealed / already sealed');
        objects.delete(key);
        this.uploads.delete(key);
        this.messages.push({ typeUrl, value: msg });
        return;
      }
      default:
        throw new ChainRejection(2, `fake chain: unsupported message ${typeUrl}`);
    }
  }

  // ---------------------------------------------------------------- storage provider REST

  private async handleSp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sp');
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const bucket = host.endsWith('.127.0.0.1') ? host.slice(0, -'.127.0.0.1'.length) : '';
    const key = decodeURIComponent(url.pathname.slice(1));
    const query = url.search.slice(1);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers))
      if (typeof value === 'string') headers[name] = value;
    const signer = recoverSpRequestSigner(
      { method: req.method ?? '', path: url.pathname, query, hostname: host, headers },
      headers.authorization ?? '',
    );
    const entry: SpRequestLog = {
      method: req.method ?? '',
      path: url.pathname,
      query,
      signer,
      range: headers.range,
      status: 0,
    };
    this.spLog.push(entry);
    const reply = (status: number, body: string | Buffer = '', extra: Record<string, string> = {}): void => {
      entry.status = status;
      res.writeHead(status, extra);
      res.end(body);
    };
    const fail = (status: number, code: string, message: string): void => {
      reply(status, `<Error><Code>${code}</Code><Message>${message}</Message></Error>`, {
        'content-type': 'application/xml',
      });
    };
    const body = await readAll(req);
    const expiry = Date.parse(headers['x-gnfd-expiry-timestamp'] ?? '');
    if (signer !== this.account || Number.isNaN(expiry) || expiry < Date.now()) {
      fail(401, 'InvalidSignature', 'request is not signed by the bucket owner or has expired');
      return;
    }
    const found = this.object(bucket, key);
    if (found === undefined) {
      fail(404, 'NoSuchObject', 'no such object');
      return;
    }
    const uploadKey = `${bucket}/${key}`;
    if (req.method === 'GET' && url.searchParams.has('upload-context')) {
      const offset = this.uploads.get(uploadKey)?.length ?? 0;
      reply(200, `<QueryResumeOffset><Offset>${offset}</Offset></QueryResumeOffset>`, {
        'content-type': 'application/xml',
      });
      return;
    }
    if (req.method === 'POST') {
      if (found.info.objectStatus !== ObjectStatus.OBJECT_STATUS_CREATED) {
        fail(400, 'ObjectSealed', 'object is already sealed');
        return;
      }
      const received = this.uploads.get(uploadKey) ?? Buffer.alloc(0);
      if (Number(url.searchParams.get('offset')) !== received.length) {
        fail(400, 'InvalidOffset', `expected offset ${received.length}`);
        return;
      }
      if (this.dropPartAt === received.length) {
        this.dropPartAt = undefined;
        fail(503, 'ServiceUnavailable', 'connection dropped');
        return;
      }
      const part = Buffer.from(body);
      if (this.corruptNextUpload && part.length > 0) {
        this.corruptNextUpload = false;
        part[0] = (part[0]! + 1) % 256;
      }
      const all = Buffer.concat([received, part]);
      this.uploads.set(uploadKey, all);
      if (url.searchParams.get('complete') === 'true') {
        this.uploads.delete(uploadKey);
        const sums = expectedChecksums(all, this.segmentSize);
        const declared = found.info.checksums.map((sum) => Buffer.from(sum));
        if (
          all.length !== found.info.payloadSize.toNumber() ||
          !sums.every((sum, i) => declared[i]?.equals(sum) === true)
        ) {
          fail(400, 'InvalidChecksum', 'uploaded bytes do not match the checksums on chain');
          return;
        }
        found.bytes = all;
        // The real SP seals through a transaction once secondaries hold the pieces; here it is immediate.
        found.info.objectStatus = ObjectStatus.OBJECT_STATUS_SEALED;
      }
      reply(200);
      return;
    }
    if (req.method === 'GET') {
      if (found.info.objectStatus !== ObjectStatus.OBJECT_STATUS_SEALED) {
        fail(404, 'NoSuchObject', 'object is not sealed');
        return;
      }
      const range = /^bytes=(\d+)-(\d+)$/.exec(headers.range ?? '');
      if (range === null) {
        reply(200, found.bytes);
        return;
      }
      const start = Number(range[1]);
      const end = Number(range[2]);
      reply(206, found.bytes.subarray(start, end + 1), {
        'content-range': `bytes ${start}-${end}/${found.bytes.length}`,
      });
      return;
    }
    fail(405, 'MethodNotAllowed', `${req.method ?? ''} is not supported`);
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}
