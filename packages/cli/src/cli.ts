import { Command, CommanderError } from 'commander';

import { processIo, Reporter, type CliIo } from './cli-output';
import { CommandContext } from './command-context';
import { registerAuthCommands } from './commands/auth.command';
import { registerCertCommands } from './commands/cert.command';
import { registerDemoCommand } from './commands/demo.command';
import { registerJobCommands } from './commands/job.command';
import {
  registerGatewayJobCommands,
  registerJobCancelCommand,
  registerModelCommands,
} from './commands/job-gateway.command';
import { registerLedgerCommands } from './commands/ledger.command';
import { registerNetworkCommands } from './commands/network.command';
import { registerNodeCommands } from './commands/node.command';
import { registerSpecCommands } from './commands/spec.command';
import { registerStackCommands } from './commands/stack.command';
import { EXIT, exitCodeFor } from './exit-codes';

export const VERSION = '0.1.0';

/** Builds the `decenter` command tree; every command and subcommand has its own --help. */
export function buildProgram(context: CommandContext, json: () => boolean): Command {
  const program = new Command('decenter')
    .description('DeCenter: a permissioned consortium that trains machine-learning models together')
    .version(VERSION)
    .option('--json', 'print one machine-readable JSON document on stdout')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 failure, 2 usage error, 3 not found, 4 access denied, 5 network unavailable.\n' +
        'Environment: DECENTER_HOME (default <repo>/.decenter), DECENTER_NETWORK (devnet|fabric), DECENTER_IDENTITY.',
    );
  program.configureOutput({
    writeOut: (text) => {
      context.io.out(text);
    },
    writeErr: (text) => {
      context.io.err(text);
    },
    // In --json mode the usage error is reported once, as the JSON document, by run().
    outputError: (text, write) => {
      if (!json()) write(text);
    },
  });
  registerSpecCommands(program, context);
  registerNetworkCommands(program, context);
  registerLedgerCommands(program, context);
  const job = registerJobCommands(program, context);
  registerGatewayJobCommands(job, context);
  registerJobCancelCommand(job, context);
  registerModelCommands(program, context);
  registerAuthCommands(program, context);
  registerCertCommands(program, context);
  registerDemoCommand(program, context);
  registerStackCommands(program, context);
  registerNodeCommands(program, context);
  // Subcommands inherit exitOverride and the output settings only when set on each of them.
  const configure = (command: Command): void => {
    command.exitOverride();
    if (command !== program) command.configureOutput(program.configureOutput());
    // In --json mode stderr carries nothing but what cannot be helped; the error is in the JSON document.
    if (!json()) command.showHelpAfterError(command === program ? '(run with --help for usage)' : true);
    command.commands.forEach(configure);
  };
  configure(program);
  return program;
}

/** Runs the CLI on `argv` (without node and script) and returns the exit code; never calls process.exit. */
export async function run(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  // Known before parsing, so that even a usage error comes out as JSON.
  const json = (): boolean => argv.includes('--json');
  const context = new CommandContext(io, json);
  const program = buildProgram(context, json);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return context.code;
  } catch (err) {
    const code = exitCodeFor(err);
    if (err instanceof CommanderError) {
      if (code !== EXIT.ok && json()) {
        new Reporter(io, true).error(
          Object.assign(new Error(err.message.replace(/^error: /, '')), {
            name: 'UsageError',
            code: 'USAGE',
          }),
        );
      }
      return code;
    }
    new Reporter(io, json()).error(err);
    return code;
  }
}
