/**
 * The BLS12381 library's refusals (issue 17), through a test-only harness (test/sol/BLS12381Harness.sol):
 * `verify` refuses the identity as key or as signature (with both, the pairing product is one for every
 * message), and hash-to-G2 refuses a domain separation tag outside 1..255 bytes instead of truncating its
 * length byte. Valid inputs still verify, and hash-to-G2 matches @whitepay/bls (RFC 9380) up to 255 bytes.
 */
import {
  DST_SIGNATURE,
  expandMessageXmd,
  g1ToEip2537,
  g2Eip2537FromMessage,
  g2ToEip2537,
  publicKeyOf,
  sign,
  toHex,
} from '@whitepay/bls';
import {
  type Abi,
  type Address,
  BaseError,
  toHex as bytesToHex,
  ContractFunctionRevertedError,
  type Hex,
  stringToBytes,
} from 'viem';
import { readContract } from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chain, keeperKey, startChain } from './fixture.js';
import { deployTestContract } from './harness.js';

let chain: Chain;
let harness: { address: Address; abi: Abi };

const IDENTITY_G1: Hex = `0x${'00'.repeat(128)}`;
const IDENTITY_G2: Hex = `0x${'00'.repeat(256)}`;
const MESSAGE = stringToBytes('WhitePay/bls-test');
const { sk } = keeperKey(7);
const PK: Hex = toHex(g1ToEip2537(publicKeyOf(sk)));
const SIG: Hex = toHex(g2ToEip2537(sign(sk, MESSAGE)));
const HM: Hex = toHex(g2Eip2537FromMessage(MESSAGE, DST_SIGNATURE));

beforeAll(async () => {
  chain = await startChain();
  harness = await deployTestContract(chain.wallet(0), 'BLS12381Harness', ['src/BLS12381.sol']);
});

afterAll(async () => {
  await chain?.stop();
});

const call = (functionName: string, args: readonly unknown[]) =>
  readContract(chain.public, { address: harness.address, abi: harness.abi, functionName, args });

const verify = (pk: Hex, hm: Hex, sig: Hex) => call('verify', [pk, hm, sig]) as Promise<boolean>;
const hashToG2 = (dst: Uint8Array) =>
  call('hashToG2', [bytesToHex(MESSAGE), bytesToHex(dst)]) as Promise<Hex>;

/** The custom error a call reverted with: its name and arguments. */
async function revertOf(promise: Promise<unknown>): Promise<{ name?: string; args?: readonly unknown[] }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BaseError);
  const reverted = (err as BaseError).walk((e) => e instanceof ContractFunctionRevertedError);
  expect(reverted).toBeInstanceOf(ContractFunctionRevertedError);
  const data = (reverted as ContractFunctionRevertedError).data;
  return { ...(data?.errorName ? { name: data.errorName } : {}), ...(data?.args ? { args: data.args } : {}) };
}

describe('BLS12381.verify', () => {
  it('accepts a valid signature, over the contract hash and over the message', async () => {
    expect(await call('hashToG2', [bytesToHex(MESSAGE), bytesToHex(stringToBytes(DST_SIGNATURE))])).toBe(HM);
    expect(await verify(PK, HM, SIG)).toBe(true);
    expect(
      await call('verifyMessage', [PK, bytesToHex(MESSAGE), bytesToHex(stringToBytes(DST_SIGNATURE)), SIG]),
    ).toBe(true);
  });

  it('refuses the identity key with the identity signature, for any message', async () => {
    // e(O, H(m)) · e(-G1, O) = 1: before the fix this verified for every message.
    expect(await verify(IDENTITY_G1, HM, IDENTITY_G2)).toBe(false);
    expect(
      await call('verifyMessage', [
        IDENTITY_G1,
        bytesToHex(stringToBytes('any message at all')),
        bytesToHex(stringToBytes(DST_SIGNATURE)),
        IDENTITY_G2,
      ]),
    ).toBe(false);
  });

  it('refuses the identity key with a valid signature, and a valid key with the identity signature', async () => {
    expect(await verify(IDENTITY_G1, HM, SIG)).toBe(false);
    expect(await verify(PK, HM, IDENTITY_G2)).toBe(false);
  });

  it('refuses inputs of the wrong length and a signature for another message', async () => {
    expect(await verify(PK.slice(0, -2) as Hex, HM, SIG)).toBe(false);
    expect(await verify(PK, HM, `${SIG}00`)).toBe(false);
    const other = toHex(g2Eip2537FromMessage(stringToBytes('another message'), DST_SIGNATURE));
    expect(await verify(PK, other, SIG)).toBe(false);
  });
});

describe('BLS12381.hashToG2 domain separation tag', () => {
  it('hashes with a tag of 1 and of 255 bytes exactly as RFC 9380 (@whitepay/bls)', async () => {
    for (const length of [1, 255]) {
      const dst = new Uint8Array(length).fill(0x41);
      expect(await call('expandMessageXmd', [bytesToHex(MESSAGE), bytesToHex(dst)])).toBe(
        toHex(expandMessageXmd(MESSAGE, dst, 256)),
      );
      expect(await hashToG2(dst)).toBe(toHex(g2Eip2537FromMessage(MESSAGE, dst)));
    }
  });

  it('refuses a tag longer than 255 bytes with BLS12381InvalidDst, instead of truncating it', async () => {
    // Before the fix, 256 bytes hashed with the length byte 0x00 (256 mod 256) and returned a point.
    for (const length of [256, 300]) {
      const refused = await revertOf(hashToG2(new Uint8Array(length).fill(0x41)));
      expect(refused).toEqual({ name: 'BLS12381InvalidDst', args: [BigInt(length)] });
    }
  });

  it('refuses an empty tag with BLS12381InvalidDst', async () => {
    expect(await revertOf(hashToG2(new Uint8Array(0)))).toEqual({
      name: 'BLS12381InvalidDst',
      args: [0n],
    });
  });
});
