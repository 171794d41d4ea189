import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { Inject, Injectable } from '@nestjs/common';
import { canonicalJson, checkTopology, type JobSpec, type ObjectRole } from '@decenter/core';
import {
  assignIdxSplits,
  checkIdxPair,
  DataError,
  idxSplitSizes,
  profileCsv,
  profileImageZip,
  splitCsv,
  splitIdxPair,
  splitImageZip,
  type IdxSource,
  type SplitName,
} from '@decenter/data';
import { joinFiles } from '@decenter/storage';

import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';

/** A data file as uploaded: its part files on disk (in order), its size and the name the user knows it by. */
export interface DatasetInput {
  paths: string[];
  size: number;
  filename: string;
}

export type SplitRole = Extract<ObjectRole, 'train' | 'validation' | 'holdout'>;

/** One object of the job's data: where it goes, and what is known of it before it is written. */
export interface SplitTarget {
  /** Object name in the job's folder, e.g. `data/train.csv`. */
  name: string;
  role: SplitRole;
  contentType: string;
  /** Bytes, when known before it is written (IDX), so a single part keeps the plain name. */
  size?: number;
}

/** Opens the storage writer of one output; ingest streams each split straight into storage with it. */
export type OpenTarget = (target: SplitTarget) => Writable;

/** Records in each object written, by object name (CSV counts are known only once it is split). */
export type RecordCounts = Record<string, number>;

/** A data file a user split: which object it becomes, and how many records it holds. */
export interface PreSplitFile {
  input: DatasetInput;
  target: SplitTarget;
  records: number;
}

const SPLITS: readonly SplitName[] = ['train', 'validation', 'holdout'];
/** model.json files are small (weights live beside them); a bigger one is not a layers model. */
const MAX_MODEL_JSON_BYTES = 32 * 1024 * 1024;
/** Side length images are decoded at to check them when the spec names none (any size proves they decode). */
const CHECK_IMAGE_SIZE = 32;
const OCTETS = 'application/octet-stream';

function source(input: DatasetInput): IdxSource {
  return { file: input.filename, open: (chunkSize) => joinFiles(input.paths, chunkSize) };
}

function names(inputs: readonly DatasetInput[]): string {
  return inputs.map((i) => i.filename).join(', ') || '(none)';
}

/**
 * Validates uploaded data against the spec and either splits it (seeded, stratified, with @decenter/data)
 * straight into storage writers the caller opens, in one pass over the bytes where the format allows, or,
 * for data the user split, checks each split and says which object each file becomes.
 */
@Injectable()
export class DatasetRepository {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  scratchDir(jobId: string): string {
    return path.join(this.config.storageDir, 'ingest', jobId);
  }

  /** Writes a JSON document (canonical form given by the caller) to the scratch folder; returns its path. */
  async writeScratchJson(jobId: string, name: string, value: unknown): Promise<string> {
    const dir = this.scratchDir(jobId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, name);
    await writeFile(file, canonicalJson(value), { mode: 0o600 });
    return file;
  }

  async removeScratch(jobId: string): Promise<void> {
    await rm(this.scratchDir(jobId), { recursive: true, force: true });
  }

  /** Validates the data set and streams its seeded split into `open`'s writers; returns the record counts. */
  async validateAndSplit(
    jobId: string,
    spec: JobSpec,
    inputs: readonly DatasetInput[],
    open: OpenTarget,
  ): Promise<RecordCounts> {
    switch (spec.data.format) {
      case 'csv':
        return this.csv(spec, inputs, open);
      case 'idx':
        return this.idx(spec, inputs, open);
      case 'image-zip':
        return this.imageZip(jobId, spec, inputs, open);
    }
  }

