import { addIdentity, addOrg, createConsortium, type IdentityRole } from '@decenter/devnet';
import { getChainInfo, loadNetworkConfig, withLedger, type NetworkConfig } from '@decenter/ledger';
import { InvalidArgumentError, type Command } from 'commander';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import { CliOperationError, UsageError } from '../cli.errors';
import { table } from '../cli-output';
import type { CommandContext } from '../command-context';
import { devnetFiles, runningDevnet, startDevnetProcess, stopDevnetProcess } from '../devnet.process';
import { createProgressBar } from '../progress-bar';

const IDENTITY_ROLES: readonly IdentityRole[] = ['admin', 'member', 'executor', 'validator'];

export function parseRole(value: string): IdentityRole {
  const role = IDENTITY_ROLES.find((candidate) => candidate === value);
  if (role === undefined) throw new InvalidArgumentError(`expected one of ${IDENTITY_ROLES.join(', ')}`);
  return role;
}

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535)
    throw new InvalidArgumentError('expected a port from 0 to 65535');
  return port;
}

function identitiesOf(config: NetworkConfig): { org: string; mspId: string; user: string; role: string }[] {
  return config.identities.map(({ org, mspId, user, role }) => ({ org, mspId, user, role }));
}

function describeNetwork(config: NetworkConfig): string {
  return [
    `endpoint:   ${config.peer.endpoint}${config.peer.tlsRootCert === null ? ' (plaintext)' : ' (TLS)'}`,
    `channel:    ${config.channel}`,
    `chaincode:  ${config.chaincode}`,
    '',
    table(
      ['IDENTITY', 'MSP', 'ROLE'],
      config.identities.map((identity) => [
        `${identity.org}/${identity.user}`,
        identity.mspId,
        identity.role,
      ]),
    ),
  ].join('\n');
}

/** Resolves on SIGINT/SIGTERM, or when the devnet process goes away by itself. */
function untilInterrupted(isRunning: () => Promise<boolean>): Promise<'signal' | 'exited'> {
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
      void isRunning().then((running) => {
        if (!running) finish('exited');
      });
    }, 1000);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

