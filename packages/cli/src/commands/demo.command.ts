import { CertificatesClient, JobsClient, loadNetworkConfig, withLedger } from '@decenter/ledger';
import { Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { CliOperationError } from '../cli.errors';
import { table } from '../cli-output';
import type { CommandContext } from '../command-context';
import { EXIT } from '../exit-codes';
import { GatewayClient } from '../gateway/gateway.client';
import { forgetUploads, submitJob, waitForIngest } from '../gateway/job-submission';
import { saveSession } from '../gateway/session.store';
import { repoRoot } from '../stack/stack.plan';
import { startStack, stackRunning } from '../stack/stack.runner';
import { readDevUsers } from '../stack/stack.state';
import { followJob, readSpecFile, uploadProgress } from './job-gateway.command';

export const DATASETS = ['iris', 'wine', 'digits-images', 'fashion-mnist'] as const;
export type Dataset = (typeof DATASETS)[number];

const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
const DEMO_ORG = 'Org1';
const DEMO_USER = 'user1';

/** The data files of a demo data set; Fashion-MNIST comes from Debian's dataset-fashion-mnist. */
export function demoDataFiles(root: string, dataset: Dataset): string[] {
  if (dataset === 'iris') return [join(root, 'fixtures', 'iris', 'iris.csv')];
  if (dataset === 'wine') return [join(root, 'fixtures', 'wine', 'wine.csv')];
  if (dataset === 'digits-images') return [join(root, 'fixtures', 'digits-images', 'digits.zip')];
  const files = [
    join(FASHION_DIR, 'train-images-idx3-ubyte.gz'),
    join(FASHION_DIR, 'train-labels-idx1-ubyte.gz'),
  ];
  if (!files.every((file) => existsSync(file))) {
    throw new CliOperationError(
      'NOT_FOUND',
      `Fashion-MNIST is not installed (${FASHION_DIR} lacks the IDX files)`,
      {
        hint: 'Install it with `apt-get install dataset-fashion-mnist` (`dpkg -L dataset-fashion-mnist` lists the files).',
      },
    );
  }
  return files;
}

/**
 * The fixture spec with deadlines from now: a fixed date would have passed by the time someone runs it.
 * The validation deadline also bounds how long the demo waits for candidates that cannot reach a quorum:
 * a validator never scores its own org's candidates, so with validators of Org2 and Org3 (quorum 2) the
 * candidates Org2's executor trained are only scored by Org3 and are settled as "no-quorum" at that
 * deadline, while Org1's candidates are agreed by both orgs.
 */
export function withFreshSchedule(
  spec: unknown,
  now: number,
  trainingMinutes: number,
  validationMinutes: number,
): unknown {
  const record = spec as Record<string, unknown>;
  return {
    ...record,
    name: `${String(record['name'])}-${new Date(now).toISOString().replace(/[-:]/g, '').slice(0, 15)}`,
    schedule: {
      trainingDeadline: new Date(now + trainingMinutes * 60_000).toISOString(),
      validationDeadline: new Date(now + validationMinutes * 60_000).toISOString(),
    },
  };
}

const commonName = (x509Id: string): string => /CN=([^/,]+)/.exec(x509Id.split('::')[1] ?? '')?.[1] ?? x509Id;

export interface DemoSummary {
  jobId: string;
  status: string;
  candidates: {
    trialId: string;
    node: string;
    org: string;
    hyperparameters: unknown;
    verified: boolean;
    scores: {
      org: string;
      verified: boolean;
      objective: number | null;
      metrics: Record<string, number>;
      rejectionReason?: string;
    }[];
  }[];
  selected: {
    trialId: string;
    modelHash: string;
    metrics: Record<string, number>;
    txId: string | null;
    blockNumber: string | null;
  } | null;
  certificates: { tokenId: string; owner: string; role: string }[];
}

export function registerDemoCommand(program: Command, context: CommandContext): void {
  program
    .command('demo')
    .description(
      'the whole flow: sign in as Org1/user1, submit a fixture job, wait for the selection, print the outcome',
    )
    .addOption(new Option('--dataset <name>', 'which demo data set').choices(DATASETS).default('iris'))
    .option('--home <dir>', 'DECENTER_HOME (default: <repo>/.decenter)')
    .option('--timeout <minutes>', 'give up waiting for the selection after this long', (value) => {
      const minutes = Number(value);
      if (!Number.isFinite(minutes) || minutes <= 0)
        throw new CliOperationError('INVALID_ARGUMENT', `"${value}" is not a number of minutes`);
      return minutes;
    })
    .action(async (options: { dataset: Dataset; home?: string; timeout?: number }) => {
      const reporter = context.reporter();
      const home = context.home(options.home);
      const root = repoRoot();
      const files = demoDataFiles(root, options.dataset);
      const fashion = options.dataset === 'fashion-mnist';
      // Iris and Wine train in seconds, the digits archive's MLP in tens of seconds a trial; Fashion-MNIST's
      // CNN trains for a long while on CPU.
      const schedule = fashion
        ? { training: 150, validation: 180 }
        : options.dataset === 'digits-images'
          ? { training: 3, validation: 4 }
          : { training: 1, validation: 1.5 };
      const timeoutMinutes = options.timeout ?? schedule.validation + 5;
      let state = await stackRunning(home);
      if (state === undefined) {
        reporter.note('the stack is not running: starting it (decenter up --detach)...');
        state = (
          await startStack({
            home,
            root,
            env: context.io.env,
            note: (text) => {
              reporter.note(text);
            },
          })
        ).state;
      }
      const gatewayUrl = state.gateways.find((gateway) => gateway.org === DEMO_ORG)?.url;
      const password = (await readDevUsers(home, [DEMO_ORG])).find(
        (user) => user.username === DEMO_USER,
      )?.password;
      if (gatewayUrl === undefined || password === undefined) {
        throw new CliOperationError(
          'FAILED_PRECONDITION',
          `no dev account ${DEMO_ORG}/${DEMO_USER} with its initial password under ${home}/${DEMO_ORG}/users.json`,
          {
            hint: 'Run the demo against a stack started by `decenter up` (the gateway writes the dev accounts on first start).',
          },
        );
      }
      reporter.note(`signing in as ${DEMO_ORG}/${DEMO_USER} at ${gatewayUrl}...`);
      const { token, user } = await new GatewayClient(gatewayUrl).login(DEMO_ORG, DEMO_USER, password);
      await saveSession(home, { gateway: gatewayUrl, token, org: user.org, username: user.username });
      const client = new GatewayClient(gatewayUrl, token);

      const spec = withFreshSchedule(
        await readSpecFile(join(root, 'fixtures', options.dataset, 'spec.json')),
        Date.now(),
        schedule.training,
        schedule.validation,
      );
      const submitted = await submitJob(client, home, { spec, data: files }, uploadProgress(reporter));
      await forgetUploads(home, submitted.uploads);
      reporter.note(`job ${submitted.jobId} submitted; ingesting...`);
      await waitForIngest(client, submitted.jobId, 15 * 60_000);
      reporter.note('on the ledger; executors are training, validators will score...');

      let finalized: { txId: string; blockNumber: string } | undefined;
      const status = await followJob(
        client,
        submitted.jobId,
        (event, data) => {
          const record = (data ?? {}) as Record<string, unknown>;
          if (event === 'ledger') {
            reporter.note(`  ledger: ${String(record['name'])} (block ${String(record['blockNumber'])})`);
            if (record['name'] === 'JobFinalized')
              finalized = {
                txId: String(record['transactionId']),
                blockNumber: String(record['blockNumber']),
              };
          }
        },
        timeoutMinutes * 60_000,
      );

      const config = await loadNetworkConfig(join(home, 'network.json'));
      const summary = await withLedger(
        { config, identity: `${DEMO_ORG}/${DEMO_USER}` },
        async (connection): Promise<DemoSummary> => {
          const jobs = new JobsClient(connection);
          const job = await jobs.getJob(submitted.jobId);
          const [trials, candidates, scores, certificates] = await Promise.all([
            jobs.listTrials(job.jobId),
            jobs.listCandidates(job.jobId),
            jobs.listScores(job.jobId),
            new CertificatesClient(connection).listCertificates({ jobId: job.jobId }),
          ]);
          return {
            jobId: job.jobId,
            status: job.status,
            candidates: candidates.map((candidate) => {
              const own = scores.filter((score) => score.trialId === candidate.trialId);
              return {
                trialId: candidate.trialId,
                node: commonName(candidate.node.id),
                org: candidate.node.mspId,
                hyperparameters:
                  trials.find((trial) => trial.trialId === candidate.trialId)?.hyperparameters ?? null,
                verified: own.length > 0 && own.every((score) => score.verified),
                scores: own.map((score) => ({
                  org: score.mspId,
                  verified: score.verified,
                  objective: score.objective ?? null,
                  metrics: score.metrics,
                  ...(score.rejectionReason === undefined ? {} : { rejectionReason: score.rejectionReason }),
                })),
              };
            }),
            selected:
              job.selected === undefined
                ? null
                : {
                    trialId: job.selected.trialId,
                    modelHash: job.selected.modelHash,
                    metrics: job.selected.metrics,
                    txId: job.selected.txId ?? finalized?.txId ?? null,
                    blockNumber:
                      finalized !== undefined &&
                      (job.selected.txId === undefined || job.selected.txId === finalized.txId)
                        ? finalized.blockNumber
                        : null,
                  },
            certificates: certificates.map((certificate) => ({
              tokenId: certificate.tokenId,
              owner: `${certificate.owner.mspId}/${commonName(certificate.owner.id)}`,
              role: certificate.role,
            })),
          };
        },
      );
      if (status !== 'COMPLETED') context.setExitCode(EXIT.failure);
      reporter.result(summary, () =>
        [
          `job ${summary.jobId}: ${summary.status}`,
          '',
          table(
            ['TRIAL', 'NODE', 'ORG', 'VERIFIED', 'HOLDOUT SCORES'],
            summary.candidates.map((candidate) => [
              candidate.trialId,
              candidate.node,
              candidate.org,
              candidate.verified ? 'yes' : 'no',
              candidate.scores
                .map(
                  (score) =>
                    `${score.org} ${score.objective === null ? 'rejected' : score.objective.toFixed(4)}`,
                )
                .join(', '),
            ]),
          ),
          '',
          summary.selected === null
            ? 'No model was selected.'
            : `selected: ${summary.selected.trialId} model ${summary.selected.modelHash.slice(0, 16)} ${JSON.stringify(summary.selected.metrics)} (tx ${summary.selected.txId ?? '?'}, block ${summary.selected.blockNumber ?? '?'})`,
          '',
          table(
            ['CERTIFICATE', 'OWNER', 'ROLE'],
            summary.certificates.map((item) => [item.tokenId, item.owner, item.role]),
          ),
        ].join('\n'),
      );
    });
}