  /**
   * Checks data a user split (each split's files as the format needs: one CSV, an IDX pair, one archive)
   * without rewriting it: CSV rows and archive entries are read once, IDX only by headers and labels.
   */
  async checkPreSplit(
    jobId: string,
    spec: JobSpec,
    inputs: Readonly<Record<SplitName, readonly DatasetInput[]>>,
  ): Promise<PreSplitFile[]> {
    const files: PreSplitFile[] = [];
    for (const split of SPLITS) {
      const given = inputs[split];
      switch (spec.data.format) {
        case 'csv': {
          const input = single(given, 'a csv job takes one CSV file per split', split);
          const profile = await profileCsv(Readable.from(joinFiles(input.paths)), {
            file: input.filename,
            data: spec.data,
            task: spec.task,
          });
          files.push({ input, target: csvTarget(split), records: profile.rows });
          break;
        }
        case 'idx': {
          const [a, b] = given;
          if (given.length !== 2 || a === undefined || b === undefined) {
            throw new DataError({ file: names(given) }, `the ${split} split of an idx job is two files`, {
              hint: `Upload the ${split} images (idx3) and labels (idx1) of the same records.`,
            });
          }
          const sources = [source(a), source(b)] as const;
          const check = await checkIdxPair(sources, { sizes: [a.size, b.size] });
          const images = check.imagesSource === sources[0] ? a : b;
          const labels = images === a ? b : a;
          files.push({ input: images, target: idxTarget(split, 'images'), records: check.records });
          files.push({ input: labels, target: idxTarget(split, 'labels'), records: check.records });
          break;
        }
        case 'image-zip': {
          const input = single(given, 'an image-zip job takes one archive per split', split);
          const archive = await this.singleFile(jobId, input);
          const profile = await profileImageZip(archive, {
            file: input.filename,
            imageSize: spec.data.imageSize ?? CHECK_IMAGE_SIZE,
            channels: 1,
          });
          files.push({ input, target: zipTarget(split), records: profile.images });
          break;
        }
      }
    }
    return files;
  }

