import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  entryPoints,
  gatewayDefinition,
  missingBuilds,
  nodeDefinition,
  progressSettings,
  serviceName,
} from './stack.plan';

describe('stack plan', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cli-plan-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('says what a fresh clone lacks, and nothing once every entry point and the portal exist', async () => {
    const fresh = missingBuilds(root);
    expect(fresh.portal).toBe(true);
    expect(fresh.workspaces).toHaveLength(6);
    const files = [
      ...Object.values(entryPoints(root)),
      join(root, 'chaincode', 'dist', 'index.js'),
      join(root, 'portal', 'dist', 'index.html'),
    ];
    for (const file of files) {
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(file, '');
    }
    expect(missingBuilds(root)).toEqual({ workspaces: [], portal: false });
  });

  it('configures each gateway for its org on loopback, and nodes with their identity and home', () => {
    const gateway = gatewayDefinition(root, {
      home: '/h',
      org: 'Org2',
      httpPort: 8082,
      grpcPort: 50152,
      redisUrl: 'redis://127.0.0.1:6390',
    });
    expect(gateway).toMatchObject({
      name: 'gateway-org2',
      marker: '--org=Org2',
      env: {
        GATEWAY_ORG: 'Org2',
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_PORT: '8082',
        GRPC_PORT: '50152',
        DECENTER_HOME: '/h',
      },
    });
    const executor = nodeDefinition(root, {
      home: '/h',
      role: 'executor',
      identity: 'Org1/executor1',
      configFile: '/h/c.json',
    });
    expect(executor.args.slice(1)).toEqual([
      '--identity',
      'Org1/executor1',
      '--home',
      '/h',
      '--config',
      '/h/c.json',
    ]);
    expect(executor.name).toBe(serviceName.node('executor', 'Org1/executor1'));
    expect(
      nodeDefinition(root, { home: '/h', role: 'validator', identity: 'Org3/validator1' }).args,
    ).toContain('--poll-seconds');
  });
});

describe('progressSettings', () => {
  const gateways = [
    { org: 'Org1', grpcPort: 50151 },
    { org: 'Org2', grpcPort: 50152 },
    { org: 'Org3', grpcPort: 50153 },
  ];

  it("sends each job's progress to the gateway of its owner's org, the node's own org by default", () => {
    expect(progressSettings(gateways, 'Org2')).toEqual({
      progressEndpoints: {
        Org1MSP: '127.0.0.1:50151',
        Org2MSP: '127.0.0.1:50152',
        Org3MSP: '127.0.0.1:50153',
      },
      progressEndpoint: '127.0.0.1:50152',
    });
  });

  it('reports nowhere when no gateway runs', () => {
    expect(progressSettings([], 'Org1')).toEqual({});
  });
});
