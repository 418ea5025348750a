import { type Address, encodeAbiParameters, type Hex, keccak256 } from 'viem';
import { bytes32Problem, UINT32_MAX, UINT64_MAX, UINT256_MAX } from './abi.js';
import { EncodingError } from './errors.js';
import { checkAddressField, checkIntField, checkUintField } from './tid.js';

/** The domain string that opens every payment message. */
export const PAYMENT_DOMAIN = 'WhitePay/v1';

export interface PaymentMessageInput {
  readonly chainId: bigint;
  /** The user's `Upkeeping` contract. */
  readonly upkeeping: Address;
  readonly user: Address;
  readonly pid: Address;
  readonly ts: bigint;
  readonly te: bigint;
  readonly st: bigint;
  readonly leaderId: number;
  /** The leader's 1-based position (`uint8`). */
  readonly r: number;
}

const PAYMENT_MESSAGE_TYPES = [
  { type: 'string' },
  { type: 'uint256' },
  { type: 'address' },
  { type: 'address' },
  { type: 'address' },
  { type: 'uint64' },
  { type: 'uint64' },
  { type: 'uint256' },
  { type: 'uint32' },
  { type: 'uint8' },
] as const;

/**
 * The bytes every keeper BLS-signs (SPEC 7, docs/encoding.md):
 * `abi.encode(string "WhitePay/v1", uint256 chainId, address upkeeping,
 * address user, address pid, uint64 ts, uint64 te, uint256 st,
 * uint32 leaderId, uint8 r)`. The contract rebuilds these bytes exactly.
 *
 * @throws EncodingError when a value does not fit its ABI type, `r` is 0 or `te <= ts`.
 */
export function paymentMessage(input: PaymentMessageInput): Hex {
  checkUintField(input.chainId, UINT256_MAX, 'chainId');
  checkAddressField(input.upkeeping, 'upkeeping');
  checkAddressField(input.user, 'user');
  checkAddressField(input.pid, 'pid');
  checkUintField(input.ts, UINT64_MAX, 'ts');
  checkUintField(input.te, UINT64_MAX, 'te');
  checkUintField(input.st, UINT256_MAX, 'st');
  checkIntField(input.leaderId, UINT32_MAX, 'leaderId');
  checkIntField(input.r, 255n, 'r', 1);
  if (input.te <= input.ts) {
    throw new EncodingError('ENCODING_INVALID_VALUE', `te (${input.te}) must be after ts (${input.ts})`, {
      field: 'te',
    });
  }
  return encodeAbiParameters(PAYMENT_MESSAGE_TYPES, [
    PAYMENT_DOMAIN,
    input.chainId,
    input.upkeeping.toLowerCase() as Address,
    input.user.toLowerCase() as Address,
    input.pid.toLowerCase() as Address,
    input.ts,
    input.te,
    input.st,
    input.leaderId,
    input.r,
  ]);
}

/**
 * A keeper's commitment to its value before it sees the leader's (SPEC 6
 * step 1): `keccak256(abi.encode(uint256 st, bytes32 nonce))`. The nonce must
 * be fresh and random per round attempt (the caller draws it).
 *
 * @throws EncodingError when `st` is not a `uint256` or `nonce` not 32 bytes.
 */
export function commitment(st: bigint, nonce: Hex): Hex {
  checkUintField(st, UINT256_MAX, 'st');
  const problem = bytes32Problem(nonce);
  if (problem !== null) {
    throw new EncodingError('ENCODING_INVALID_VALUE', `nonce: ${problem}`, { field: 'nonce' });
  }
  return keccak256(encodeAbiParameters([{ type: 'uint256' }, { type: 'bytes32' }], [st, nonce]));
}