  /**
   * A pre-trained model is a TensorFlow.js layers `model.json` plus the weight files its weightsManifest
   * names. Nothing uploaded is executed: the topology must use only allowed layer classes (no Lambda),
   * and every weight file it names must be among the uploads.
   */
  async checkPretrained(inputs: readonly DatasetInput[]): Promise<void> {
    if (inputs.length === 0) return;
    const models = inputs.filter((input) => input.filename.toLowerCase() === 'model.json');
    const [model] = models;
    if (model === undefined || models.length > 1) {
      throw new DataError(
        { file: inputs.map((input) => input.filename).join(', ') },
        'a pre-trained model needs exactly one model.json among its files',
        { hint: 'Upload the model.json written by tf.LayersModel.save() and its weight files.' },
      );
    }
    if (model.size > MAX_MODEL_JSON_BYTES) {
      throw new DataError({ file: model.filename }, `is over ${String(MAX_MODEL_JSON_BYTES)} bytes`, {
        hint: 'Save the weights in separate .bin files (the default of tf.LayersModel.save()).',
      });
    }
    let json: unknown;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of joinFiles(model.paths)) chunks.push(chunk);
      json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (error) {
      throw new DataError({ file: model.filename }, 'is not valid JSON', { cause: error });
    }
    const document = (json ?? {}) as { modelTopology?: unknown; weightsManifest?: unknown };
    const issues = checkTopology(document.modelTopology, 'modelTopology');
    if (issues.length > 0) {
      throw new DataError(
        { file: model.filename },
        `its topology is refused: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
        {
          hint: 'Use only the allowed layer classes (docs/users.md); Lambda layers carry code and are refused.',
        },
      );
    }
    const names = new Set(inputs.map((input) => input.filename));
    for (const group of Array.isArray(document.weightsManifest)
      ? (document.weightsManifest as unknown[])
      : []) {
      const paths = (group as { paths?: unknown }).paths;
      for (const weightPath of Array.isArray(paths) ? (paths as unknown[]) : []) {
        if (typeof weightPath !== 'string' || !names.has(weightPath)) {
          throw new DataError(
            { file: model.filename },
            `its weightsManifest names ${JSON.stringify(weightPath)}, which is not among the uploaded files`,
            { hint: 'Upload every weight file model.json names, under the same file name.' },
          );
        }
      }
    }
  }

  private async csv(spec: JobSpec, inputs: readonly DatasetInput[], open: OpenTarget): Promise<RecordCounts> {
    const input = single(
      inputs,
      'a csv job takes exactly one data file',
      undefined,
      'Put all rows in one CSV file; the gateway splits it into train, validation and holdout.',
    );
    const options = { file: input.filename, data: spec.data, task: spec.task };
    // Validates every row (header against the spec, types, ragged rows, encodings) before anything is written.
    await profileCsv(Readable.from(joinFiles(input.paths)), options);
    const streams = openSplits(SPLITS.map(csvTarget), open);
    const counts = await splitCsv(Readable.from(joinFiles(input.paths)), options, streams.byRole());
    return streams.records(counts);
  }

  private async idx(spec: JobSpec, inputs: readonly DatasetInput[], open: OpenTarget): Promise<RecordCounts> {
    const [a, b] = inputs;
    if (inputs.length !== 2 || a === undefined || b === undefined) {
      throw new DataError({ file: names(inputs) }, 'an idx job takes two files: the images and the labels', {
        hint: 'Upload e.g. train-images-idx3-ubyte and train-labels-idx1-ubyte, plain or gzipped.',
      });
    }
    // Headers and labels only: the images are read once, by the split itself.
    const check = await checkIdxPair([source(a), source(b)], { sizes: [a.size, b.size] });
    const split = assignIdxSplits(check, { ratios: spec.data.split, seed: spec.data.splitSeed });
    const sizes = idxSplitSizes(check, split.counts);
    const targets = SPLITS.flatMap((role) => [
      { ...idxTarget(role, 'images'), size: sizes[role].images },
      { ...idxTarget(role, 'labels'), size: sizes[role].labels },
    ]);
    const streams = targets.map((target) => open(target));
    const outputs = Object.fromEntries(
      SPLITS.map((role, i) => [
        role,
        { images: streams[2 * i] as Writable, labels: streams[2 * i + 1] as Writable },
      ]),
    ) as Record<SplitName, { images: Writable; labels: Writable }>;
    await splitIdxPair(check, split, outputs);
    return Object.fromEntries(targets.map((target) => [target.name, split.counts[target.role]]));
  }

  /**
   * An image archive (class_name/image.png entries) becomes three archives, data/<split>.zip, so that the
   * holdout's images can be sealed apart from the training data. Every entry is checked (zip slip, links,
   * bombs) and decoded once before anything is written.
   */
  private async imageZip(
    jobId: string,
    spec: JobSpec,
    inputs: readonly DatasetInput[],
    open: OpenTarget,
  ): Promise<RecordCounts> {
    const input = single(
      inputs,
      'an image-zip job takes exactly one archive',
      undefined,
      'Put every image in one zip archive, one folder per class: class_name/image.png.',
    );
    const file = input.filename;
    const archive = await this.singleFile(jobId, input);
    await profileImageZip(archive, { file, imageSize: spec.data.imageSize ?? CHECK_IMAGE_SIZE, channels: 1 });
    const streams = openSplits(SPLITS.map(zipTarget), open);
    const counts = await splitImageZip(
      archive,
      { file, ratios: spec.data.split, seed: spec.data.splitSeed },
      streams.byRole(),
    );
    return streams.records(counts);
  }

  /** A zip archive is read at random: an upload stored in several parts is joined in the scratch folder. */
  private async singleFile(jobId: string, input: DatasetInput): Promise<string> {
    const [first, ...more] = input.paths;
    if (first !== undefined && more.length === 0) return first;
    const dir = this.scratchDir(jobId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const joined = path.join(dir, `joined-${String(Date.now())}-${path.basename(first ?? 'upload')}`);
    await pipeline(Readable.from(joinFiles(input.paths)), createWriteStream(joined, { mode: 0o600 }));
    return joined;
  }
}

function single(
  inputs: readonly DatasetInput[],
  problem: string,
  split: SplitName | undefined,
  hint = 'Name one upload per split.',
): DatasetInput {
  const [input, ...extra] = inputs;
  if (input === undefined || extra.length > 0) {
    throw new DataError(
      { file: names(inputs) },
      `${problem}${split === undefined ? '' : ` (the ${split} split)`}, got ${String(inputs.length)}`,
      { hint },
    );
  }
  return input;
}

function csvTarget(role: SplitRole): SplitTarget {
  return { name: `data/${role}.csv`, role, contentType: 'text/csv' };
}

function idxTarget(role: SplitRole, kind: 'images' | 'labels'): SplitTarget {
  return { name: `data/${role}-${kind}.idx`, role, contentType: OCTETS };
}

function zipTarget(role: SplitRole): SplitTarget {
  return { name: `data/${role}.zip`, role, contentType: 'application/zip' };
}

/** One writer per split (in SPLITS order), and the record counts by object name once split. */
function openSplits(
  targets: readonly SplitTarget[],
  open: OpenTarget,
): {
  byRole: () => Record<SplitName, Writable>;
  records: (counts: Record<SplitName, number>) => RecordCounts;
} {
  const streams = targets.map((target) => open(target));
  return {
    byRole: () =>
      Object.fromEntries(targets.map((t, i) => [t.role, streams[i]])) as Record<SplitName, Writable>,
    records: (counts) => Object.fromEntries(targets.map((t) => [t.name, counts[t.role]])),
  };
}
