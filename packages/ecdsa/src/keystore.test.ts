import { privateKeyToAddress } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { decryptPrivateKey, EcdsaError, encryptPrivateKey, recoverSigner, Signer } from './index.js';

// Web3 Secret Storage (V3): the definition's two test vectors
// (https://ethereum.org/en/developers/docs/data-structures-and-encoding/web3-secret-storage/#test-vectors)
// decrypt to their key, and a key written by encryptPrivateKey loads back and signs.

const SECRET = '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d';
const VECTORS = {
  pbkdf2: {
    crypto: {
      cipher: 'aes-128-ctr',
      cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
      ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
      kdf: 'pbkdf2',
      kdfparams: {
        c: 262144,
        dklen: 32,
        prf: 'hmac-sha256',
        salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd',
      },
      mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
    },
    id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
    version: 3,
  },
  scrypt: {
    crypto: {
      cipher: 'aes-128-ctr',
      cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
      ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
      kdf: 'scrypt',
      kdfparams: {
        dklen: 32,
        n: 262144,
        r: 1,
        p: 8,
        salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19',
      },
      mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
    },
    id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
    version: 3,
  },
} as const;

const code = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    expect(err).toBeInstanceOf(EcdsaError);
    return (err as EcdsaError).code;
  }
};

describe('V3 keystores', () => {
  it.each(Object.entries(VECTORS))(
    'decrypts the %s test vector of the definition',
    async (_kdf, v) => {
      expect(await decryptPrivateKey(v, 'testpassword')).toBe(SECRET);
    },
    60_000,
  );

  it('refuses a wrong passphrase, a malformed file and an address that is not the key', async () => {
    expect(await code(decryptPrivateKey(VECTORS.pbkdf2, 'wrong'))).toBe('ECDSA_KEYSTORE_PASSWORD');
    expect(await code(decryptPrivateKey('{', 'testpassword'))).toBe('ECDSA_KEYSTORE_INVALID');
    expect(await code(decryptPrivateKey({ ...VECTORS.pbkdf2, version: 4 }, 'testpassword'))).toBe(
      'ECDSA_KEYSTORE_INVALID',
    );
    expect(
      await code(
        decryptPrivateKey(
          { ...VECTORS.pbkdf2, crypto: { ...VECTORS.pbkdf2.crypto, kdf: 'argon2' } },
          'testpassword',
        ),
      ),
    ).toBe('ECDSA_KEYSTORE_INVALID');
    expect(
      await code(
        decryptPrivateKey(
          { ...VECTORS.pbkdf2, address: '00000000000000000000000000000000000000aa' },
          'testpassword',
        ),
      ),
    ).toBe('ECDSA_KEYSTORE_INVALID');
  }, 60_000);

  it.each(['scrypt', 'pbkdf2'] as const)(
    'round-trips encrypt (%s) → decrypt → sign',
    async (kdf) => {
      const key = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' as const;
      const ks = await encryptPrivateKey(key, 'correct horse battery staple', { kdf });
      expect(ks.version).toBe(3);
      expect(ks.crypto.kdf).toBe(kdf);
      expect(`0x${ks.address}`).toBe(privateKeyToAddress(key).toLowerCase());
      expect(JSON.stringify(ks)).not.toContain(key.slice(2));
      const loaded = await decryptPrivateKey(JSON.stringify(ks), 'correct horse battery staple');
      expect(loaded).toBe(key);
      const digest = `0x${'ab'.repeat(32)}` as const;
      expect(recoverSigner(digest, new Signer(loaded).sign(digest))).toBe(privateKeyToAddress(key));
    },
    60_000,
  );
});
