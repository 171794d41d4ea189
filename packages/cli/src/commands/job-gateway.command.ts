import { parseJobSpec } from '@decenter/core';
import type { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

import { CliOperationError, UsageError } from '../cli.errors';
import type { Reporter } from '../cli-output';
import type { CommandContext } from '../command-context';
import { GatewayError, type GatewayClient, type UploadProgress } from '../gateway/gateway.client';
import { forgetUploads, submitJob, waitForIngest, type SubmissionData } from '../gateway/job-submission';
import { readServerSentEvents } from '../gateway/sse.reader';
import { createProgressBar } from '../progress-bar';
import { GATEWAY_OPTION, HOME_OPTION, signedInClient } from './gateway-context';

export const TERMINAL_STATUSES = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/** A progress bar per uploaded file on a terminal, nothing otherwise. */
export function uploadProgress(reporter: Reporter): (file: string) => UploadProgress {
  return (file) => {
    let bar: ReturnType<typeof createProgressBar> | undefined;
    return (sent, total) => {
      bar ??= createProgressBar({
        total,
        label: `uploading ${file}`,
        stream: {
          write: (text: string) => {
            reporter.stderr(text);
          },
        },
        enabled: reporter.isTTY,
      });
      if (sent >= total) bar.finish();
      else bar.update(sent);
    };
  };
}

export async function readSpecFile(path: string): Promise<unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new UsageError(
      `cannot read the spec ${path}: ${(err as Error).message}`,
      'Pass a JSON job spec (see docs/users.md).',
    );
  }
  // Checked here first so a bad spec fails before any upload; the gateway checks it again.
  parseJobSpec(raw);
  return raw;
}

