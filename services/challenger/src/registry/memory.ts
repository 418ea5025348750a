import type { RegisteredPiece } from '@whitepay/challenge';
import type { Account, PieceRegistry } from './registry.js';

/**
 * In-memory registry FOR TESTS ONLY (never wired in main.ts): the same door
 * the gRPC registry uses, filled by the test. Pieces count from `addedBlock`.
 */
export class MemoryPieceRegistry implements PieceRegistry {
  private readonly pieces = new Map<string, Array<RegisteredPiece & { addedBlock: bigint }>>();
  /** Makes every call fail (to test retries). */
  failing = false;
  /** Calls served, by method (tests check the fan-out does not call per account). */
  readonly calls = { listAccounts: 0, listPieces: 0, listPiecesBulk: 0 };

  add(account: Account, piece: RegisteredPiece, addedBlock = 0n): void {
    const k = `${account.user.toLowerCase()}:${account.pid.toLowerCase()}`;
    this.pieces.set(k, [...(this.pieces.get(k) ?? []), { ...piece, addedBlock }]);
  }

  async listAccounts(): Promise<Account[]> {
    this.calls.listAccounts++;
    if (this.failing) throw new Error('registry down');
    return [...this.pieces.keys()].map((k) => {
      const [user, pid] = k.split(':') as [`0x${string}`, `0x${string}`];
      return { user, pid };
    });
  }

  async listPiecesBulk(accounts: readonly Account[], block: bigint): Promise<RegisteredPiece[][]> {
    this.calls.listPiecesBulk++;
    if (this.failing) throw new Error('registry down');
    return accounts.map((a) => this.at(a, block));
  }

  async listPieces(account: Account, block: bigint): Promise<RegisteredPiece[]> {
    this.calls.listPieces++;
    if (this.failing) throw new Error('registry down');
    return this.at(account, block);
  }

  private at(account: Account, block: bigint): RegisteredPiece[] {
    const k = `${account.user.toLowerCase()}:${account.pid.toLowerCase()}`;
    return (this.pieces.get(k) ?? [])
      .filter((p) => p.addedBlock <= block)
      .map(({ addedBlock: _, ...p }) => p);
  }
}
