import { DEFAULT_BLOCK_SIZE } from '@decenter/core';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { CliOperationError } from '../cli.errors';
import { GatewayClient, GatewayError } from './gateway.client';

/** A real HTTP server answering /api/config as told; records what the client asked. */
async function gatewayAnswering(status: number, body: unknown) {
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  return {
    url,
    requests,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const config = (uploads: Record<string, unknown>) => ({ org: 'Org1', mspId: 'Org1MSP', uploads });

describe('GatewayClient.uploadSettings', () => {
  it("uses the block size the gateway announces, asking once per client with the user's token", async () => {
    const gateway = await gatewayAnswering(
      200,
      config({ blockSize: 1_048_576, shardSize: 2_097_152, digest: 'sha256-merkle' }),
    );
    try {
      const client = new GatewayClient(gateway.url, 'tok-0123456789abcdef');
      expect(await client.uploadSettings()).toEqual({ blockSize: 1_048_576 });
      expect(await client.uploadSettings()).toEqual({ blockSize: 1_048_576 });
      expect(gateway.requests).toHaveLength(1);
      expect(gateway.requests[0]?.url).toBe('/api/config');
      expect(gateway.requests[0]?.headers.authorization).toBe('Bearer tok-0123456789abcdef');
    } finally {
      await gateway.stop();
    }
  });

  it('falls back to the default block size when the gateway predates /api/config (404)', async () => {
    const gateway = await gatewayAnswering(404, { statusCode: 404, code: 'NOT_FOUND', message: 'no route' });
    try {
      expect(await new GatewayClient(gateway.url, 'tok-0123456789abcdef').uploadSettings()).toEqual({
        blockSize: DEFAULT_BLOCK_SIZE,
      });
    } finally {
      await gateway.stop();
    }
  });

  it('does not guess when the session is refused', async () => {
    const gateway = await gatewayAnswering(401, {
      statusCode: 401,
      code: 'ACCESS_DENIED',
      message: 'expired',
    });
    try {
      await expect(
        new GatewayClient(gateway.url, 'tok-0123456789abcdef').uploadSettings(),
      ).rejects.toMatchObject({
        name: 'GatewayError',
        status: 401,
        code: 'ACCESS_DENIED',
      } satisfies Partial<GatewayError>);
    } finally {
      await gateway.stop();
    }
  });

  it('refuses an answer without a usable block size, and a digest scheme it does not compute', async () => {
    for (const [uploads, code] of [
      [{ blockSize: 0 }, 'INTERNAL'],
      [{ blockSize: '4194304' }, 'INTERNAL'],
      [{ blockSize: 65_536, digest: 'blake3-tree' }, 'FAILED_PRECONDITION'],
    ] as const) {
      const gateway = await gatewayAnswering(200, config(uploads));
      try {
        const settings = new GatewayClient(gateway.url, 'tok-0123456789abcdef').uploadSettings();
        await expect(settings).rejects.toBeInstanceOf(CliOperationError);
        await expect(settings).rejects.toMatchObject({ code });
      } finally {
        await gateway.stop();
      }
    }
  });
});
