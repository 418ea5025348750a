import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromHex, publicKeyOf, sign, toHex, verify } from './index.js';
import { loadBlsSecretKey } from './key-file.js';
import { encryptSecretKey } from './keystore.js';
import { EIP2335_VECTORS } from './testing/eip2335-vectors.js';

const G1_COMPRESSED = (pk: Uint8Array) => toHex(pk).slice(2);

describe('loadBlsSecretKey: the key a service signs with, from where the operator keeps it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bls-keys-'));

  it.each(EIP2335_VECTORS.map((v) => [v.name, v]))(
    'EIP-2335 vector %s: keystore file + passphrase file → the vector secret → signatures its pubkey verifies',
    async (name, v) => {
      const file = join(dir, `${name}.json`);
      const pass = join(dir, `${name}.pass`);
      const {
        password,
        secret,
        name: _n,
        ...keystore
      } = v as typeof v & { password: string; secret: string };
      writeFileSync(file, JSON.stringify(keystore));
      writeFileSync(pass, `${password}\n`);
      const sk = await loadBlsSecretKey({ blsKeystoreFile: file, blsKeystorePasswordFile: pass });
      expect(toHex(sk)).toBe(secret);
      expect(G1_COMPRESSED(publicKeyOf(sk))).toBe(v.pubkey);
      const msg = new TextEncoder().encode('a payment message');
      expect(verify(publicKeyOf(sk), msg, sign(sk, msg))).toBe(true);
    },
    60_000,
  );

  it('generate → load → sign: a keystore written with encryptSecretKey loads to the same key', async () => {
    const sk = fromHex(`0x${'07'.repeat(31)}01`);
    writeFileSync(join(dir, 'gen.json'), JSON.stringify(await encryptSecretKey(sk, 'p', { kdf: 'pbkdf2' })));
    writeFileSync(join(dir, 'gen.pass'), 'p');
    const loaded = await loadBlsSecretKey({
      blsKeystoreFile: join(dir, 'gen.json'),
      blsKeystorePasswordFile: join(dir, 'gen.pass'),
    });
    expect(toHex(loaded)).toBe(toHex(sk));
  });

  it('refuses none, both, a keystore without its passphrase, a wrong passphrase and a missing file, typed', async () => {
    const hex = `0x${'07'.repeat(31)}01`;
    await expect(loadBlsSecretKey({})).rejects.toMatchObject({ code: 'BLS_KEY_CONFIG' });
    await expect(loadBlsSecretKey({ blsSecretKey: hex, blsKeystoreFile: 'x' })).rejects.toMatchObject({
      code: 'BLS_KEY_CONFIG',
    });
    await expect(loadBlsSecretKey({ blsKeystoreFile: join(dir, 'gen.json') })).rejects.toMatchObject({
      code: 'BLS_KEY_CONFIG',
    });
    writeFileSync(join(dir, 'wrong.pass'), 'not it');
    await expect(
      loadBlsSecretKey({
        blsKeystoreFile: join(dir, 'gen.json'),
        blsKeystorePasswordFile: join(dir, 'wrong.pass'),
      }),
    ).rejects.toMatchObject({ code: 'BLS_KEYSTORE_PASSWORD' });
    await expect(
      loadBlsSecretKey({
        blsKeystoreFile: join(dir, 'nope.json'),
        blsKeystorePasswordFile: join(dir, 'gen.pass'),
      }),
    ).rejects.toMatchObject({ code: 'BLS_KEY_FILE_UNREADABLE' });
    expect(toHex(await loadBlsSecretKey({ blsSecretKey: hex }))).toBe(hex);
  });
});
