import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

import { Inject, Injectable } from '@nestjs/common';
import { canonicalJson, checkTopology, type JobSpec, type ObjectRole } from '@decenter/core';
import {
  DataError,
  profileCsv,
  profileIdx,
  profileImageZip,
  splitCsv,
  splitIdx,
  splitImageZip,
  type SplitName,
} from '@decenter/data';

import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';

/** A data file as uploaded: where it is on disk and the name the user knows it by. */
export interface DatasetInput {
  path: string;
  filename: string;
}

/** One output of the split, ready to store. */
export interface SplitOutput {
  /** Object name in the job's folder, e.g. `data/train.csv`. */
  name: string;
  role: Extract<ObjectRole, 'train' | 'validation' | 'holdout'>;
  path: string;
  contentType: string;
  records: number;
}

const SPLITS: readonly SplitName[] = ['train', 'validation', 'holdout'];
/** model.json files are small (weights live beside them); a bigger one is not a layers model. */
const MAX_MODEL_JSON_BYTES = 32 * 1024 * 1024;

/**
 * Validates uploaded data against the spec and splits it (seeded, stratified) with @decenter/data, writing
 * the three splits to a scratch folder under STORAGE_DIR/ingest/<jobId>/ that the caller removes.
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

  async validateAndSplit(
    jobId: string,
    spec: JobSpec,
    inputs: readonly DatasetInput[],
  ): Promise<SplitOutput[]> {
    const dir = this.scratchDir(jobId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    switch (spec.data.format) {
      case 'csv':
        return this.csv(dir, spec, inputs);
      case 'idx':
        return this.idx(dir, spec, inputs);
      case 'image-zip':
        return this.imageZip(dir, spec, inputs);
    }
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
    if ((await stat(model.path)).size > MAX_MODEL_JSON_BYTES) {
      throw new DataError({ file: model.filename }, `is over ${String(MAX_MODEL_JSON_BYTES)} bytes`, {
        hint: 'Save the weights in separate .bin files (the default of tf.LayersModel.save()).',
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(await readFile(model.path, 'utf8'));
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

  private async csv(dir: string, spec: JobSpec, inputs: readonly DatasetInput[]): Promise<SplitOutput[]> {
    const [input, ...extra] = inputs;
    if (input === undefined || extra.length > 0) {
      throw new DataError(
        { file: inputs.map((i) => i.filename).join(', ') || '(none)' },
        `a csv job takes exactly one data file, got ${String(inputs.length)}`,
        { hint: 'Put all rows in one CSV file; the gateway splits it into train, validation and holdout.' },
      );
    }
    const options = { file: input.filename, data: spec.data, task: spec.task };
    // Validates every row (header against the spec, types, ragged rows, encodings) before anything is written.
    await profileCsv(createReadStream(input.path), options);
    const files = Object.fromEntries(
      SPLITS.map((split) => [split, path.join(dir, `${split}.csv`)]),
    ) as Record<SplitName, string>;
    const outputs = openAll(files);
    let counts;
    try {
      counts = await splitCsv(createReadStream(input.path), options, outputs.streams);
      await outputs.closed();
    } catch (error) {
      outputs.abort();
      throw error;
    }
    return SPLITS.map((split) => ({
      name: `data/${split}.csv`,
      role: split,
      path: files[split],
      contentType: 'text/csv',
      records: counts[split],
    }));
  }

  private async idx(dir: string, spec: JobSpec, inputs: readonly DatasetInput[]): Promise<SplitOutput[]> {
    const labels = inputs.filter((input) => /label/i.test(input.filename));
    const images = inputs.filter((input) => !/label/i.test(input.filename));
    const [labelFile] = labels;
    const [imageFile] = images;
    if (inputs.length !== 2 || labelFile === undefined || imageFile === undefined) {
      throw new DataError(
        { file: inputs.map((i) => i.filename).join(', ') || '(none)' },
        'an idx job takes two files: the images and the labels (whose file name contains "label")',
        { hint: 'Upload e.g. train-images-idx3-ubyte and train-labels-idx1-ubyte, plain or gzipped.' },
      );
    }
    const pair = { images: imageFile.path, labels: labelFile.path };
    const names = { images: imageFile.filename, labels: labelFile.filename };
    await profileIdx(pair, { files: names });
    const files = Object.fromEntries(
      SPLITS.flatMap((split) => [
        [`${split}-images`, path.join(dir, `${split}-images.idx`)],
        [`${split}-labels`, path.join(dir, `${split}-labels.idx`)],
      ]),
    );
    const outputs = openAll(files);
    let counts;
    try {
      counts = await splitIdx(
        pair,
        { files: names, ratios: spec.data.split, seed: spec.data.splitSeed },
        Object.fromEntries(
          SPLITS.map((split) => [
            split,
            { images: outputs.streams[`${split}-images`], labels: outputs.streams[`${split}-labels`] },
          ]),
        ) as Record<SplitName, { images: Writable; labels: Writable }>,
      );
      await outputs.closed();
    } catch (error) {
      outputs.abort();
      throw error;
    }
    return SPLITS.flatMap((split) =>
      (['images', 'labels'] as const).map((kind) => ({
        name: `data/${split}-${kind}.idx`,
        role: split,
        path: files[`${split}-${kind}`] ?? '',
        contentType: 'application/octet-stream',
        records: counts[split],
      })),
    );
  }

  /**
   * An image archive (class_name/image.png entries) becomes three archives, data/<split>.zip, so that the
   * holdout's images can be sealed apart from the training data. Every entry is checked (zip slip, links,
   * bombs) and decoded once before anything is written.
   */
  private async imageZip(
    dir: string,
    spec: JobSpec,
    inputs: readonly DatasetInput[],
  ): Promise<SplitOutput[]> {
    const [input, ...extra] = inputs;
    if (input === undefined || extra.length > 0) {
      throw new DataError(
        { file: inputs.map((i) => i.filename).join(', ') || '(none)' },
        `an image-zip job takes exactly one archive, got ${String(inputs.length)}`,
        { hint: 'Put every image in one zip archive, one folder per class: class_name/image.png.' },
      );
    }
    const file = input.filename;
    await profileImageZip(input.path, {
      file,
      imageSize: spec.data.imageSize ?? CHECK_IMAGE_SIZE,
      channels: 1,
    });
    const files = Object.fromEntries(
      SPLITS.map((split) => [split, path.join(dir, `${split}.zip`)]),
    ) as Record<SplitName, string>;
    const outputs = openAll(files);
    let counts;
    try {
      counts = await splitImageZip(
        input.path,
        { file, ratios: spec.data.split, seed: spec.data.splitSeed },
        outputs.streams,
      );
      await outputs.closed();
    } catch (error) {
      outputs.abort();
      throw error;
    }
    return SPLITS.map((split) => ({
      name: `data/${split}.zip`,
      role: split,
      path: files[split],
      contentType: 'application/zip',
      records: counts[split],
    }));
  }
}

/** Side length images are decoded at to check them when the spec names none (any size proves they decode). */
const CHECK_IMAGE_SIZE = 32;

function openAll<K extends string>(
  files: Record<K, string>,
): {
  streams: Record<K, Writable>;
  closed: () => Promise<void>;
  abort: () => void;
} {
  const streams = Object.fromEntries(
    Object.entries<string>(files).map(([key, file]) => [key, createWriteStream(file, { mode: 0o600 })]),
  ) as unknown as Record<K, Writable>;
  return {
    streams,
    closed: async () => {
      await Promise.all(Object.values<Writable>(streams).map((stream) => finished(stream)));
    },
    abort: () => {
      for (const stream of Object.values<Writable>(streams)) stream.destroy();
    },
  };
}
