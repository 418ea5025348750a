import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoverMessageAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { loadAccountKey } from './key-file.js';
import { encryptPrivateKey } from './keystore.js';

describe('loadAccountKey: the account key a service signs with, from where the operator keeps it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecdsa-keys-'));

  it('generate → load → sign: a V3 keystore and its passphrase file give back the key, whose signatures recover to it', async () => {
    const key = generatePrivateKey();
    writeFileSync(
      join(dir, 'k.json'),
      JSON.stringify(await encryptPrivateKey(key, 'pass', { kdf: 'pbkdf2' })),
    );
    writeFileSync(join(dir, 'k.pass'), 'pass\n');
    const loaded = await loadAccountKey({
      keystoreFile: join(dir, 'k.json'),
      keystorePasswordFile: join(dir, 'k.pass'),
    });
    expect(loaded).toBe(key);
    const account = privateKeyToAccount(loaded);
    const signature = await account.signMessage({ message: 'an envelope' });
    expect(await recoverMessageAddress({ message: 'an envelope', signature })).toBe(account.address);
  });

  it('refuses none, both, a missing passphrase file and a wrong passphrase, typed', async () => {
    await expect(loadAccountKey({})).rejects.toMatchObject({ code: 'ECDSA_KEY_CONFIG' });
    await expect(
      loadAccountKey({ privateKey: generatePrivateKey(), keystoreFile: 'x' }),
    ).rejects.toMatchObject({
      code: 'ECDSA_KEY_CONFIG',
    });
    await expect(loadAccountKey({ keystoreFile: join(dir, 'k.json') })).rejects.toMatchObject({
      code: 'ECDSA_KEY_CONFIG',
    });
    writeFileSync(join(dir, 'bad.pass'), 'nope');
    await expect(
      loadAccountKey({ keystoreFile: join(dir, 'k.json'), keystorePasswordFile: join(dir, 'bad.pass') }),
    ).rejects.toMatchObject({ code: 'ECDSA_KEYSTORE_PASSWORD' });
  });
});
