import { parseArgs } from 'node:util';
import { startDevnet } from './devnet';

const USAGE =
  'usage: node main.js --home DIR [--port N] [--host H] [--chaincode-dir DIR] [--block-size N] [--block-timeout-ms N]';

function intOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`--${name} must be a non-negative integer. ${USAGE}`);
  return Number(value);
}

/** Runs the devnet in the foreground until SIGTERM or SIGINT. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      home: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'chaincode-dir': { type: 'string' },
      'block-size': { type: 'string' },
      'block-timeout-ms': { type: 'string' },
    },
  });
  if (!values.home) throw new Error(`--home is required. ${USAGE}`);
  const devnet = await startDevnet({
    home: values.home,
    host: values.host,
    port: intOption('port', values.port),
    chaincodeDir: values['chaincode-dir'],
    blockSize: intOption('block-size', values['block-size']),
    blockTimeoutMs: intOption('block-timeout-ms', values['block-timeout-ms']),
  });
  process.stdout.write(JSON.stringify({ event: 'ready', endpoint: devnet.endpoint }) + '\n');
  const shutdown = (signal: string) => {
    devnet.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`devnet: error while stopping after ${signal}: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => {
    shutdown('SIGTERM');
  });
  process.once('SIGINT', () => {
    shutdown('SIGINT');
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`devnet: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
