import { JOB_STATUSES } from '@decenter/core';
import { JobsClient, type JobRecord, MAX_PAGE_SIZE } from '@decenter/ledger';
import { InvalidArgumentError, Option, type Command } from 'commander';

import { table } from '../cli-output';
import type { CommandContext } from '../command-context';
import { IDENTITY_OPTION } from './ledger.command';

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!/^\d+$/.test(value) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError(`expected a number from 1 to ${MAX_PAGE_SIZE}`);
  }
  return limit;
}

function describeJob(job: JobRecord): string {
  const lines = [
    `job:          ${job.jobId}${job.name === job.jobId ? '' : ` (${job.name})`}`,
    `status:       ${job.status}`,
    `owner:        ${job.owner.mspId} ${job.owner.id}`,
    `objective:    ${job.objective.direction} ${job.objective.metric} (min improvement ${job.objective.minImprovement})`,
    `validation:   quorum ${job.quorum} of ${job.validatorOrgs.join(', ')}`,
    `deadlines:    training ${job.trainingDeadline}, validation ${job.validationDeadline}`,
    `spec hash:    ${job.specHash}`,
    `manifest:     ${job.manifestHash}`,
    `storage:      ${job.storageUri}`,
    `created:      ${job.createdAt}`,
  ];
  if (job.selected !== undefined) {
    lines.push(`selected:     ${job.selected.trialId} model ${job.selected.modelHash}`);
  }
  if (job.failureReason !== undefined) lines.push(`failure:      ${job.failureReason}`);
  if (job.cancelReason !== undefined) lines.push(`cancelled:    ${job.cancelReason}`);
  return lines.join('\n');
}

export function registerJobCommands(program: Command, context: CommandContext): Command {
  const job = program.command('job').description('training jobs on the ledger');

  job
    .command('list')
    .description('list jobs, newest state from the ledger')
    .addOption(new Option('--status <status>', 'only jobs in this status').choices(JOB_STATUSES))
    .option('--owner <x509-id>', "only jobs of this owner (the owner's X.509 id)")
    .option('--limit <n>', `jobs per page (1-${MAX_PAGE_SIZE})`, parseLimit, 50)
    .option('--bookmark <bookmark>', 'continue after the page that returned this bookmark')
    .option(...IDENTITY_OPTION)
    .action(
      async (options: {
        status?: (typeof JOB_STATUSES)[number];
        owner?: string;
        limit: number;
        bookmark?: string;
        identity?: string;
      }) => {
        const reporter = context.reporter();
        const page = await context.withLedger(options, async (connection) => {
          return new JobsClient(connection).listJobs({
            pageSize: options.limit,
            ...(options.status === undefined ? {} : { status: options.status }),
            ...(options.owner === undefined ? {} : { owner: options.owner }),
            ...(options.bookmark === undefined ? {} : { bookmark: options.bookmark }),
          });
        });
        reporter.result(page, () =>
          page.jobs.length === 0
            ? 'No jobs.'
            : table(
                ['JOB', 'STATUS', 'OWNER ORG', 'TRIALS', 'CREATED'],
                page.jobs.map((item) => [
                  item.jobId,
                  item.status,
                  item.owner.mspId,
                  String(item.trialCount),
                  item.createdAt,
                ]),
              ) + (page.bookmark === '' ? '' : `\n(more: --bookmark ${page.bookmark})`),
        );
      },
    );

  job
    .command('show')
    .description('show one job with its trials and candidates')
    .argument('<job-id>', 'the job id')
    .option(...IDENTITY_OPTION)
    .action(async (jobId: string, options: { identity?: string }) => {
      const reporter = context.reporter();
      const shown = await context.withLedger(options, async (connection) => {
        const client = new JobsClient(connection);
        const record = await client.getJob(jobId);
        const [trials, candidates] = await Promise.all([
          client.listTrials(jobId),
          client.listCandidates(jobId),
        ]);
        return { job: record, trials, candidates };
      });
      reporter.result(shown, () =>
        [
          describeJob(shown.job),
          '',
          table(
            ['TRIAL', 'STATUS', 'CLAIMED BY', 'ATTEMPTS'],
            shown.trials.map((trial) => [
              trial.trialId,
              trial.status,
              trial.claimedBy === undefined ? '-' : trial.claimedBy.mspId,
              String(trial.attempts),
            ]),
          ),
          '',
          shown.candidates.length === 0
            ? 'No candidates committed yet.'
            : table(
                ['CANDIDATE', 'NODE ORG', 'MODEL HASH', 'COMMITTED'],
                shown.candidates.map((candidate) => [
                  candidate.trialId,
                  candidate.node.mspId,
                  candidate.modelHash.slice(0, 16),
                  candidate.committedAt,
                ]),
              ),
        ].join('\n'),
      );
    });
  return job;
}
