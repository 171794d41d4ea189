import type { IncomingMessage, ServerResponse } from 'node:http';

import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { EVENTS, Server, type Upload } from '@tus/server';

import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';
import { ApiError, ForbiddenError, NotFoundApiError } from '../errors/gateway.errors';
import { toErrorBody } from '../errors/http-exception.filter';
import type { AuthenticatedRequest } from '../middleware/auth.guard';
import type { SessionUser } from '../repositories/session.repository';
import { UploadRepository, type UploadRecord } from '../repositories/upload.repository';
import type { UploadPart } from './queue.constants';
import { MetricsService } from './metrics.service';

export const UPLOAD_PATH = '/api/uploads';
const DIGEST = /^[0-9a-f]{64}$/;
/** Control, format (e.g. bidi overrides), surrogate, private-use and unassigned characters, and slashes. */
const FILENAME_REFUSED = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\uFFFD/\\]/u;
const MAX_FILENAME_BYTES = 255;

/**
 * Why a tus `filename` metadata value (base64, as sent in Upload-Metadata) is refused, or undefined when it
 * is a usable base name: valid UTF-8, 1-255 bytes, no control or invisible characters, no path.
 */
export function filenameProblem(encoded: string | undefined): string | undefined {
  if (encoded === undefined || encoded === '') return 'is missing';
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) return 'is not base64';
  const bytes = Buffer.from(encoded, 'base64');
  let name: string;
  try {
    name = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return 'is not valid UTF-8';
  }
  if (bytes.length === 0) return 'is empty';
  if (bytes.length > MAX_FILENAME_BYTES) {
    return `is ${String(bytes.length)} bytes long in UTF-8, over the limit of ${String(MAX_FILENAME_BYTES)}`;
  }
  const refused = FILENAME_REFUSED.exec(name);
  if (refused !== null) {
    const code = (refused[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
    return refused[0] === '/' || refused[0] === '\\'
      ? 'contains a slash: it must be a base name without slashes, not a path'
      : `contains the control or invisible character U+${code}`;
  }
  if (name === '.' || name === '..' || name.trim() !== name) {
    return 'is "." or "..", or starts or ends with white space';
  }
  return undefined;
}

/** The raw (still base64) value of one key of an Upload-Metadata header. */
function rawMetadata(header: string | string[] | undefined, key: string): string | undefined {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const pair of text.split(',')) {
    const [name, value] = pair.trim().split(' ');
    if (name === key) return value ?? '';
  }
  return undefined;
}

/** A refusal from a tus hook; `onResponseError` turns it into the gateway's JSON error body. */
export class UploadRefusedError extends ApiError {
  override readonly name = 'UploadRefusedError';
  readonly publicCode: string;

  constructor(status: number, publicCode: string, message: string, hint: string) {
    super(
      status,
      status === 404 ? 'NOT_FOUND' : status === 401 ? 'ACCESS_DENIED' : 'INVALID_ARGUMENT',
      message,
      {
        hint,
      },
    );
    this.publicCode = publicCode;
  }
}

function refusal(status: number, code: string, message: string, hint: string): UploadRefusedError {
  return new UploadRefusedError(status, code, message, hint);
}

export function ownerOf(user: SessionUser): string {
  return `${user.org}/${user.username}`;
}

/**
 * Resumable uploads (tus 1.0: creation, termination, resumption). Each upload is bound to the user who
 * created it, counted against a per-file and a per-user byte limit, hashed while it streams to disk, and
 * checked against the client's declared digest when it completes: a mismatch deletes it.
 */
