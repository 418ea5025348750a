import fc from 'fast-check';
import { bytesToHex, type Hex, keccak256, recoverMessageAddress, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { backend, EcdsaError, eip191Hash, recoverSigner, Signer } from './index.js';

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const keyArb = fc.bigInt({ min: 1n, max: N - 1n }).map((k) => toHex(k, { size: 32 }));
const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b));

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EcdsaError);
    return (err as EcdsaError).code;
  }
  return undefined;
}

describe('@whitepay/ecdsa', () => {
  it('loads the native libsecp256k1 addon on linux-x64', () => {
    if (process.platform === 'linux' && process.arch === 'x64') expect(backend).toBe('native');
  });

  it('signs byte for byte as viem signMessage({ raw }) and recovers the same address', async () => {
    await fc.assert(
      fc.asyncProperty(keyArb, digestArb, async (key, digest) => {
        const account = privateKeyToAccount(key);
        const signer = new Signer(key);
        expect(signer.address).toBe(account.address);
        const sig = signer.sign(digest);
        expect(bytesToHex(sig)).toBe(await account.signMessage({ message: { raw: digest } }));
        expect(recoverSigner(digest, sig)).toBe(account.address);
        expect(await recoverMessageAddress({ message: { raw: digest }, signature: sig })).toBe(
          account.address,
        );
      }),
      { numRuns: 200 },
    );
  });

  it('hashes as EIP-191 personal_sign of the raw 32 bytes', () => {
    const digest = keccak256(toHex('record'));
    expect(bytesToHex(eip191Hash(digest))).toBe(
      keccak256(
        `0x${Buffer.from('\x19Ethereum Signed Message:\n32').toString('hex')}${digest.slice(2)}` as Hex,
      ),
    );
  });

  it('accepts v as 0/1 as well as 27/28', () => {
    const signer = new Signer(keccak256(toHex('k')));
    const digest = keccak256(toHex('m'));
    const sig = signer.sign(digest);
    const low = sig.slice();
    low[64] = sig[64]! - 27;
    expect(recoverSigner(digest, low)).toBe(signer.address);
  });

  it('rejects malformed signatures and keys with typed errors, and a changed digest or signature names another signer', () => {
    const signer = new Signer(keccak256(toHex('k')));
    const digest = keccak256(toHex('m'));
    const sig = signer.sign(digest);
    expect(code(() => recoverSigner(digest, sig.slice(0, 64)))).toBe('ECDSA_SIGNATURE_INVALID');
    const badV = sig.slice();
    badV[64] = 29;
    expect(code(() => recoverSigner(digest, badV))).toBe('ECDSA_SIGNATURE_INVALID');
    const zeroR = sig.slice();
    zeroR.fill(0, 0, 32);
    expect(code(() => recoverSigner(digest, zeroR))).toBe('ECDSA_SIGNATURE_INVALID');
    expect(code(() => recoverSigner('0x1234', sig))).toBe('ECDSA_SIGNATURE_INVALID');
    expect(recoverSigner(keccak256(toHex('other')), sig)).not.toBe(signer.address);
    const flipped = sig.slice();
    flipped[10]! ^= 1;
    let other: string | undefined;
    try {
      other = recoverSigner(digest, flipped);
    } catch (err) {
      expect(err).toBeInstanceOf(EcdsaError);
    }
    expect(other).not.toBe(signer.address);
    for (const key of ['0x00', toHex(0n, { size: 32 }), toHex(N, { size: 32 })] as Hex[])
      expect(code(() => new Signer(key))).toBe('ECDSA_KEY_INVALID');
  });
});
