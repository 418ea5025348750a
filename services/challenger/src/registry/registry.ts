import type { RegisteredPiece } from '@whitepay/challenge';
import type { Address } from 'viem';

export interface Account {
  user: Address;
  pid: Address;
}

/**
 * Where the challenger learns what to challenge: the user-registered pieces
 * (SPEC 3), kept by the challenge-store. Addresses are lower-case hex.
 */
export interface PieceRegistry {
  /** Every (user, pid) with at least one live piece. */
  listAccounts(): Promise<Account[]>;
  /** The pieces of (user, pid) counting at `block`. */
  listPieces(account: Account, block: bigint): Promise<RegisteredPiece[]>;
  /**
   * The pieces counting at `block` of many accounts at once, in order (the
   * fan-out reads a whole block this way); absent when the registry cannot.
   */
  listPiecesBulk?(accounts: readonly Account[], block: bigint): Promise<RegisteredPiece[][]>;
  close?(): void;
}
