import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

import { UsageError } from '../cli.errors';
import type { CommandContext } from '../command-context';
import { GatewayClient } from '../gateway/gateway.client';
import { saveSession } from '../gateway/session.store';
import { GATEWAY_OPTION, gatewayUrlFor, HOME_OPTION } from './gateway-context';

/** Asks for the password on the terminal without echoing it. */
function promptPassword(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    let muted = false;
    const output = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (!muted) process.stderr.write(chunk);
        callback();
      },
    });
    const rl = createInterface({ input: process.stdin, output, terminal: true });
    rl.question(prompt, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    muted = true;
  });
}

export function registerAuthCommands(program: Command, context: CommandContext): void {
  program
    .command('login')
    .description(
      "sign in to your org's gateway; the session token is kept in $DECENTER_HOME/cli-session.json (mode 0600)",
    )
    .requiredOption('--org <org>', 'your organization, e.g. Org1')
    .requiredOption('--user <user>', 'your user name, e.g. user1')
    .option('--password-stdin', 'read the password from standard input instead of a prompt')
    .option(...GATEWAY_OPTION)
    .option(...HOME_OPTION)
    .action(
      async (options: {
        org: string;
        user: string;
        passwordStdin?: boolean;
        gateway?: string;
        home?: string;
      }) => {
        const reporter = context.reporter();
        const home = context.home(options.home);
        let password: string;
        if (options.passwordStdin === true) {
          if (context.io.readStdin === undefined)
            throw new UsageError('there is no standard input to read the password from');
          password = (await context.io.readStdin()).replace(/\r?\n$/, '');
        } else {
          if (!process.stdin.isTTY) {
            throw new UsageError('no terminal to ask for the password', 'Pipe it in with --password-stdin.');
          }
          password = await promptPassword(`Password for ${options.org}/${options.user}: `);
        }
        if (password === '') throw new UsageError('the password is empty');
        const gateway = await gatewayUrlFor(home, options.org, options.gateway);
        const { token, user } = await new GatewayClient(gateway).login(options.org, options.user, password);
        const file = await saveSession(home, {
          gateway,
          token,
          org: user.org,
          username: user.username,
          ...(user.expiresAt === undefined ? {} : { expiresAt: user.expiresAt }),
        });
        reporter.result(
          {
            signedIn: true,
            org: user.org,
            username: user.username,
            gateway,
            sessionFile: file,
            expiresAt: user.expiresAt ?? null,
          },
          () => `Signed in as ${user.org}/${user.username} at ${gateway} (session in ${file}).`,
        );
      },
    );
}
