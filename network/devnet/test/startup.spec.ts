import * as grpc from '@grpc/grpc-js';
import { GatewayError } from '@hyperledger/fabric-gateway';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ChaincodeError, NetworkConfigError, createConsortium, startDevnet } from '../src';
import { FIXTURE_CHAINCODE, connectAs, removeHome, tempHome } from './support/clients';

jest.setTimeout(30_000);

describe('devnet start and stop', () => {
  let home: string;

  beforeEach(async () => {
    home = await tempHome();
  });

  afterEach(async () => {
    await removeHome(home);
  });

  it('asks for the consortium to be created first', async () => {
    await expect(startDevnet({ home, port: 0, log: () => undefined })).rejects.toThrow(NetworkConfigError);
  });

  it('asks for a build when the chaincode entry point is missing', async () => {
    await createConsortium({ home, orgs: ['Org1'] });
    const chaincodeDir = join(home, 'unbuilt');
    await mkdir(chaincodeDir);
    await writeFile(
      join(chaincodeDir, 'package.json'),
      JSON.stringify({ name: 'unbuilt', main: 'dist/index.js' }),
    );
    await expect(startDevnet({ home, port: 0, chaincodeDir, log: () => undefined })).rejects.toThrow(
      /npm run build/,
    );
  });

  it('reports a chaincode that crashes while loading, with its output, instead of retrying forever', async () => {
    await createConsortium({ home, orgs: ['Org1'] });
    const started = Date.now();
    const error = await startDevnet({
      home,
      port: 0,
      chaincodeDir: join(__dirname, 'fixtures', 'broken-chaincode'),
      log: () => undefined,
    }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ChaincodeError);
    expect((error as Error).message).toContain('deliberately broken chaincode');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('stops promptly with listeners attached, ending their streams with UNAVAILABLE', async () => {
    const config = await createConsortium({ home, orgs: ['Org1'] });
    const devnet = await startDevnet({
      home,
      port: 0,
      chaincodeDir: FIXTURE_CHAINCODE,
      log: () => undefined,
    });
    const conn = await connectAs(config, devnet.endpoint, 'Org1', 'user1');
    try {
      const network = conn.gateway.getNetwork(config.channel);
      const events = await network.getChaincodeEvents(config.chaincode);
      const blocks = await network.getBlockEvents();
      // Settled into values at once, so the expected rejections are never unhandled.
      const nextEvent = events[Symbol.asyncIterator]()
        .next()
        .then(
          () => null,
          (err: unknown) => err,
        );
      const nextBlock = blocks[Symbol.asyncIterator]()
        .next()
        .then(
          () => null,
          (err: unknown) => err,
        );
      const started = Date.now();
      await devnet.stop();
      expect(Date.now() - started).toBeLessThan(1_500);
      const eventError = await nextEvent;
      expect(eventError).toBeInstanceOf(GatewayError);
      expect((eventError as GatewayError).code).toBe(grpc.status.UNAVAILABLE);
      expect(await nextBlock).toBeInstanceOf(GatewayError);
    } finally {
      conn.close();
    }
  });
});
