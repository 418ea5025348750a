import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { fromHex } from './codec.js';
import {
  type AddPiecesRequest,
  addPiecesDigest,
  removePiecesDigest,
  verifyUserSignature,
} from './piece-request.js';

const user = privateKeyToAccount(generatePrivateKey());
const provider = privateKeyToAccount(generatePrivateKey());
const req = (over: Partial<AddPiecesRequest> = {}): AddPiecesRequest => ({
  user: fromHex('user', user.address),
  pid: fromHex('pid', provider.address),
  nonce: 1n,
  block: 100n,
  pieces: [
    { pieceId: new Uint8Array(32).fill(1), size: 4096n, root: new Uint8Array(32).fill(2), leafSize: 4096 },
  ],
  ...over,
});

describe('piece registration request', () => {
  it('binds every field into the digest', () => {
    const d = addPiecesDigest(req());
    expect(d).toMatch(/^0x[0-9a-f]{64}$/);
    expect(addPiecesDigest(req())).toBe(d);
    expect(addPiecesDigest(req({ nonce: 2n }))).not.toBe(d);
    expect(addPiecesDigest(req({ block: 101n }))).not.toBe(d);
    const r = req();
    r.pieces[0]!.size = 4097n;
    expect(addPiecesDigest(r)).not.toBe(d);
    const rm = { user: r.user, pid: r.pid, nonce: 1n, block: 100n, pieceIds: [r.pieces[0]!.pieceId] };
    expect(removePiecesDigest(rm)).not.toBe(d);
  });

  it('accepts the user, refuses the provider and anyone else', async () => {
    const r = req();
    const digest = addPiecesDigest(r);
    const sign = async (a: typeof user) => fromHex('sig', await a.signMessage({ message: { raw: digest } }));
    await expect(verifyUserSignature(digest, await sign(user), r.user, r.pid)).resolves.toBeUndefined();
    await expect(verifyUserSignature(digest, await sign(provider), r.user, r.pid)).rejects.toMatchObject({
      code: 'PIECE_SIGNER_IS_PROVIDER',
      kind: 'permission_denied',
    });
    const stranger = privateKeyToAccount(generatePrivateKey());
    await expect(verifyUserSignature(digest, await sign(stranger), r.user, r.pid)).rejects.toMatchObject({
      code: 'PIECE_SIGNATURE_INVALID',
    });
    await expect(verifyUserSignature(digest, new Uint8Array(65), r.user, r.pid)).rejects.toMatchObject({
      code: 'PIECE_SIGNATURE_INVALID',
      kind: 'unauthenticated',
    });
  });

  it('validates shapes with invalid_argument', () => {
    expect(() => addPiecesDigest(req({ pieces: [] }))).toThrow(
      expect.objectContaining({ kind: 'invalid_argument' }),
    );
    const same = req();
    expect(() => addPiecesDigest({ ...same, pid: same.user })).toThrow(/differ/);
    const dup = req();
    dup.pieces.push({ ...dup.pieces[0]! });
    expect(() => addPiecesDigest(dup)).toThrow(/duplicate/);
  });
});
