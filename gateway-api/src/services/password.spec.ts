import {
  OWASP_SCRYPT_MINIMUMS,
  generatePassword,
  hashPassword,
  meetsOwaspMinimum,
  verifyPassword,
} from './password';

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

  it("judges scrypt settings against OWASP's equivalent minimums", () => {
    for (const min of OWASP_SCRYPT_MINIMUMS) {
      expect(meetsOwaspMinimum({ N: min.N, r: 8, p: min.p })).toBe(true);
      expect(meetsOwaspMinimum({ N: min.N / 2, r: 8, p: min.p })).toBe(false);
      expect(meetsOwaspMinimum({ N: min.N, r: 4, p: min.p })).toBe(false);
    }
    expect(meetsOwaspMinimum({ N: 2 ** 14, r: 8, p: 4 })).toBe(false);
    expect(meetsOwaspMinimum({ N: 2 ** 12, r: 8, p: 16 })).toBe(false);
  });

  it('uses a cost OWASP recommends by default and random 24-character passwords', async () => {
    const stored = await hashPassword('x');
    expect(meetsOwaspMinimum(stored)).toBe(true);
    // An old hash at N=2^17, p=1 keeps verifying with the parameters stored beside it.
    const old = await hashPassword('y', { N: 2 ** 17, p: 1 });
    await expect(verifyPassword('y', old)).resolves.toBe(true);
    expect(Buffer.from(stored.salt, 'base64')).toHaveLength(16);
    expect(generatePassword()).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(generatePassword()).not.toBe(generatePassword());
  });
});
