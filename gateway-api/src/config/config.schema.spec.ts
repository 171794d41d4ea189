import { ConfigError } from '../errors/gateway.errors';
import { loadConfig } from './config.schema';

const root = { repoRoot: '/repo' };

describe('loadConfig', () => {
  it('applies defaults under <repo>/.decenter', () => {
    const config = loadConfig({ GATEWAY_ORG: 'Org1' }, root);
    expect(config).toMatchObject({
      home: '/repo/.decenter',
      org: 'Org1',
      host: '127.0.0.1',
      storageDir: '/repo/.decenter/storage',
      uploadDir: '/repo/.decenter/storage/uploads',
      auditDir: '/repo/.decenter/audit',
      shardSize: 2 * 1024 ** 3,
      blockSize: 4 * 1024 ** 2,
      corsOrigins: ['http://localhost:5173', 'http://127.0.0.1:5173'],
      cookieSecure: false,
    });
  });

  it('names every missing or invalid variable in one error', () => {
    let error: unknown;
    try {
      loadConfig(
        {
          GATEWAY_PORT: 'eighty',
          REDIS_URL: 'http://x',
          BLOCK_SIZE: '4096',
          SHARD_SIZE: '12288',
          CORS_ORIGINS: 'nope',
        },
        root,
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const variable of ['GATEWAY_ORG', 'GATEWAY_PORT', 'REDIS_URL', 'SHARD_SIZE', 'CORS_ORIGINS']) {
      expect(problems).toContain(`${variable}:`);
    }
    expect(problems).toContain('GATEWAY_ORG: is required');
    expect((error as ConfigError).hint).toContain('environment variables');
  });

  it('accepts a shard size that is the block size times a power of two', () => {
    expect(loadConfig({ GATEWAY_ORG: 'Org1', BLOCK_SIZE: '4096', SHARD_SIZE: '16384' }, root).shardSize).toBe(
      16384,
    );
  });
});
