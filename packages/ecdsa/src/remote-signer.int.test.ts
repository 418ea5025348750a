import { type AnvilServer, startAnvil, startTxSigner, type TxSignerServer } from '@whitepay/testkit';
import { createPublicClient, createWalletClient, defineChain, http, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteSignerAccount } from './remote-signer.js';

// anvil's dev accounts #5 and #6.
const KEY = '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba';
const OTHER = '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e';
const TO = '0x000000000000000000000000000000000000dEaD';

describe('a transaction key held by a remote signer process (eth_signTransaction)', () => {
  let anvil: AnvilServer;
  const signers: TxSignerServer[] = [];
  const address = privateKeyToAccount(KEY).address;
  let chain: ReturnType<typeof defineChain>;

  beforeAll(async () => {
    anvil = await startAnvil();
    chain = defineChain({
      id: anvil.chainId,
      name: 'anvil',
      nativeCurrency: { name: 'ETH', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [anvil.rpcUrl] } },
    });
  });
  afterAll(async () => {
    for (const s of signers) await s.stop();
    await anvil?.stop();
  });

  const signer = async (opts: Parameters<typeof startTxSigner>[0]) => {
    const s = await startTxSigner(opts);
    signers.push(s);
    return s;
  };
  // As the chain-submitter's sender does: prepare, sign (the remote signer), broadcast the raw bytes.
  const send = async (account: ReturnType<typeof remoteSignerAccount>) => {
    const wallet = createWalletClient({ account, chain, transport: http(anvil.rpcUrl) });
    const request = await wallet.prepareTransactionRequest({ chain, to: TO, value: parseEther('0.001') });
    const raw = await wallet.signTransaction({ ...request, chain } as Parameters<
      typeof wallet.signTransaction
    >[0]);
    return createPublicClient({ chain, transport: http(anvil.rpcUrl) }).sendRawTransaction({
      serializedTransaction: raw,
    });
  };

  it('signs EIP-1559 transactions that land on the chain from the configured account', async () => {
    const s = await signer({ key: KEY, token: 'signer-token' });
    const account = remoteSignerAccount({ url: s.url, address, token: 'signer-token' });
    const pub = createPublicClient({ chain, transport: http(anvil.rpcUrl) });
    const before = await pub.getBalance({ address: TO });
    for (let i = 0; i < 2; i++) {
      const hash = await send(account);
      const receipt = await pub.waitForTransactionReceipt({ hash });
      expect(receipt.status).toBe('success');
      expect(receipt.from.toLowerCase()).toBe(address.toLowerCase());
    }
    expect((await pub.getBalance({ address: TO })) - before).toBe(parseEther('0.002'));
  });

  it('refuses a signature by another key, a tampered transaction, a wrong token and a signer that is down', async () => {
    const other = await signer({ key: OTHER });
    // The signer holds OTHER's key but is configured as if it signed for KEY's address:
    // it refuses (no key for that account), typed.
    await expect(send(remoteSignerAccount({ url: other.url, address }))).rejects.toMatchObject({
      code: 'REMOTE_SIGNER_REFUSED',
    });
    const wrongKey = await signer({ key: KEY, tamper: 'key' });
    await expect(send(remoteSignerAccount({ url: wrongKey.url, address }))).rejects.toMatchObject({
      code: 'REMOTE_SIGNER_WRONG_KEY',
    });
    const tampering = await signer({ key: KEY, tamper: 'value' });
    await expect(send(remoteSignerAccount({ url: tampering.url, address }))).rejects.toMatchObject({
      code: 'REMOTE_SIGNER_TAMPERED',
    });
    const guarded = await signer({ key: KEY, token: 'right-token' });
    await expect(
      send(remoteSignerAccount({ url: guarded.url, address, token: 'wrong-token' })),
    ).rejects.toMatchObject({ code: 'REMOTE_SIGNER_UNAVAILABLE', kind: 'unauthenticated' });
    await guarded.stop();
    await expect(
      send(remoteSignerAccount({ url: guarded.url, address, timeoutMs: 1_000 })),
    ).rejects.toMatchObject({ code: 'REMOTE_SIGNER_UNAVAILABLE' });
  });

  it('refuses to sign messages with the transaction key', async () => {
    const account = remoteSignerAccount({ url: 'http://127.0.0.1:1', address });
    await expect(account.signMessage({ message: 'x' })).rejects.toMatchObject({
      code: 'REMOTE_SIGNER_UNSUPPORTED',
    });
  });
});
