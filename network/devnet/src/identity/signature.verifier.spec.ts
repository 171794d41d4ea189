import { generateKeyPairSync, sign } from 'node:crypto';

import { SignatureVerifier } from './signature.verifier';

describe('SignatureVerifier', () => {
  const alice = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const bob = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let verifier: SignatureVerifier;

  afterEach(async () => {
    await verifier.close();
  });

  it.each([
    ['on a worker thread', true],
    ['inline', false],
  ])('answers a batch of checks %s, each for its own key and message', async (_, onWorker) => {
    verifier = new SignatureVerifier(onWorker);
    const checks = Array.from({ length: 40 }, (__, i) => {
      const signer = i % 2 === 0 ? alice : bob;
      const message = Buffer.from(`message ${String(i)}`);
      const signature = sign('sha256', message, signer.privateKey);
      // Every third check is wrong: another message, the other key, or a damaged signature.
      if (i % 3 !== 1) return { key: signer.publicKey, message, signature, valid: true };
      const wrong = i % 9 === 1 ? 'message' : i % 9 === 4 ? 'key' : 'signature';
      return {
        key: wrong === 'key' ? (signer === alice ? bob : alice).publicKey : signer.publicKey,
        message: wrong === 'message' ? Buffer.from('another message') : message,
        signature: wrong === 'signature' ? Buffer.from('not a DER signature') : signature,
        valid: false,
      };
    });
    const results = await Promise.all(checks.map((c) => verifier.verify(c.key, c.message, c.signature)));
    expect(results).toEqual(checks.map((c) => c.valid));
  });

  it('keeps answering after its batches have been sent and after close (inline)', async () => {
    verifier = new SignatureVerifier(true);
    const message = Buffer.from('hello');
    const signature = sign('sha256', message, alice.privateKey);
    expect(await verifier.verify(alice.publicKey, message, signature)).toBe(true);
    expect(await verifier.verify(alice.publicKey, message, signature)).toBe(true);
    const pending = verifier.verify(bob.publicKey, message, signature);
    await verifier.close();
    expect(await pending).toBe(false);
    expect(await verifier.verify(alice.publicKey, message, signature)).toBe(true);
  });
});
