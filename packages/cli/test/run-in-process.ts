import { run, type CliIo } from '../src';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process with captured output and the given environment. */
export async function runCli(
  argv: string[],
  options: {
    env?: Record<string, string | undefined>;
    cwd?: string;
    isTTY?: boolean;
    readStdin?: () => Promise<string>;
  } = {},
): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    isTTY: options.isTTY ?? false,
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    ...(options.readStdin === undefined ? {} : { readStdin: options.readStdin }),
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

export const validSpec = {
  name: 'iris-mlp',
  task: 'classification',
  model: { kind: 'template', template: 'mlp', options: { hiddenUnits: [16] } },
  data: { format: 'csv', label: 'species' },
  search: { learningRate: [0.01, 0.05], batchSize: [16], epochs: [20], optimizer: ['adam'], seeds: [1, 2] },
  objective: { metric: 'accuracy' },
  schedule: { trainingDeadline: '2026-12-01T00:00:00Z', validationDeadline: '2026-12-02T00:00:00Z' },
};
