import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ChaincodeError, NetworkConfigError, createConsortium, startDevnet } from '../src';
import { removeHome, tempHome } from './support/clients';

jest.setTimeout(30_000);

describe('devnet start-up errors', () => {
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
});
