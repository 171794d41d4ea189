import { generatePassword, hashPassword, verifyPassword } from './password';

// Low cost parameters keep the test fast; the defaults are checked for their strength separately.
const FAST = { N: 1024 };

describe('password hashing (scrypt)', () => {
  it('verifies the right password and refuses any other', async () => {
    const stored = await hashPassword('correct horse', FAST);
    expect(stored.algorithm).toBe('scrypt');
    await expect(verifyPassword('correct horse', stored)).resolves.toBe(true);
    await expect(verifyPassword('correct hors', stored)).resolves.toBe(false);
    await expect(verifyPassword('', stored)).resolves.toBe(false);
  });

  it('salts every hash', async () => {
    const a = await hashPassword('same', FAST);
    const b = await hashPassword('same', FAST);
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
  });

  it('uses a strong cost by default and random 24-character passwords', async () => {
    const stored = await hashPassword('x');
    expect(stored.N).toBeGreaterThanOrEqual(2 ** 17);
    expect(Buffer.from(stored.salt, 'base64')).toHaveLength(16);
    expect(generatePassword()).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(generatePassword()).not.toBe(generatePassword());
  });
});
