import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SCRIPTS } from './support/fabric-support';

interface Outcome {
  code: number;
  stderr: string;
}

function configUpdate(args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(SCRIPTS, 'config-update.cjs'), ...args], (err, _stdout, stderr) => {
      resolve({ code: err === null ? 0 : Number(err.code), stderr });
    });
  });
}

const group = (name: string): Record<string, unknown> => ({
  groups: {},
  mod_policy: 'Admins',
  policies: { Admins: { policy: { type: 1, value: { name } } } },
  values: { MSP: { value: { config: { name } } } },
  version: '0',
});

/** A decoded config block as configtxlator prints it, reduced to the parts add-org.sh touches. */
function configBlock(): unknown {
  return {
    data: {
      data: [
        {
          payload: {
            data: {
              config: {
                sequence: '3',
                channel_group: {
                  groups: {
                    Application: {
                      groups: {
                        Org1MSP: group('Org1MSP'),
                        Org2MSP: group('Org2MSP'),
                        Org3MSP: group('Org3MSP'),
                      },
                      mod_policy: 'Admins',
                    },
                    Orderer: { groups: { OrdererOrg: group('OrdererMSP') } },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
}

interface ConfigJson {
  channel_group: { groups: { Application: { groups: Record<string, { values?: unknown } | undefined> } } };
}
interface BlockJson {
  data: { data: { payload: { data: { config: ConfigJson } } }[] };
}

const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T;

describe('config-update.cjs (the JSON steps of add-org.sh)', () => {
  let work: string;
  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'fabric-config-update-'));
    await writeFile(join(work, 'config_block.json'), JSON.stringify(configBlock()));
    await writeFile(join(work, 'org.json'), JSON.stringify(group('Org4MSP')));
  });
  afterEach(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('adds the org with its anchor peer to the Application group and keeps the original beside it', async () => {
    expect(await configUpdate(['add-org', work, 'Org4MSP', '127.0.0.1', '7551'])).toEqual({
      code: 0,
      stderr: '',
    });
    const original = await readJson<ConfigJson>(join(work, 'config.json'));
    const modified = await readJson<ConfigJson>(join(work, 'modified_config.json'));
    const block = await readJson<BlockJson>(join(work, 'config_block.json'));
    expect(original).toEqual(block.data.data[0]?.payload.data.config);

    const application = modified.channel_group.groups.Application.groups;
    expect(Object.keys(application).sort()).toEqual(['Org1MSP', 'Org2MSP', 'Org3MSP', 'Org4MSP']);
    expect(application['Org4MSP']?.values).toEqual({
      MSP: { value: { config: { name: 'Org4MSP' } } },
      AnchorPeers: {
        mod_policy: 'Admins',
        value: { anchor_peers: [{ host: '127.0.0.1', port: 7551 }] },
        version: '0',
      },
    });
    // Nothing else changes: compute_update then carries only the new org.
    delete application['Org4MSP'];
    expect(modified).toEqual(original);
  });

  it('refuses an org that is already a member, a bad port and a block without a channel configuration', async () => {
    const again = await configUpdate(['add-org', work, 'Org2MSP', '127.0.0.1', '7551']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/Org2MSP is already a member/);
    expect((await configUpdate(['add-org', work, 'Org4MSP', '127.0.0.1', '70000'])).stderr).toMatch(
      /port "70000" is not valid/,
    );
    await writeFile(join(work, 'config_block.json'), JSON.stringify({ data: { data: [] } }));
    expect((await configUpdate(['add-org', work, 'Org4MSP', '127.0.0.1', '7551'])).stderr).toMatch(
      /no channel configuration/,
    );
  });

  it('wraps the computed update into a CONFIG_UPDATE envelope for its channel only', async () => {
    const update = { channel_id: 'decenter', read_set: { groups: {} }, write_set: { groups: {} } };
    await writeFile(join(work, 'update.json'), JSON.stringify(update));
    expect((await configUpdate(['envelope', work, 'decenter'])).code).toBe(0);
    expect(await readJson<unknown>(join(work, 'update_envelope.json'))).toEqual({
      payload: {
        header: { channel_header: { channel_id: 'decenter', type: 2 } },
        data: { config_update: update },
      },
    });
    const other = await configUpdate(['envelope', work, 'another']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/update.json is for channel "decenter", not "another"/);
    expect((await configUpdate(['rename', work])).stderr).toMatch(/unknown command "rename"/);
  });
});
