import { asWhitePayError, type Logger } from '@whitepay/base';
import { buildRecord, type ChallengeVerification, deriveSeed, planChallenge } from '@whitepay/challenge';
import { challengeV1 } from '@whitepay/proto';
import { call, RpcError } from '@whitepay/rpc';
import { hexToBytes } from 'viem';
import type { ProviderClients } from '../grpc/providers.js';
import type { Task } from '../nats/messages.js';
import type { PieceRegistry } from '../registry/registry.js';

export interface ChallengeDeps {
  keeperId: number;
  registry: PieceRegistry;
  providers: ProviderClients;
  deadlineMs: number;
  leavesPerPiece: number;
  log: Logger;
  now?: () => number;
}

export interface ChallengeOutcome {
  record: challengeV1.ChallengeRecord;
  verdict: challengeV1.Verdict;
  space: bigint;
}

const { Verdict } = challengeV1;

/**
 * One challenge of one (user, pid) at one block (SPEC 3 steps 1-3): the
 * registered pieces at the block, the seed from the block hash, one Challenge
 * call with a deadline, verification. Every provider failure becomes a record
 * (TIMEOUT / UNREACHABLE / INVALID_PROOF with s = 0); only a registry failure
 * throws (the task is retried, since the record would be wrong).
 */
export async function runChallenge(deps: ChallengeDeps, task: Task): Promise<ChallengeOutcome> {
  const now = deps.now ?? Date.now;
  const block = BigInt(task.block.number);
  // The fan-out read them in bulk at this block; otherwise (a large account) ask the registry.
  const pieces = task.pieces ?? (await deps.registry.listPieces({ user: task.user, pid: task.pid }, block));
  const seed = deriveSeed(task.block.hash as `0x${string}`, deps.keeperId, task.user, task.pid);
  const spec = { seed, leavesPerPiece: deps.leavesPerPiece };
  const plan = planChallenge(pieces, spec);
  const request = plan.request;
  const base = {
    user: task.user,
    pid: task.pid,
    keeperId: deps.keeperId,
    block,
    blockHash: task.block.hash as `0x${string}`,
    seed,
    leavesPerPiece: deps.leavesPerPiece,
  };
  const failed = (verdict: challengeV1.Verdict, reason: string): ChallengeOutcome => {
    const record = buildRecord({
      ...base,
      leaves: [],
      verdict,
      space: 0n,
      pieces: pieces.map((p) => ({ pieceId: p.pieceId, size: p.size, leafIndices: [], verified: false })),
      observedAtMs: now(),
    });
    for (const p of record.pieces) p.reason = reason;
    return { record, verdict, space: 0n };
  };

  const address = deps.providers.addressOf(task.pid);
  if (!address) {
    deps.log.warn({ pid: task.pid }, 'no gRPC address configured for provider');
    return failed(Verdict.VERDICT_UNREACHABLE, 'PROVIDER_ADDRESS_UNKNOWN');
  }
  let response: { leaves: challengeV1.LeafProof[] };
  try {
    const client = deps.providers.get(address);
    response = await call(
      client,
      client.challenge,
      {
        user: hexToBytes(task.user),
        pid: hexToBytes(task.pid),
        keeperId: deps.keeperId,
        block,
        seed: hexToBytes(seed),
        pieces: request,
      },
      { deadlineMs: deps.deadlineMs, name: 'Challenge' },
    );
  } catch (err) {
    const e = asWhitePayError(err);
    if (e.kind === 'deadline_exceeded') return failed(Verdict.VERDICT_TIMEOUT, e.code);
    if (e.kind === 'unavailable' || !(err instanceof RpcError))
      return failed(Verdict.VERDICT_UNREACHABLE, e.code);
    // The provider answered with an error: an answer without a valid proof.
    return failed(Verdict.VERDICT_INVALID_PROOF, e.code);
  }
  const v: ChallengeVerification = plan.verify(response);
  // Keep only what was asked for: the proof then re-verifies at peers as it did here.
  const asked = new Set(request.flatMap((c) => c.leafIndices.map((i) => `${c.pieceId.join(',')}:${i}`)));
  const leaves = response.leaves.filter((l) => asked.delete(`${l.pieceId.join(',')}:${l.leafIndex}`));
  const record = buildRecord({
    ...base,
    leaves,
    verdict: v.verdict,
    space: v.space,
    pieces: v.pieces,
    observedAtMs: now(),
  });
  return { record, verdict: v.verdict, space: v.space };
}
