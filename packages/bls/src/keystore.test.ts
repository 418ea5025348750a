import { describe, expect, it } from 'vitest';
import { BlsError } from './errors.js';
import { fromHex, toHex } from './hex.js';
import { secretKeyFromSeed } from './keys.js';
import { decryptSecretKey, encryptSecretKey } from './keystore.js';
import { publicKeyOf, sign, verify } from './signatures.js';
import { EIP2335_VECTORS } from './testing/eip2335-vectors.js';

// EIP-2335 keystores: the EIP's own test vectors decrypt to its secret (and
// their pubkey is the one this package derives), and a key written by
// encryptSecretKey loads back and signs.

const code = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    expect(err).toBeInstanceOf(BlsError);
    return (err as BlsError).code;
  }
};

describe('EIP-2335 keystores', () => {
  it.each(EIP2335_VECTORS.map((v) => [v.name, v]))(
    'decrypts the test vector %s to its secret, whose public key is the vector pubkey',
    async (_name, v) => {
      const sk = await decryptSecretKey(v, v.password);
      expect(toHex(sk)).toBe(v.secret);
      expect(toHex(publicKeyOf(sk)).slice(2)).toBe(v.pubkey);
    },
    60_000,
  );

  it('refuses a wrong passphrase and a tampered or foreign file, with typed codes', async () => {
    const v = EIP2335_VECTORS[0];
    expect(await code(decryptSecretKey(v, 'not the passphrase'))).toBe('BLS_KEYSTORE_PASSWORD');
    expect(await code(decryptSecretKey('{not json', v.password))).toBe('BLS_KEYSTORE_INVALID');
    expect(await code(decryptSecretKey({ version: 3, crypto: {} }, v.password))).toBe('BLS_KEYSTORE_INVALID');
    // Another key's pubkey in clear: the file does not hold the key it names.
    const other = toHex(publicKeyOf(secretKeyFromSeed(new Uint8Array(32).fill(9)))).slice(2);
    expect(await code(decryptSecretKey({ ...v, pubkey: other }, v.password))).toBe('BLS_KEYSTORE_INVALID');
  }, 60_000);

  it.each(['scrypt', 'pbkdf2'] as const)(
    'round-trips generate → encrypt (%s) → decrypt → sign',
    async (kdf) => {
      const sk = secretKeyFromSeed(new Uint8Array(32).fill(7));
      const ks = await encryptSecretKey(sk, 'correct horse battery staple', { kdf, description: 'keeper 7' });
      expect(ks.version).toBe(4);
      expect(ks.crypto.kdf.function).toBe(kdf);
      expect(ks.pubkey).toBe(toHex(publicKeyOf(sk)).slice(2));
      // The file never holds the secret in clear.
      expect(JSON.stringify(ks)).not.toContain(toHex(sk).slice(2));
      const loaded = await decryptSecretKey(JSON.stringify(ks), 'correct horse battery staple');
      expect(loaded).toEqual(sk);
      const msg = fromHex('0x1234');
      expect(verify(publicKeyOf(sk), msg, sign(loaded, msg))).toBe(true);
    },
    60_000,
  );
});
