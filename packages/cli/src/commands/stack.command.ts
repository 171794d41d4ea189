import type { Command } from 'commander';

import { CliOperationError } from '../cli.errors';
import { table } from '../cli-output';
import type { CommandContext } from '../command-context';
import { devnetFiles, runningDevnet } from '../devnet.process';
import { runningService } from '../stack/managed-process';
import { ORGS, repoRoot } from '../stack/stack.plan';
import { startStack, stackRunning, stopStack } from '../stack/stack.runner';
import { readDevUsers, readStackState, type DevUser, type StackState } from '../stack/stack.state';
import { parsePort } from './network.command';

function describeStack(state: StackState, users: readonly DevUser[]): string {
  return [
    `Portal:   ${state.portalUrl}`,
    ...state.gateways.map(
      (gateway) => `Gateway:  ${gateway.org} ${gateway.url} (API docs ${gateway.url}/api/docs)`,
    ),
    `Redis:    ${state.redisUrl}${state.ownRedis ? ' (private)' : ''}`,
    `Logs:     ${state.home}/logs/`,
    '',
    'Dev users who can sign in (initial passwords):',
    users.length === 0
      ? '  (none yet: the gateways write them on their first start)'
      : table(
          ['ORG', 'USER', 'ROLE', 'PASSWORD'],
          users.map((user) => [user.org, user.username, user.role, user.password ?? '(changed)']),
        ),
  ].join('\n');
}

/** Resolves on SIGINT/SIGTERM, or with the name of a service of the stack that stopped by itself. */
function untilInterruptedOrDead(home: string): Promise<'signal' | 'exited'> {
  return new Promise((resolve) => {
    const finish = (why: 'signal' | 'exited'): void => {
      clearInterval(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(why);
    };
    const onSignal = (): void => {
      finish('signal');
    };
    const timer = setInterval(() => {
      void stackRunning(home).then((state) => {
        if (state === undefined) finish('exited');
      });
    }, 2000);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

export function registerStackCommands(program: Command, context: CommandContext): void {
  program
    .command('up')
    .description(
      'build what is missing and run the whole consortium: Redis, devnet (3 orgs), a gateway per org, 2 executors, 2 validators, the portal',
    )
    .option('--home <dir>', 'DECENTER_HOME (default: <repo>/.decenter)')
    .option(
      '--detach',
      'return once everything is healthy and leave it running (stop it with `decenter down`)',
    )
    .option(
      '--portal-port <port>',
      'port of the portal on 127.0.0.1 (default 8080, or a free one)',
      parsePort,
    )
    .option('--rebuild', 'run `npm run build` and the portal build even if their output exists')
    .action(async (options: { home?: string; detach?: boolean; portalPort?: number; rebuild?: boolean }) => {
      const reporter = context.reporter();
      const home = context.home(options.home);
      // Ctrl-C while starting must not leave half a stack behind: finish the step, then stop it all.
      const early = { interrupted: false };
      const onEarlySignal = (): void => {
        early.interrupted = true;
        reporter.note('interrupted: stopping everything once the current step ends...');
      };
      process.on('SIGINT', onEarlySignal);
      process.on('SIGTERM', onEarlySignal);
      let started: Awaited<ReturnType<typeof startStack>>;
      try {
        started = await startStack({
          home,
          root: repoRoot(),
          env: context.io.env,
          note: (text) => {
            reporter.note(text);
          },
          ...(options.portalPort === undefined ? {} : { portalPort: options.portalPort }),
          ...(options.rebuild === true ? { rebuild: true } : {}),
        });
      } finally {
        process.off('SIGINT', onEarlySignal);
        process.off('SIGTERM', onEarlySignal);
      }
      const { state, alreadyRunning } = started;
      if (early.interrupted && !alreadyRunning) {
        await stopStack(home);
        throw new CliOperationError(
          'UNAVAILABLE',
          'interrupted while starting; everything was stopped again',
          {
            hint: 'Run `decenter up` again when you are ready.',
          },
        );
      }
      const users = await readDevUsers(home, ORGS);
      reporter.result(
        { status: alreadyRunning ? 'already-running' : 'running', ...state, users },
        () =>
          `${alreadyRunning ? 'DeCenter already runs.' : 'DeCenter is up.'}\n${describeStack(state, users)}`,
      );
      if (options.detach === true || alreadyRunning) return;
      reporter.note('\nPress Ctrl-C to stop everything (or run `decenter up --detach` to leave it running).');
      const why = await untilInterruptedOrDead(home);
      reporter.note('stopping...');
      const stopped = await stopStack(home);
      reporter.note(`stopped ${stopped.map((item) => item.name).join(', ')}`);
      if (why === 'exited') {
        throw new CliOperationError(
          'UNAVAILABLE',
          `a process of the stack stopped by itself; see ${home}/logs/`,
          {
            hint: 'Read the logs, fix what they report, then run `decenter up` again.',
          },
        );
      }
    });

  program
    .command('down')
    .description('stop everything `decenter up` started, in reverse order (ledger and storage are kept)')
    .option('--home <dir>', 'DECENTER_HOME (default: <repo>/.decenter)')
    .action(async (options: { home?: string }) => {
      const reporter = context.reporter();
      const stopped = await stopStack(context.home(options.home));
      reporter.result({ stopped }, () =>
        stopped.length === 0
          ? 'Nothing was running.'
          : table(
              ['STOPPED', 'PID', 'HOW'],
              stopped.map((item) => [item.name, String(item.pid), item.how]),
            ),
      );
    });

  program
    .command('status')
    .description('which processes of the stack run, and where the portal and gateways are')
    .option('--home <dir>', 'DECENTER_HOME (default: <repo>/.decenter)')
    .action(async (options: { home?: string }) => {
      const reporter = context.reporter();
      const home = context.home(options.home);
      const state = await readStackState(home);
      const services: { name: string; running: boolean; pid: number | null }[] = [];
      for (const name of state?.services ?? []) {
        const record =
          name === 'devnet' ? await runningDevnet(devnetFiles(home)) : await runningService(home, name);
        services.push({ name, running: record !== undefined, pid: record?.pid ?? null });
      }
      const running = (await stackRunning(home)) !== undefined;
      reporter.result({ running, home, state: state ?? null, services }, () =>
        state === undefined
          ? `No stack under ${home} (run \`decenter up\`).`
          : [
              `stack:  ${running ? 'running' : 'not (fully) running'}`,
              `portal: ${state.portalUrl}`,
              '',
              table(
                ['SERVICE', 'STATE', 'PID'],
                services.map((item) => [
                  item.name,
                  item.running ? 'running' : 'stopped',
                  item.pid === null ? '-' : String(item.pid),
                ]),
              ),
            ].join('\n'),
      );
    });
}