/** Follows the job's SSE stream, calling `onEvent` for each; ends when the job reaches a final status. */
export async function followJob(
  client: GatewayClient,
  jobId: string,
  onEvent: (event: string, data: unknown) => void,
  timeoutMs: number,
): Promise<string> {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort();
  }, timeoutMs);
  let breaks = 0;
  try {
    for (;;) {
      try {
        const status = await readUntilTerminal(client, jobId, onEvent, controller.signal);
        if (status !== undefined) return status;
      } catch (err) {
        // The gateway refused (no session, unknown job): reconnecting would not help.
        if (controller.signal.aborted || err instanceof GatewayError) throw err;
        breaks += 1;
        if (breaks > 20) throw err;
      }
      // A stream that ends or breaks (a quiet stream hits fetch's body timeout, a gateway restarts) is
      // opened again: its first event is a fresh snapshot of the job, so nothing final is missed.
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } catch (err) {
    if (controller.signal.aborted) {
      throw new CliOperationError(
        'TIMEOUT',
        `job ${jobId} did not finish within ${String(Math.round(timeoutMs / 1000))} s`,
        { hint: 'It may still be running: follow it with `decenter job watch`.', cause: err },
      );
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Reads one connection of the job's event stream; the final status, or undefined if the stream ended. */
async function readUntilTerminal(
  client: GatewayClient,
  jobId: string,
  onEvent: (event: string, data: unknown) => void,
  signal: AbortSignal,
): Promise<string | undefined> {
  const response = await client.events(jobId, signal);
  if (response.body === null) return undefined;
  for await (const { event, data } of readServerSentEvents(response.body)) {
    let parsed: unknown = data;
    try {
      parsed = JSON.parse(data);
    } catch {
      // Not JSON: pass the text along.
    }
    onEvent(event, parsed);
    let status: unknown;
    if (event === 'job') status = (parsed as { status?: unknown }).status;
    if (event === 'ledger') {
      // The event names a change; the job record says where that left the job.
      status = (
        await client.json<{ status: string }>(
          `/api/jobs/${encodeURIComponent(jobId)}`,
          `reading job ${jobId}`,
        )
      ).status;
    }
    if (typeof status === 'string' && TERMINAL_STATUSES.has(status)) return status;
  }
  return undefined;
}

function describeEvent(event: string, data: unknown): string {
  const record = (data ?? {}) as Record<string, unknown>;
  if (event === 'job') return `job ${String(record['jobId'])}: ${String(record['status'])}`;
  if (event === 'ledger')
    return `ledger: ${String(record['name'])} (block ${String(record['blockNumber'])}, tx ${String(record['transactionId']).slice(0, 12)})`;
  if (event === 'progress') {
    const metrics = Object.entries((record['metrics'] ?? {}) as Record<string, number>)
      .map(([name, value]) => `${name} ${Number(value.toFixed(4)).toString()}`)
      .join(', ');
    return `progress: ${String(record['nodeMspId'])} trial ${String(record['trialId'])} epoch ${String(record['epoch'])}/${String(record['epochs'])} ${metrics}`;
  }
  return `${event}: ${JSON.stringify(data)}`;
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new UsageError(`"${value}" is not a number of seconds`);
  return seconds;
}

/** --data, or all three of --train, --validation and --holdout: checked before anything is uploaded. */
export function submissionData(
  options: { data?: string[]; train?: string[]; validation?: string[]; holdout?: string[] },
  path: (file: string) => string,
): SubmissionData {
  const { data, train, validation, holdout } = options;
  const splits = [train, validation, holdout].filter((files) => files !== undefined);
  if (data !== undefined && splits.length === 0) return { data: data.map(path) };
  if (data === undefined && train !== undefined && validation !== undefined && holdout !== undefined) {
    return { train: train.map(path), validation: validation.map(path), holdout: holdout.map(path) };
  }
  throw new UsageError(
    data !== undefined
      ? 'give either --data (the gateway splits it) or --train, --validation and --holdout, not both'
      : splits.length === 0
        ? 'give the data: --data FILE... (the gateway splits it), or --train, --validation and --holdout'
        : 'a data set you split yourself needs all three of --train, --validation and --holdout',
    'See `decenter job submit --help`.',
  );
}

export function registerGatewayJobCommands(job: Command, context: CommandContext): void {
  job
    .command('submit')
    .description('upload the data (tus, resumable) and submit a training job through your gateway')
    .requiredOption('--spec <file>', 'the job spec (JSON)')
    .option(
      '--data <files...>',
      'the whole data set, split by the gateway (one CSV; IDX images and labels; one zip)',
    )
    .option('--train <files...>', 'or your own split: the training files (same formats as --data)')
    .option('--validation <files...>', 'with --train: the validation files')
    .option('--holdout <files...>', 'with --train: the holdout files (sealed: only validators read them)')
    .option('--pretrained <dir>', 'a folder with a TensorFlow.js model.json and its weight files')
    .option('--wait', 'wait until the ingest has put the job on the ledger')
    .option(...GATEWAY_OPTION)
    .option(...HOME_OPTION)
    .action(
      async (options: {
        spec: string;
        data?: string[];
        train?: string[];
        validation?: string[];
        holdout?: string[];
        pretrained?: string;
        wait?: boolean;
        gateway?: string;
        home?: string;
      }) => {
        const reporter = context.reporter();
        const data = submissionData(options, (file) => resolve(context.io.cwd, file));
        const { client, home } = await signedInClient(context, options);
        const spec = await readSpecFile(resolve(context.io.cwd, options.spec));
        const submitted = await submitJob(
          client,
          home,
          {
            spec,
            ...data,
            ...(options.pretrained === undefined
              ? {}
              : { pretrainedDir: resolve(context.io.cwd, options.pretrained) }),
          },
          uploadProgress(reporter),
        );
        await forgetUploads(home, submitted.uploads);
        let ingest: { state: string; txId?: string } = { state: 'queued' };
        if (options.wait === true) ingest = await waitForIngest(client, submitted.jobId, 10 * 60_000);
        reporter.result(
          {
            jobId: submitted.jobId,
            ingest: ingest.state,
            txId: ingest.txId ?? null,
            uploads: submitted.uploads.map(({ file, uploadId, size, digest, resumedFrom }) => ({
              file,
              uploadId,
              size,
              digest,
              resumedFrom,
            })),
          },
          () =>
            `Job ${submitted.jobId} submitted (ingest ${ingest.state}). Follow it with \`decenter job watch ${submitted.jobId}\`.`,
        );
      },
    );

  job
    .command('watch')
    .description('follow a job live (server-sent events: ledger events and training progress) until it ends')
    .argument('<job-id>', 'the job id')
    .option('--timeout <seconds>', 'give up after this long', parseSeconds, 3600)
    .option(...GATEWAY_OPTION)
    .option(...HOME_OPTION)
    .action(async (jobId: string, options: { timeout: number; gateway?: string; home?: string }) => {
      const reporter = context.reporter();
      const { client } = await signedInClient(context, options);
      const status = await followJob(
        client,
        jobId,
        (event, data) => {
          // One JSON object per line in --json mode, so a script can read events as they come.
          if (reporter.json) context.io.out(`${JSON.stringify({ event, data })}\n`);
          else context.io.out(`${describeEvent(event, data)}\n`);
        },
        options.timeout * 1000,
      );
      if (reporter.json) context.io.out(`${JSON.stringify({ event: 'end', data: { jobId, status } })}\n`);
      else context.io.out(`job ${jobId} ended: ${status}\n`);
      if (status !== 'COMPLETED') context.setExitCode(1);
    });
}

export function registerJobCancelCommand(job: Command, context: CommandContext): void {
  job
    .command('cancel')
    .description('cancel your job (signed by you through your gateway; only its owner may)')
    .argument('<job-id>', 'the job id')
    .option('--reason <text>', 'why, recorded on the ledger', '')
    .option(...GATEWAY_OPTION)
    .option(...HOME_OPTION)
    .action(async (jobId: string, options: { reason: string; gateway?: string; home?: string }) => {
      const reporter = context.reporter();
      const { client } = await signedInClient(context, options);
      const record = await client.json<{ jobId: string; status: string }>(
        `/api/jobs/${encodeURIComponent(jobId)}/cancel`,
        `cancelling job ${jobId}`,
        { method: 'POST', body: JSON.stringify({ reason: options.reason }) },
      );
      reporter.result(record, () => `Job ${record.jobId} is ${record.status}.`);
    });
}

interface ModelFile {
  name: string;
}

export function registerModelCommands(program: Command, context: CommandContext): void {
  const model = program.command('model').description('models selected by the consortium');
  model
    .command('download')
    .description("download a completed job's selected model (you must own the job)")
    .argument('<job-id>', 'the job id')
    .requiredOption('--out <dir>', 'folder to write model.json and its weight files into')
    .option(...GATEWAY_OPTION)
    .option(...HOME_OPTION)
    .action(async (jobId: string, options: { out: string; gateway?: string; home?: string }) => {
      const reporter = context.reporter();
      const { client } = await signedInClient(context, options);
      const out = resolve(context.io.cwd, options.out);
      await mkdir(out, { recursive: true });
      const base = `/api/jobs/${encodeURIComponent(jobId)}/model`;
      // model.json first: it names the weight files to fetch next.
      const files: { name: string; bytes: number }[] = [];
      const fetchOne = async (name: string): Promise<void> => {
        const response = await client.download(
          `${base}?name=${encodeURIComponent(name)}`,
          `downloading ${name} of ${jobId}`,
        );
        if (response.body === null) throw new CliOperationError('UNAVAILABLE', `${name} came back empty`);
        const target = join(out, name);
        await pipeline(
          Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
          createWriteStream(`${target}.part`),
        );
        await rename(`${target}.part`, target);
        files.push({ name, bytes: (await stat(target)).size });
      };
      await fetchOne('model.json');
      const manifest = JSON.parse(await readFile(join(out, 'model.json'), 'utf8')) as {
        weightsManifest?: { paths?: string[] }[];
      };
      const weights = (manifest.weightsManifest ?? []).flatMap((group) => group.paths ?? []);
      for (const name of weights) {
        if (!/^[^/\\]+$/.test(name))
          throw new CliOperationError('INTEGRITY', `model.json names an unsafe weight path "${name}"`);
        await fetchOne(name);
      }
      reporter.result({ jobId, out, files }, () =>
        [
          `Model of ${jobId} in ${out}:`,
          ...files.map(
            (file: ModelFile & { bytes: number }) => `  ${file.name} (${String(file.bytes)} bytes)`,
          ),
        ].join('\n'),
      );
    });
}
