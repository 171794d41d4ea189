import {
  objectiveDirection,
  parseJobSpec,
  planTrials,
  SpecValidationError,
  type JobSpec,
} from '@decenter/core';
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { UsageError } from '../cli.errors';
import { table } from '../cli-output';
import type { CommandContext } from '../command-context';

async function readSpecFile(context: CommandContext, file: string): Promise<unknown> {
  const path = resolve(context.io.cwd, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read ${path}: ${(err as Error).message}`,
      'Pass the path of a job spec JSON file.',
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SpecValidationError([{ path: '', message: `not valid JSON: ${(err as Error).message}` }]);
  }
}

function summary(spec: JobSpec, trials: number): string {
  return [
    `task:       ${spec.task}`,
    `objective:  ${objectiveDirection(spec)} ${spec.objective.metric}`,
    `search:     ${spec.search.strategy}, ${trials} trial${trials === 1 ? '' : 's'}`,
  ].join('\n');
}

export function registerSpecCommands(program: Command, context: CommandContext): void {
  const spec = program.command('spec').description('check job specs before submitting them');

  spec
    .command('validate')
    .description('validate a job spec file and list every problem it has')
    .argument('<file>', 'job spec (JSON)')
    .action(async (file: string) => {
      const reporter = context.reporter();
      let parsed: JobSpec;
      try {
        parsed = parseJobSpec(await readSpecFile(context, file));
      } catch (err) {
        if (!(err instanceof SpecValidationError)) throw err;
        reporter.result({ valid: false, file, issues: err.issues }, () =>
          [`${file}: invalid (${err.issues.length} problem${err.issues.length === 1 ? '' : 's'})`]
            .concat(
              err.issues.map((issue) => `  - ${issue.path === '' ? '(root)' : issue.path}: ${issue.message}`),
            )
            .join('\n'),
        );
        context.setExitCode(1);
        return;
      }
      const trials = planTrials(parsed).length;
      reporter.result(
        { valid: true, file, trials, spec: parsed },
        () => `${file}: valid\n${summary(parsed, trials)}`,
      );
    });

  spec
    .command('trials')
    .description('list the trials (hyperparameters and seed) the spec expands to')
    .argument('<file>', 'job spec (JSON)')
    .action(async (file: string) => {
      const reporter = context.reporter();
      const trials = planTrials(parseJobSpec(await readSpecFile(context, file)));
      reporter.result({ file, count: trials.length, trials }, () =>
        table(
          ['TRIAL', 'LEARNING RATE', 'BATCH', 'EPOCHS', 'OPTIMIZER', 'SEED'],
          trials.map((trial) => [
            trial.trialId,
            String(trial.hyperparameters.learningRate),
            String(trial.hyperparameters.batchSize),
            String(trial.hyperparameters.epochs),
            trial.hyperparameters.optimizer,
            String(trial.seed),
          ]),
        ),
      );
    });
}
