import type { Counter, Logger } from '@whitepay/base';
import { providerV1 } from '@whitepay/proto';
import { decodeTolerant, type grpc, unary } from '@whitepay/rpc';
import { bytesToHex, type Hex, hexToBytes } from 'viem';
import type { Faults } from '../faults.js';
import { invalid, ProviderError } from '../store/errors.js';
import type { PieceStore } from '../store/pieces.js';

export interface ProviderServiceDeps {
  log: Logger;
  store: PieceStore;
  faults: Faults;
  /** The provider ids this node answers for; challenges and pieces naming another pid are refused. Empty: any pid. */
  served: readonly Hex[];
  defaultLeafSize: number;
  maxPieceBytes: number;
  maxLeavesPerChallenge: number;
  rejected: Counter<'boundary' | 'reason'>;
  /** By outcome and by the keeper that challenged (`keeperLabel`). */
  challenges: Counter<'outcome' | 'keeper'>;
}

function addressOf(b: Uint8Array, what: string): Hex {
  if (b.length !== 20) throw invalid('ADDRESS_INVALID', `${what} must be 20 bytes, got ${b.length}`);
  return bytesToHex(b);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The gRPC ProviderService over the piece store. */
/** Keeper ids a label names one by one; any id above (a caller's own choice) is counted as `other`. */
export const MAX_LABELLED_KEEPER = 1024;

/** The `keeper` label of a challenge: the id it names, bounded so callers cannot grow the series. */
export function keeperLabel(id: number): string {
  return id >= 1 && id <= MAX_LABELLED_KEEPER ? String(id) : 'other';
}

export function providerService(
  deps: ProviderServiceDeps,
  stopping: AbortSignal,
): providerV1.ProviderServiceServer {
  const log = deps.log.child({ component: 'grpc' });
  const h = { log, rejected: deps.rejected };
  const served = new Set(deps.served.map((p) => p.toLowerCase()));
  /** The pid a request names (undefined when empty), refused when this node does not serve it. */
  const pidOf = (b: Uint8Array | undefined): Hex | undefined => {
    if (!b || b.length === 0) return undefined;
    const pid = addressOf(b, 'pid');
    if (served.size > 0 && !served.has(pid)) {
      throw invalid(
        'WRONG_PROVIDER',
        `this node serves ${[...served].slice(0, 3).join(', ')}${served.size > 3 ? ', …' : ''}, not ${pid}`,
      );
    }
    return pid;
  };
  return {
    putPiece: unary<providerV1.PutPieceRequest, providerV1.PutPieceResponse>('PutPiece', h, async (req) => {
      const user = addressOf(req.user, 'user');
      if (req.pieceId.length !== 0 && req.pieceId.length !== 32) {
        throw invalid('PIECE_ID_INVALID', `piece id must be 32 bytes, got ${req.pieceId.length}`);
      }
      if (req.data.length > deps.maxPieceBytes) {
        throw invalid('PIECE_TOO_LARGE', `piece of ${req.data.length} bytes exceeds ${deps.maxPieceBytes}`);
      }
      const pid = pidOf(req.pid);
      const leafSize = req.leafSize || deps.defaultLeafSize;
      const meta = await deps.store.put(
        user,
        req.pieceId.length ? bytesToHex(req.pieceId) : undefined,
        req.data,
        leafSize,
        pid,
      );
      return {
        pieceId: hexToBytes(meta.pieceId),
        size: BigInt(meta.size),
        root: hexToBytes(meta.root),
        leafSize: meta.leafSize,
      };
    }),

    challenge: unary<providerV1.ChallengeRequest, providerV1.ChallengeResponse>(
      'Challenge',
      h,
      async (req, ctx) => {
        const pidHex = req.pid.length === 20 ? bytesToHex(req.pid) : undefined;
        const fault = deps.faults.for(pidHex);
        if (fault.mode === 'offline') {
          deps.challenges.inc({ outcome: 'offline', keeper: keeperLabel(req.keeperId) });
          throw new ProviderError('PROVIDER_OFFLINE', 'provider is offline (fault injected)', {
            kind: 'unavailable',
          });
        }
        if (fault.mode === 'slow') await sleep(fault.delayMs, stopping);
        const user = addressOf(req.user, 'user');
        const pid = pidOf(req.pid);
        const asked = req.pieces.reduce((n, p) => n + p.leafIndices.length, 0);
        if (asked > deps.maxLeavesPerChallenge) {
          throw invalid(
            'CHALLENGE_TOO_LARGE',
            `${asked} leaves asked, at most ${deps.maxLeavesPerChallenge}`,
          );
        }
        const leaves: providerV1.ChallengeResponse['leaves'] = [];
        for (const pc of req.pieces) {
          if (pc.pieceId.length !== 32) continue;
          const meta = deps.store.get(user, bytesToHex(pc.pieceId), pid);
          if (!meta) continue;
          const indices = pc.leafIndices.filter((i) => i < BigInt(meta.leafCount)).map(Number);
          try {
            for (const l of deps.store.prove(meta, indices)) leaves.push(l);
          } catch (err) {
            // The piece vanished under us (lost while answering): leave it out.
            log.warn({ err, pieceId: meta.pieceId }, 'cannot prove piece');
          }
        }
        deps.challenges.inc({ outcome: 'answered', keeper: keeperLabel(req.keeperId) });
        log.debug(
          { user, pid, block: String(req.block), leaves: leaves.length, peer: ctx.peer },
          'challenge answered',
        );
        return { leaves };
      },
    ),

    listPieces: unary<providerV1.ListPiecesRequest, providerV1.ListPiecesResponse>(
      'ListPieces',
      h,
      async (req) => {
        const user = addressOf(req.user, 'user');
        const pid = pidOf(req.pid);
        return {
          pieces: deps.store.list(user, pid).map((m) => ({
            pieceId: hexToBytes(m.pieceId),
            size: BigInt(m.size),
            root: hexToBytes(m.root),
            leafSize: m.leafSize,
          })),
        };
      },
    ),
  };
}

export function registerProviderService(
  server: grpc.Server,
  deps: ProviderServiceDeps,
  stopping: AbortSignal,
): void {
  server.addService(decodeTolerant(providerV1.ProviderServiceService), providerService(deps, stopping));
}
