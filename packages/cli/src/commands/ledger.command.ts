import { getChainInfo } from '@decenter/ledger';
import type { Command } from 'commander';

import type { CommandContext } from '../command-context';

export const IDENTITY_OPTION = [
  '--identity <org/user>',
  'identity that signs, e.g. Org1/user1 (default: DECENTER_IDENTITY or the first member)',
] as const;

export function registerLedgerCommands(program: Command, context: CommandContext): void {
  const ledger = program.command('ledger').description('look at the ledger itself');

  ledger
    .command('info')
    .description('chain height and head block hash, from the peer (qscc GetChainInfo)')
    .option(...IDENTITY_OPTION)
    .action(async (options: { identity?: string }) => {
      const reporter = context.reporter();
      const info = await context.withLedger(options, async (connection) => ({
        endpoint: connection.config.peer.endpoint,
        identity: `${connection.identity.org}/${connection.identity.user}`,
        ...(await getChainInfo(connection)),
      }));
      reporter.result(info, () =>
        [
          `endpoint:            ${info.endpoint}`,
          `channel:             ${info.channel}`,
          `height:              ${info.height} blocks`,
          `current block hash:  ${info.currentBlockHash}`,
          `previous block hash: ${info.previousBlockHash}`,
        ].join('\n'),
      );
    });
}
