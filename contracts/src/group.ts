import { WhitePayError } from '@whitepay/base';
import {
  type Address,
  concat,
  getAddress,
  type Hex,
  hexToBytes,
  hexToNumber,
  numberToHex,
  size,
  slice,
} from 'viem';

/** Bytes per member in the group encoding `pay` takes: `uint32 id ‖ address ‖ G1 key (EIP-2537, 128 bytes)`. */
export const MEMBER_BYTES = 152;

/** One keeper of a group as the contract stores it. */
export interface GroupMember {
  readonly keeperId: number;
  readonly account: Address;
  /** The BLS public key in EIP-2537 G1 form (128 bytes). */
  readonly publicKey: Hex;
}

/** The group bytes `pay` checks against the stored commitment (same as the contract's `group()` view). */
export function encodeGroup(members: readonly GroupMember[]): Hex {
  const encoded = concat(
    members.map((m) => {
      if (size(m.publicKey) !== 128) {
        throw new WhitePayError('GROUP_INVALID_KEY', `keeper ${m.keeperId}: public key must be 128 bytes`, {
          kind: 'invalid_argument',
        });
      }
      return concat([numberToHex(m.keeperId, { size: 4 }), m.account, m.publicKey]);
    }),
  );
  return encoded.toLowerCase() as Hex;
}

/** Parses the contract's `group()` bytes. */
export function decodeGroup(group: Hex): GroupMember[] {
  const n = hexToBytes(group).length;
  if (n % MEMBER_BYTES !== 0) {
    throw new WhitePayError(
      'GROUP_INVALID_ENCODING',
      `group length ${n} is not a multiple of ${MEMBER_BYTES}`,
      {
        kind: 'invalid_argument',
      },
    );
  }
  const out: GroupMember[] = [];
  for (let off = 0; off < n; off += MEMBER_BYTES) {
    out.push({
      keeperId: hexToNumber(slice(group, off, off + 4)),
      account: getAddress(slice(group, off + 4, off + 24)),
      publicKey: slice(group, off + 24, off + MEMBER_BYTES),
    });
  }
  return out;
}

/** Signer indices for `pay`: the member indices of `keeperIds` in `members`, strictly increasing. */
export function signerIndices(members: readonly GroupMember[], keeperIds: readonly number[]): number[] {
  const wanted = new Set(keeperIds);
  const out: number[] = [];
  members.forEach((m, i) => {
    if (wanted.has(m.keeperId)) out.push(i);
  });
  if (out.length !== wanted.size) {
    throw new WhitePayError('GROUP_UNKNOWN_SIGNER', 'a signer is not a member of the group', {
      kind: 'invalid_argument',
    });
  }
  return out;
}
