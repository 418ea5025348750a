import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptPrivateKey } from '@whitepay/ecdsa';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { withKeeperKey } from './keys.js';

const base = {
  CHALLENGER_KEEPER_ID: '3',
  CHALLENGER_NATS_URL: 'nats://127.0.0.1:4222',
  CHALLENGER_STORE_GRPC_URL: '127.0.0.1:7000',
  CHALLENGER_RPC_URL: 'http://127.0.0.1:8545',
};
const KEY = `0x${'42'.repeat(32)}` as const;
const dir = mkdtempSync(join(tmpdir(), 'challenger-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the keeper account key', () => {
  it('is decrypted from a V3 keystore with its passphrase file', async () => {
    writeFileSync(
      join(dir, 'ks.json'),
      JSON.stringify(await encryptPrivateKey(KEY, 'pass', { kdf: 'pbkdf2' })),
    );
    writeFileSync(join(dir, 'pw'), 'pass\n');
    const cfg = await withKeeperKey(
      loadConfig({
        ...base,
        CHALLENGER_KEEPER_KEYSTORE_FILE: join(dir, 'ks.json'),
        CHALLENGER_KEEPER_KEYSTORE_PASSWORD_FILE: join(dir, 'pw'),
      }),
    );
    expect(cfg.keeperPrivateKey).toBe(KEY);
  });

  it('stays hex when given as hex, and unset when neither is given', async () => {
    expect(
      (await withKeeperKey(loadConfig({ ...base, CHALLENGER_KEEPER_PRIVATE_KEY: KEY }))).keeperPrivateKey,
    ).toBe(KEY);
    expect((await withKeeperKey(loadConfig(base))).keeperPrivateKey).toBeUndefined();
  });

  it('refuses both, and a keystore without its passphrase file', async () => {
    const ks = { CHALLENGER_KEEPER_KEYSTORE_FILE: join(dir, 'ks.json') };
    await expect(
      withKeeperKey(loadConfig({ ...base, ...ks, CHALLENGER_KEEPER_PRIVATE_KEY: KEY })),
    ).rejects.toMatchObject({ code: 'ECDSA_KEY_CONFIG' });
    await expect(withKeeperKey(loadConfig({ ...base, ...ks }))).rejects.toMatchObject({
      code: 'ECDSA_KEY_CONFIG',
    });
  });
});
