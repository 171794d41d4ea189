import path from 'node:path';

import { parseCli, resolveValidatorConfig } from './validator.config';

describe('validator configuration', () => {
  it('parses the identity, home and poll interval', () => {
    expect(parseCli(['--identity', 'Org2/validator1', '--home', '/h', '--poll-seconds', '2'])).toEqual({
      identity: 'Org2/validator1',
      home: '/h',
      pollSeconds: 2,
    });
  });

  it('refuses a missing identity, unknown options and bad intervals with the usage line', () => {
    expect(() => parseCli([])).toThrow(/--identity ORG\/USER is required[\s\S]*usage:/);
    expect(() => parseCli(['--identity', 'Org2/validator1', '--role', 'x'])).toThrow(/usage:/);
    expect(() => parseCli(['--identity', 'Org2/validator1', '--poll-seconds', '0'])).toThrow(/0.2 to 3600/);
  });

  it('resolves folders from the home, and needs one', () => {
    const config = resolveValidatorConfig({ identity: 'Org2/validator1', home: 'h' }, {}, '/work');
    expect(config).toMatchObject({
      org: 'Org2',
      user: 'validator1',
      home: '/work/h',
      networkConfigPath: path.join('/work/h', 'network.json'),
      nodeDir: path.join('/work/h', 'nodes', 'Org2-validator1'),
      storageDir: path.join('/work/h', 'storage'),
      pollMs: 10_000,
    });
    expect(() => resolveValidatorConfig({ identity: 'Org2/validator1' }, {}, '/work')).toThrow(
      /no DeCenter home/,
    );
  });
});
