import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { parseJobSpec } from '@decenter/core';
import { initBackend, type DataSource } from '@decenter/ml';

import { trainingSource, type TrainingSourceOptions } from '../src/replay.source';
import { fitEncoding, IRIS_SPEC, writeIrisFiles } from './support/candidate.fixture';

/**
 * A replay is exact only if the validator draws the very batches the execution node's trainer drew. The
 * trainer's source lives in the execution-node app, which no package may import; this test loads it by
 * path (test only) so the two cannot drift apart unnoticed.
 */
const EXECUTOR_SOURCE = path.join(__dirname, '..', '..', 'execution-node', 'src', 'dataset.source');
let executorSource: (options: TrainingSourceOptions) => DataSource;

async function drain(source: DataSource, epoch: number): Promise<number[][]> {
  const out: number[][] = [];
  for await (const { xs, ys } of source.batches(epoch)) {
    out.push([...xs.dataSync(), ...ys.dataSync()]);
    xs.dispose();
    ys.dispose();
  }
  return out;
}

describe('trainingSource', () => {
  let dir: string;
  beforeAll(async () => {
    await initBackend('cpu');
    ({ streamingSource: executorSource } = (await import(EXECUTOR_SOURCE)) as {
      streamingSource: (options: TrainingSourceOptions) => DataSource;
    });
    dir = await mkdtemp(path.join(tmpdir(), 'parity-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([undefined, 7])(
    "yields the execution node trainer's batches (shuffle window %s)",
    async (window) => {
      const files = await writeIrisFiles(dir);
      const spec = parseJobSpec(IRIS_SPEC);
      const options: TrainingSourceOptions = {
        files: [files.train],
        data: spec.data,
        encoding: await fitEncoding(spec, files.train),
        batchSize: 16,
        shuffleSeed: 11,
        ...(window === undefined ? {} : { shuffleWindow: window }),
      };
      for (const epoch of [1, 2]) {
        const ours = await drain(trainingSource(options), epoch);
        expect(ours.length).toBe(7);
        expect(ours).toEqual(await drain(executorSource(options), epoch));
      }
      // Epochs differ from each other: the comparison above is not between two unshuffled reads.
      expect(await drain(trainingSource(options), 1)).not.toEqual(await drain(trainingSource(options), 2));
    },
  );
});
