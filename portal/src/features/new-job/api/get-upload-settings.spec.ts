import { DEFAULT_BLOCK_SIZE } from '@decenter/core';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { ApiError } from '../../../lib/api-client';
import { stubGatewayFetch } from '../../../test/fake-gateway';
import { fetchUploadSettings } from './get-upload-settings';

const config = (uploads: Record<string, unknown>) => ({
  org: 'Org1',
  mspId: 'Org1MSP',
  uploads: {
    blockSize: 1_048_576,
    shardSize: 2_147_483_648,
    maxFileBytes: 21_474_836_480,
    maxUserBytes: 107_374_182_400,
    digest: 'sha256-merkle',
    ...uploads,
  },
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('fetchUploadSettings', () => {
  it("reads the gateway's block size from GET /api/config with the session cookie", async () => {
    const fetchMock = stubGatewayFetch({ '/api/config': config({}) });
    expect(await fetchUploadSettings()).toEqual({ blockSize: 1_048_576 });
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/config');
    expect(init.credentials).toBe('include');
  });

  it('uses the default block size with a gateway that predates /api/config (404)', async () => {
    stubGatewayFetch({});
    expect(await fetchUploadSettings()).toEqual({ blockSize: DEFAULT_BLOCK_SIZE });
  });

  it('does not guess when the answer is not usable', async () => {
    for (const body of [config({ blockSize: 0 }), config({ digest: 'blake3-tree' }), { org: 'Org1' }]) {
      stubGatewayFetch({ '/api/config': body });
      await expect(fetchUploadSettings()).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
    }
  });

  it('passes on a refused session instead of falling back', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(() =>
        Promise.resolve(
          new Response(JSON.stringify({ statusCode: 401, code: 'ACCESS_DENIED', message: 'expired' }), {
            status: 401,
          }),
        ),
      ),
    );
    const settings = fetchUploadSettings();
    await expect(settings).rejects.toBeInstanceOf(ApiError);
    await expect(settings).rejects.toMatchObject({ status: 401 });
  });
});
