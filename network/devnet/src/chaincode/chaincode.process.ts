import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ChaincodeError } from '../errors';

/** Asks the OS for a free loopback port for the chaincode server. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/** The `fabric-chaincode-node` CLI the chaincode package itself depends on, as a peer's CCaaS builder uses it. */
export function resolveServerCli(chaincodeDir: string): string {
  const local = join(chaincodeDir, 'node_modules', '.bin', 'fabric-chaincode-node');
  if (existsSync(local)) return realpathSync(local);
  try {
    return require.resolve('fabric-shim/cli.js', { paths: [chaincodeDir] });
  } catch (err) {
    throw new ChaincodeError(
      `fabric-shim is not installed for the chaincode in ${chaincodeDir}: run \`npm ci\` there first.`,
      { cause: err },
    );
  }
}

/** Fails early, with the fix, when the chaincode package is missing or has not been built. */
export function checkChaincodePackage(chaincodeDir: string): void {
  let main = 'index.js';
  try {
    const pkg = JSON.parse(readFileSync(join(chaincodeDir, 'package.json'), 'utf8')) as { main?: unknown };
    if (typeof pkg.main === 'string') main = pkg.main;
  } catch (err) {
    throw new ChaincodeError(`No chaincode package at ${chaincodeDir} (package.json missing or invalid).`, {
      cause: err,
    });
  }
  const entry = join(chaincodeDir, main);
  if (!existsSync(entry) && !existsSync(`${entry}.js`)) {
    throw new ChaincodeError(
      `Chaincode entry ${entry} does not exist: run \`npm run build\` in ${chaincodeDir}.`,
    );
  }
}

/**
 * Source run in the chaincode process before the shim loads: wraps winston's createLogger, as resolved by
 * fabric-shim and fabric-contract-api, so that each level method first asks isLevelEnabled (which follows
 * later level changes). Plain JavaScript text, since it runs in a process of its own.
 */
const QUIET_WINSTON = `
function quietWinston(chaincodeDir) {
  const { dirname } = require('node:path');
  for (const pkg of ['fabric-shim', 'fabric-contract-api']) {
    let winston;
    try {
      const dir = dirname(require.resolve(pkg + '/package.json', { paths: [chaincodeDir] }));
      winston = require(require.resolve('winston', { paths: [dir] }));
    } catch {
      continue;
    }
    if (winston.devnetQuiet) continue;
    winston.devnetQuiet = true;
    const create = winston.createLogger;
    winston.createLogger = function (...args) {
      const logger = create.apply(this, args);
      for (const level of Object.keys(logger.levels)) {
        const log = logger[level];
        if (typeof log !== 'function') continue;
        logger[level] = function (...rest) {
          return logger.isLevelEnabled(level) ? log.apply(this, rest) : logger;
        };
      }
      return logger;
    };
  }
}`;

export interface ChaincodeProcessOptions {
  chaincodeDir: string;
  chaincodeId: string;
  port: number;
  onLine: (line: string) => void;
  onExit: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/**
 * Starts the chaincode unmodified as chaincode-as-a-service: `fabric-chaincode-node server` listening on
 * loopback, exactly as it runs beside a real peer. Its output goes to the devnet's stderr, prefixed.
 */
export function spawnChaincodeServer(opts: ChaincodeProcessOptions): ChildProcess {
  const cli = resolveServerCli(opts.chaincodeDir);
  // The CLI runs as is, with two additions. A watchdog on stdin, a pipe from the devnet: when the devnet dies
  // (even by kill -9) the pipe closes and the chaincode server exits instead of lingering as an orphan.
  // And log calls below the logging level return before winston formats them: winston formats every record
  // (timestamp, metadata, colors) and only then lets the transport drop it, about 20 us per call, and the
  // shim logs a dozen debug lines per transaction. What is printed is unchanged.
  const bootstrap = [
    "process.stdin.on('end', () => process.exit(0));",
    "process.stdin.on('error', () => process.exit(0));",
    'process.stdin.resume();',
    QUIET_WINSTON,
    `quietWinston(${JSON.stringify(opts.chaincodeDir)});`,
    `process.argv = [process.argv[0], ${JSON.stringify(cli)}, ...process.argv.slice(1)];`,
    `require(${JSON.stringify(cli)});`,
  ].join('\n');
  const child = spawn(
    process.execPath,
    [
      '-e',
      bootstrap,
      'server',
      '--chaincode-address',
      `127.0.0.1:${opts.port.toString()}`,
      '--chaincode-id',
      opts.chaincodeId,
      '--module-path',
      opts.chaincodeDir,
    ],
    {
      cwd: opts.chaincodeDir,
      stdio: ['pipe', 'pipe', 'pipe'],
      // Quiet by default; a CORE_CHAINCODE_LOGGING_LEVEL the user set still wins.
      env: { CORE_CHAINCODE_LOGGING_LEVEL: 'warning', ...process.env },
    },
  );
  child.on('error', (err) => {
    opts.onLine(`failed to start the chaincode server: ${err.message}`);
  });
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      process.stderr.write(`[chaincode] ${line}\n`);
      opts.onLine(line);
    }
  };
  child.stdout.on('data', forward);
  child.stderr.on('data', forward);
  child.once('exit', opts.onExit);
  return child;
}
