import { Client } from '@bnb-chain/greenfield-js-sdk';

import { SecretKey } from './greenfield.config';
import {
  addressOfKey,
  EMPTY_BODY_SHA256,
  gnfdTime,
  recoverSpRequestSigner,
  signSpRequest,
} from './sp-request.signer';

const KEY = new SecretKey('0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318');

describe('GNFD1-ECDSA request signing', () => {
  const date = new Date('2026-11-22T06:00:00.000Z');
  const expiry = new Date('2026-11-22T08:00:00.000Z');

  it('produces the same Authorization as the SDK signer for the same request', async () => {
    const sdk = Client.create('http://127.0.0.1:1', 'greenfield_5600-1');
    const sdkHeaders = await sdk.spClient.signHeaders(
      {
        contentSHA256: EMPTY_BODY_SHA256,
        method: 'POST',
        url: { hostname: 'bkt.sp.example', query: 'complete=true&offset=0', path: '/jobs/j1/a.csv' },
        contentType: 'application/octet-stream',
        date,
        expiryTimestamp: expiry,
      } as never,
      { type: 'ECDSA', privateKey: KEY.reveal() },
    );
    const ours = signSpRequest(
      {
        method: 'POST',
        path: '/jobs/j1/a.csv',
        query: 'complete=true&offset=0',
        hostname: 'bkt.sp.example',
        headers: {
          'content-type': 'application/octet-stream',
          'x-gnfd-content-sha256': EMPTY_BODY_SHA256,
          'x-gnfd-date': gnfdTime(date),
          'x-gnfd-expiry-timestamp': gnfdTime(expiry),
        },
      },
      KEY,
    );
    expect(sdkHeaders.get('x-gnfd-date')).toBe(gnfdTime(date));
    expect(ours).toBe(sdkHeaders.get('Authorization'));
  });

  it('recovers the signer, and nobody when anything signed changes', () => {
    const req = {
      method: 'GET',
      path: '/a',
      query: '',
      hostname: 'bkt.sp.example',
      headers: { range: 'bytes=0-9', 'x-gnfd-date': gnfdTime(date) },
    };
    const auth = signSpRequest(req, KEY);
    expect(recoverSpRequestSigner(req, auth)).toBe(addressOfKey(KEY));
    expect(
      recoverSpRequestSigner({ ...req, headers: { ...req.headers, range: 'bytes=0-10' } }, auth),
    ).not.toBe(addressOfKey(KEY));
    expect(recoverSpRequestSigner(req, 'GNFD1-ECDSA, Signature=00')).toBeUndefined();
  });

  it('derives the Ethereum address of a key', () => {
    // The well-known web3.js documentation key and its account.
    expect(addressOfKey(KEY)).toBe('0x2c7536e3605d9c16a7a3d7b1898e529396a65c23');
  });
});