@Injectable()
export class UploadService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(UploadService.name);
  private sweeper: NodeJS.Timeout | undefined;
  readonly server: Server;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly uploads: UploadRepository,
    private readonly metrics: MetricsService,
  ) {
    this.server = new Server({
      path: UPLOAD_PATH,
      datastore: uploads.store,
      maxSize: config.uploadMaxFileBytes,
      relativeLocation: true,
      respectForwardedHeaders: false,
      onUploadCreate: (req, res, upload) => this.onCreate(req, res, upload),
      onUploadFinish: (req, res, upload) => this.onFinish(req, res, upload),
      onIncomingRequest: (req, _res, id) => this.onIncoming(req, id),
      onResponseError: (_req, _res, error) => {
        // tus's own protocol errors are plain objects and keep their text, except the size limit, which
        // users hit and must be told what to do about; anything thrown in our hooks (a refusal, or an
        // unexpected failure) becomes the gateway's JSON error body.
        if (!(error instanceof Error)) {
          if ((error as { status_code?: unknown }).status_code !== 413) return undefined;
          return { status_code: 413, body: JSON.stringify(this.tooLargeBody()) };
        }
        const body = toErrorBody(error);
        if (error instanceof UploadRefusedError) body.code = error.publicCode;
        return { status_code: body.statusCode, body: JSON.stringify(body) };
      },
    });
    this.server.on(EVENTS.POST_TERMINATE, (req: IncomingMessage, _res: ServerResponse, id: string) => {
      const user = (req as AuthenticatedRequest).user;
      if (user !== undefined) {
        this.uploads.remove({ id, owner: ownerOf(user) }).catch((error: unknown) => {
          this.logger.warn(`Could not forget terminated upload ${id}: ${String(error)}`);
        });
      }
    });
  }

  async onModuleInit(): Promise<void> {
    await this.uploads.ensureDirectory();
    // Abandoned uploads would hold disk and quota forever; an hourly sweep removes them.
    this.sweeper = setInterval(() => {
      this.sweepExpired(new Date()).catch((error: unknown) => {
        this.logger.warn(`Sweeping expired uploads failed: ${String(error)}`);
      });
    }, 3_600_000);
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  /** Deletes unfinished uploads created more than UPLOAD_EXPIRY_HOURS before `now`; returns how many. */
  async sweepExpired(now: Date): Promise<number> {
    const cutoff = now.getTime() - this.config.uploadExpiryHours * 3_600_000;
    let removed = 0;
    for await (const id of this.uploads.allIds()) {
      const record = await this.uploads.findRecord(id);
      if (record === undefined || record.completedAt !== undefined) continue;
      if (Date.parse(record.createdAt) < cutoff) {
        await this.uploads.remove(record);
        removed += 1;
      }
    }
    if (removed > 0) this.logger.log(`Removed ${String(removed)} unfinished uploads older than the expiry`);
    return removed;
  }

  /** The 413 body for an upload over the per-file limit, in the gateway's JSON error form. */
  private tooLargeBody(): Record<string, unknown> {
    return {
      statusCode: 413,
      code: 'FILE_TOO_LARGE',
      message: `The upload is larger than the per-file limit of ${String(this.config.uploadMaxFileBytes)} bytes (UPLOAD_MAX_FILE_BYTES).`,
      hint: 'Split the data set into files under the limit (e.g. pre-split train, validation and holdout uploads), or ask an operator to raise UPLOAD_MAX_FILE_BYTES.',
    };
  }

  async handle(req: AuthenticatedRequest, res: ServerResponse): Promise<void> {
    await this.server.handle(req, res);
  }

  private userOf(req: IncomingMessage): SessionUser {
    const user = (req as AuthenticatedRequest).user;
    // The auth guard runs before every upload route; this only guards against a mis-wired route.
    if (user === undefined)
      throw refusal(401, 'UNAUTHENTICATED', 'Uploads need a session.', 'Sign in first.');
    return user;
  }

  private async onCreate(req: IncomingMessage, res: ServerResponse, upload: Upload): Promise<ServerResponse> {
    const user = this.userOf(req);
    const metadata = upload.metadata ?? {};
    const filename = metadata['filename'] ?? '';
    const digest = metadata['digest'] ?? '';
    const problem = filenameProblem(rawMetadata(req.headers['upload-metadata'], 'filename'));
    if (problem !== undefined) {
      throw refusal(
        400,
        'INVALID_FILENAME',
        `The upload's \`filename\` metadata entry ${problem}.`,
        "Set tus metadata `filename` to the file's base name: valid UTF-8, 1 to 255 bytes, without slashes, control or invisible characters (rename the file if it has any).",
      );
    }
    if (!DIGEST.test(digest)) {
      throw refusal(
        400,
        'INVALID_ARGUMENT',
        'The upload needs a `digest` metadata entry: the lowercase hex block Merkle digest of the file.',
        `Compute it with \`decenter\` or the portal (SHA-256 RFC 6962 tree over ${String(this.config.blockSize)}-byte blocks).`,
      );
    }
    if (upload.size === undefined) {
      throw refusal(
        400,
        'INVALID_ARGUMENT',
        'Deferred upload length is not accepted: the size is needed to check your quota.',
        'Send Upload-Length when creating the upload.',
      );
    }
    const owner = ownerOf(user);
    const total = await this.uploads.reserveQuota(owner, upload.id, upload.size);
    if (total > this.config.uploadMaxUserBytes) {
      await this.uploads.releaseQuota(owner, upload.id);
      throw refusal(
        413,
        'QUOTA_EXCEEDED',
        `This upload would bring your uploads to ${String(total)} bytes, over your limit of ${String(this.config.uploadMaxUserBytes)} bytes.`,
        'Delete uploads you no longer need (DELETE /api/uploads/<id>) or submit the jobs that use them.',
      );
    }
    await this.uploads.saveRecord({
      id: upload.id,
      owner,
      filename,
      size: upload.size,
      declaredDigest: digest,
      createdAt: new Date().toISOString(),
    });
    this.metrics.uploadsStarted.inc();
    return res;
  }

  private async onIncoming(req: IncomingMessage, id: string): Promise<void> {
    const user = this.userOf(req);
    // tus calls this for a creation too, with the id it is about to create: nothing to own yet.
    if (req.method === 'POST') return;
    const record = await this.uploads.findRecord(id);
    if (record === undefined) {
      throw refusal(
        404,
        'NOT_FOUND',
        `There is no upload ${id}.`,
        'Start a new upload with POST /api/uploads.',
      );
    }
    if (record.owner !== ownerOf(user)) {
      // Same answer as a missing upload: ids of other users' uploads are not confirmed to exist.
      throw refusal(
        404,
        'NOT_FOUND',
        `There is no upload ${id}.`,
        'Start a new upload with POST /api/uploads.',
      );
    }
  }

  private async onFinish(req: IncomingMessage, res: ServerResponse, upload: Upload): Promise<ServerResponse> {
    const user = this.userOf(req);
    const record = await this.uploads.findRecord(upload.id);
    if (record === undefined || record.owner !== ownerOf(user)) {
      throw refusal(404, 'NOT_FOUND', `There is no upload ${upload.id}.`, 'Start a new upload.');
    }
    const { digest, parts } = await this.uploads.digestOf(upload.id, record.size);
    if (digest !== record.declaredDigest) {
      await this.uploads.remove(record);
      this.metrics.uploadsRejected.inc({ reason: 'digest' });
      throw refusal(
        422,
        'DIGEST_MISMATCH',
        `"${record.filename}" arrived with digest ${digest} (RFC 6962 SHA-256 over ${String(this.config.blockSize)}-byte blocks), not the declared ${record.declaredDigest}; the upload was deleted.`,
        // A client hashing with another block size is refused every time: say which one this gateway uses.
        `Hash the file in ${String(this.config.blockSize)}-byte blocks (GET /api/config names the block size; current \`decenter\` and the portal read it), then upload it again; if it was already hashed so, the file changed or was corrupted on the way.`,
      );
    }
    await this.uploads.saveRecord({
      ...record,
      digest,
      partDigests: parts.map((part) => part.digest),
      completedAt: new Date().toISOString(),
    });
    this.metrics.uploadsCompleted.inc();
    this.metrics.uploadedBytes.inc(record.size);
    return res;
  }

  /** A completed upload of this user, ready to ingest. */
  async completedUpload(
    user: SessionUser,
    id: string,
  ): Promise<UploadRecord & { digest: string; path: string; parts: UploadPart[] }> {
    const record = await this.uploads.findRecord(id);
    if (record === undefined) {
      throw new NotFoundApiError(
        `There is no upload ${id}.`,
        'Upload the file first (tus, POST /api/uploads).',
      );
    }
    if (record.owner !== ownerOf(user)) {
      throw new ForbiddenError(
        `Upload ${id} belongs to someone else.`,
        'Use only uploads you made yourself.',
      );
    }
    if (record.digest === undefined) {
      throw new NotFoundApiError(
        `Upload ${id} ("${record.filename}") is not complete.`,
        'Resume the upload until it finishes, then submit again.',
      );
    }
    const paths = this.uploads.partPaths(id, record.size);
    const digests = record.partDigests ?? [];
    return {
      ...record,
      digest: record.digest,
      path: this.uploads.filePath(id),
      // Uploads completed before part digests were recorded have none: ingest then hashes their bytes again.
      parts:
        digests.length === paths.length
          ? paths.map((file, index) => ({
              path: file,
              size: Math.min(this.config.shardSize, record.size - index * this.config.shardSize),
              digest: digests[index] ?? '',
            }))
          : [],
    };
  }
}
