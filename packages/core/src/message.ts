import { type Address, encodeAbiParameters, type Hex } from 'viem';
import { UINT32_MAX, UINT64_MAX, UINT256_MAX } from './abi.js';
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
 * The message today's single `pay` verifies: no keeper signs it any more (a
 * payment of one is a list of one, signed as `batchPaymentMessage`); it
 * stays until the contract's `pay` verifies the list message too (issue 15,
 * the contract part), for the contract's own tests.
 *
 * The bytes (SPEC 7, docs/encoding.md):
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
