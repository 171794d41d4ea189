import { Option, type Command } from 'commander';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { UsageError } from '../cli.errors';
import { table } from '../cli-output';
import type { CommandContext } from '../command-context';
import { runningService, stopService } from '../stack/managed-process';
import { IDENTITY_PATTERN, repoRoot, serviceName, type NodeRole } from '../stack/stack.plan';
import { startNode } from '../stack/stack.runner';

interface NodeView {
  name: string;
  role: NodeRole;
  identity: string;
  running: boolean;
  pid: number | null;
  /** The executor's own status.json (state, trials in progress, completed / failed counts), when it wrote one. */
  status: unknown;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

/** Nodes known under this home: a pid file in run/ or a node folder in nodes/. */
async function listNodes(home: string): Promise<NodeView[]> {
  const names = new Set<string>();
  for (const entry of await readdir(join(home, 'run')).catch(() => [] as string[])) {
    const name = entry.replace(/\.pid$/, '');
    if (/^(executor|validator)-/.test(name)) names.add(name);
  }
  const views: NodeView[] = [];
  for (const name of [...names].sort()) {
    const role: NodeRole = name.startsWith('executor-') ? 'executor' : 'validator';
    const record = await runningService(home, name);
    const identity = record?.marker ?? name.slice(role.length + 1);
    let status: unknown = null;
    if (record !== undefined) {
      const [org = '', user = ''] = identity.split('/');
      status = await readFile(join(home, 'nodes', `${org}-${user}`, 'status.json'), 'utf8')
        .then((text) => JSON.parse(text) as unknown)
        .catch(() => null);
    }
    views.push({ name, role, identity, running: record !== undefined, pid: record?.pid ?? null, status });
  }
  return views;
}

export function registerNodeCommands(program: Command, context: CommandContext): void {
  const node = program.command('node').description('run execution and validator nodes of a member org');

  node
    .command('start')
    .description(
      'start an execution or validator node signing as ORG/USER (an executor or validator identity)',
    )
    .addOption(
      new Option('--role <role>', 'what the node does')
        .choices(['executor', 'validator'])
        .makeOptionMandatory(),
    )
    .requiredOption('--identity <org/user>', 'the node identity, e.g. Org1/executor1 or Org2/validator1')
    .option('--home <dir>', 'DECENTER_HOME (default: <repo>/.decenter)')
    .option('--detach', 'leave the node running in the background (stop it with `decenter node stop`)')
    .action(async (options: { role: NodeRole; identity: string; home?: string; detach?: boolean }) => {
      if (!IDENTITY_PATTERN.test(options.identity)) {
        throw new UsageError(
          `"${options.identity}" is not an identity`,
          'Use ORG/USER, e.g. --identity Org1/executor1.',
        );
      }
      const reporter = context.reporter();
      const home = context.home(options.home);
      const started = await startNode({
        home,
        root: repoRoot(),
        role: options.role,
        identity: options.identity,
      });
      reporter.result(
        { ...started, role: options.role, identity: options.identity },
        () => `${options.role} ${options.identity} running (pid ${started.pid}), log in ${started.logFile}`,
      );
      if (options.detach === true) return;
      reporter.note('Press Ctrl-C to stop the node (or use --detach to leave it running).');
      await untilSignal();
      await stopService(home, started.name, 30_000);
      reporter.note('Node stopped.');
    });

  node
    .command('stop')
    .description('stop a node started by `decenter node start` or `decenter up`')
    .addOption(
      new Option('--role <role>', 'what the node does')
        .choices(['executor', 'validator'])
        .makeOptionMandatory(),
    )
    .requiredOption('--identity <org/user>', 'the node identity')
    .option('--home <dir>', 'DECENTER_HOME (default: <repo>/.decenter)')
    .action(async (options: { role: NodeRole; identity: string; home?: string }) => {
      const reporter = context.reporter();
      const stopped = await stopService(
        context.home(options.home),
        serviceName.node(options.role, options.identity),
        30_000,
      );
      reporter.result(
        stopped === undefined ? { stopped: false } : { stopped: true, pid: stopped.pid, how: stopped.how },
        () =>
          stopped === undefined
            ? 'That node was not running.'
            : `Node stopped (pid ${stopped.pid}, ${stopped.how}).`,
      );
    });

  node
    .command('status')
    .description('the nodes started under this home: running or not, and what each executor is doing')
    .option('--home <dir>', 'DECENTER_HOME (default: <repo>/.decenter)')
    .action(async (options: { home?: string }) => {
      const reporter = context.reporter();
      const nodes = await listNodes(context.home(options.home));
      reporter.result({ nodes }, () =>
        nodes.length === 0
          ? 'No nodes (start one with `decenter node start --role executor --identity Org1/executor1`).'
          : table(
              ['NODE', 'ROLE', 'STATE', 'PID', 'DETAIL'],
              nodes.map((item) => {
                const status = item.status as {
                  state?: string;
                  completed?: number;
                  failed?: number;
                  trials?: unknown[];
                } | null;
                const detail =
                  status === null
                    ? ''
                    : `${status.state ?? ''} trials running ${String(status.trials?.length ?? 0)}, done ${String(status.completed ?? 0)}, failed ${String(status.failed ?? 0)}`;
                return [
                  item.identity,
                  item.role,
                  item.running ? 'running' : 'stopped',
                  item.pid === null ? '-' : String(item.pid),
                  detail,
                ];
              }),
            ),
      );
    });
}