export function registerNetworkCommands(program: Command, context: CommandContext): void {
  const network = program
    .command('network')
    .description('run the development network (devnet): one Fabric-compatible peer and a dev CA');

  network
    .command('up')
    .description('create the consortium once, start the devnet and wait until it is ready')
    .option('--home <dir>', 'DECENTER_HOME (default: <repo>/.decenter)')
    .option('--port <port>', 'port to listen on, 127.0.0.1 only (0 picks a free one)', parsePort)
    .option('--detach', 'return once ready and leave the devnet running (stop it with `network down`)')
    .action(async (options: { home?: string; port?: number; detach?: boolean }) => {
      const reporter = context.reporter();
      const home = context.home(options.home);
      const files = devnetFiles(home);
      const existing = await runningDevnet(files);
      if (existing !== undefined) {
        const config = await loadNetworkConfig(join(home, 'network.json'));
        reporter.result(
          {
            status: 'already-running',
            pid: existing.pid,
            home,
            endpoint: config.peer.endpoint,
            identities: identitiesOf(config),
          },
          () => `The devnet already runs (pid ${existing.pid}).\n${describeNetwork(config)}`,
        );
        return;
      }
      const progress = createProgressBar({
        total: 2,
        label: 'creating consortium',
        stream: {
          write: (t: string) => {
            reporter.stderr(t);
          },
        },
        enabled: reporter.isTTY,
      });
      progress.update(0);
      await createConsortium({ home });
      progress.update(1, 'starting devnet     ');
      const started = await startDevnetProcess(
        files,
        options.port === undefined ? {} : { port: options.port },
      );
      progress.finish('devnet ready        ');
      const config = await loadNetworkConfig(join(home, 'network.json'));
      reporter.result(
        {
          status: 'running',
          pid: started.pid,
          home,
          endpoint: started.endpoint,
          logFile: files.logFile,
          channel: config.channel,
          chaincode: config.chaincode,
          identities: identitiesOf(config),
        },
        () => `Devnet running (pid ${started.pid}), log in ${files.logFile}\n${describeNetwork(config)}`,
      );
      if (options.detach === true) return;
      reporter.note('Press Ctrl-C to stop the devnet (or run this with --detach to leave it running).');
      const why = await untilInterrupted(async () => (await runningDevnet(files)) !== undefined);
      if (why === 'exited') {
        throw new CliOperationError('UNAVAILABLE', `the devnet stopped by itself; see ${files.logFile}`, {
          hint: 'Read the log, fix what it reports, then run `decenter network up` again.',
        });
      }
      await stopDevnetProcess(files);
      reporter.note('Devnet stopped.');
    });

  network
    .command('down')
    .description('stop the devnet started by `network up` (its state is kept)')
    .option('--home <dir>', 'DECENTER_HOME (default: <repo>/.decenter)')
    .action(async (options: { home?: string }) => {
      const reporter = context.reporter();
      const stopped = await stopDevnetProcess(devnetFiles(context.home(options.home)));
      reporter.result(
        stopped === undefined ? { stopped: false } : { stopped: true, pid: stopped.pid, how: stopped.how },
        () => (stopped === undefined ? 'No devnet was running.' : `Devnet stopped (pid ${stopped.pid}).`),
      );
    });

  network
    .command('reset')
    .description('stop the devnet and delete its ledger, crypto material and network.json')
    .option('--home <dir>', 'DECENTER_HOME (default: <repo>/.decenter)')
    .option('--yes', 'confirm: every job, node and certificate on the devnet is lost')
    .action(async (options: { home?: string; yes?: boolean }) => {
      const reporter = context.reporter();
      const home = context.home(options.home);
      if (options.yes !== true) {
        throw new UsageError(
          `network reset deletes the ledger and every identity under ${home}`,
          'Run `decenter network reset --yes` to confirm.',
        );
      }
      const stopped = await stopDevnetProcess(devnetFiles(home));
      const removed = [join(home, 'devnet'), join(home, 'crypto'), join(home, 'network.json')];
      for (const path of removed) await rm(path, { recursive: true, force: true });
      reporter.result({ reset: true, home, stoppedPid: stopped?.pid ?? null, removed }, () =>
        [`Devnet reset under ${home}.`, ...removed.map((path) => `  removed ${path}`)].join('\n'),
      );
    });

  network
    .command('status')
    .description('whether the devnet runs, where, and its chain height')
    .option('--home <dir>', 'DECENTER_HOME (default: <repo>/.decenter)')
    .action(async (options: { home?: string }) => {
      const reporter = context.reporter();
      const home = context.home(options.home);
      const running = await runningDevnet(devnetFiles(home));
      let config: NetworkConfig | undefined;
      try {
        config = await loadNetworkConfig(join(home, 'network.json'));
      } catch {
        config = undefined;
      }
      let height: bigint | null = null;
      if (running !== undefined && config !== undefined) {
        // Height is extra information: a devnet that runs but does not answer yet still reports as running.
        height = await withLedger(
          { config },
          async (connection) => (await getChainInfo(connection)).height,
        ).catch(() => null);
      }
      const status = {
        running: running !== undefined,
        pid: running?.pid ?? null,
        home,
        consortium: config !== undefined,
        endpoint: config?.peer.endpoint ?? null,
        orgs: config === undefined ? [] : [...new Set(config.identities.map((identity) => identity.mspId))],
        height,
      };
      reporter.result(status, () =>
        [
          `devnet:     ${status.running ? `running (pid ${status.pid})` : 'stopped'}`,
          `home:       ${home}`,
          `consortium: ${status.consortium ? status.orgs.join(', ') : 'none (run `decenter network up`)'}`,
          ...(status.endpoint === null ? [] : [`endpoint:   ${status.endpoint}`]),
          ...(height === null ? [] : [`height:     ${height} blocks`]),
        ].join('\n'),
      );
    });

  network
    .command('add-org')
    .description('admit a new member organization with its identities, keeping all state')
    .argument('<name>', 'organization name, e.g. Org4 (its MSP ID is <name>MSP)')
    .option('--home <dir>', 'DECENTER_HOME (default: <repo>/.decenter)')
    .action(async (name: string, options: { home?: string }) => {
      const reporter = context.reporter();
      const home = context.home(options.home);
      const updated = await addOrg({ home, name });
      const added = updated.identities.filter((identity) => identity.org === name);
      reporter.result(
        { org: name, identities: added.map(({ org, mspId, user, role }) => ({ org, mspId, user, role })) },
        () =>
          `Organization ${name} admitted.\n` +
          table(
            ['IDENTITY', 'MSP', 'ROLE'],
            added.map((identity) => [`${identity.org}/${identity.user}`, identity.mspId, identity.role]),
          ),
      );
    });

  network
    .command('add-identity')
    .description(
      "issue one more identity of a member org from the org's dev CA (e.g. for a second execution node)",
    )
    .argument('<org>', 'a member organization, e.g. Org1')
    .argument('<user>', 'the new user name, e.g. executor2')
    .requiredOption('--role <role>', `one of ${IDENTITY_ROLES.join(', ')}`, parseRole)
    .option('--home <dir>', 'DECENTER_HOME (default: <repo>/.decenter)')
    .action(async (org: string, user: string, options: { role: IdentityRole; home?: string }) => {
      const reporter = context.reporter();
      const home = context.home(options.home);
      const added = await addIdentity({ home, org, user, role: options.role });
      reporter.result(
        { org: added.org, mspId: added.mspId, user: added.user, role: added.role, cert: added.cert },
        () =>
          `Identity ${added.org}/${added.user} (${added.role}) issued by ${added.org}'s CA.\n` +
          `certificate: ${added.cert}\nkey:         ${added.key}`,
      );
    });
}
