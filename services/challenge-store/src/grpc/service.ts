import type { Counter, Logger } from '@whitepay/base';
import { type commonV1, storeV1 } from '@whitepay/proto';
import { decodeTolerant, type grpc, unary } from '@whitepay/rpc';
import {
  insertPeerRecords,
  lastRecordBefore,
  listAccounts,
  listPieces,
  listPiecesOfAccounts,
  PEER_RECORD_CONFLICT,
  type PeerRecordRow,
  type PeerRecordVerifier,
  type Pool,
  registerPieces,
  removePieces,
} from '@whitepay/store';
import { RecordRejected } from '../errors.js';
import { recordToRow, rowToRecord } from '../nats/decode.js';
import { queryRecords, type Source } from '../queries.js';
import { decodePageToken, encodePageToken } from './paging.js';

export interface GrpcDeps {
  pool: Pool;
  log: Logger;
  rejected: Counter<'boundary' | 'reason'>;
  /** The release's internal token every call must carry (unset: none needed). */
  token?: string | undefined;
  verifyPeerRecord: PeerRecordVerifier;
  /** A QueryRecords page ends before its records exceed this many bytes. */
  maxPageBytes?: number;
}

const SOURCE: Record<number, Source> = {
  [storeV1.RecordSource.RECORD_SOURCE_UNSPECIFIED]: 'own',
  [storeV1.RecordSource.RECORD_SOURCE_OWN]: 'own',
  [storeV1.RecordSource.RECORD_SOURCE_PEER]: 'peer',
  [storeV1.RecordSource.RECORD_SOURCE_ALL]: 'all',
};

function account(a: commonV1.Account | undefined): { user: Uint8Array; pid: Uint8Array } {
  if (!a) throw new RecordRejected('ACCOUNT_MISSING', 'account is required');
  return { user: a.user, pid: a.pid };
}

export const DEFAULT_PAGE = 1000;
export const MAX_PAGE = 10_000;
export const DEFAULT_MAX_PAGE_BYTES = 2 * 1024 * 1024;

/** The wire size of a record, closely enough to bound a page: its byte fields plus a field overhead each. */
export function approximateBytes(value: unknown): number {
  if (value instanceof Uint8Array) return value.length + 4;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + approximateBytes(v), 2);
  if (value !== null && typeof value === 'object')
    return Object.values(value).reduce((n: number, v) => n + approximateBytes(v), 2);
  return 10;
}

/** The ChallengeStoreService handlers; every error crosses through `unary`'s mapper. */
export function challengeStoreHandlers(deps: GrpcDeps): storeV1.ChallengeStoreServiceServer {
  const h = { log: deps.log.child({ component: 'grpc' }), rejected: deps.rejected, token: deps.token };
  // The piece registry is the users' API (their own signature authorises each change): no internal token.
  const user = { log: h.log, rejected: deps.rejected };
  const { pool } = deps;
  return {
    queryRecords: unary<storeV1.QueryRecordsRequest, storeV1.QueryRecordsResponse>(
      'QueryRecords',
      h,
      async (req) => {
        const source = SOURCE[req.source];
        if (!source) throw new RecordRejected('BAD_SOURCE', `unknown record source ${req.source}`);
        const after = decodePageToken(req.pageToken);
        if (req.pageSize > MAX_PAGE)
          throw new RecordRejected('PAGE_SIZE_TOO_LARGE', `page_size is at most ${MAX_PAGE}`, {
            pageSize: req.pageSize,
            max: MAX_PAGE,
          });
        const limit = req.pageSize || DEFAULT_PAGE;
        const page = await queryRecords(pool, source, {
          ...account(req.account),
          from: req.range?.from ?? 0n,
          to: req.range?.to ?? 0n,
          limit,
          withProofs: !req.withoutProofs,
          ...(after ? { after } : {}),
        });
        // Paged by bytes too: the page ends before the budget is exceeded (never empty), and the
        // token continues after its last record, so any range crosses in messages of bounded size.
        const budget = deps.maxPageBytes ?? DEFAULT_MAX_PAGE_BYTES;
        const records: ReturnType<typeof rowToRecord>[] = [];
        let bytes = 0;
        for (const row of page.records) {
          const record = rowToRecord(row);
          const size = approximateBytes(record);
          if (records.length > 0 && bytes + size > budget) break;
          records.push(record);
          bytes += size;
        }
        const cut = records.length < page.records.length ? page.records[records.length - 1] : undefined;
        const next = cut ? { block: cut.block, keeperId: cut.keeperId } : page.next;
        return { records, nextPageToken: encodePageToken(next) };
      },
    ),
    lastRecordBefore: unary<storeV1.LastRecordBeforeRequest, storeV1.LastRecordBeforeResponse>(
      'LastRecordBefore',
      h,
      async (req) => {
        const r = await lastRecordBefore(pool, {
          ...account(req.account),
          keeperId: req.keeperId,
          block: req.block,
        });
        return r ? { found: true, record: rowToRecord(r) } : { found: false, record: undefined };
      },
    ),
    putPeerRecords: unary<storeV1.PutPeerRecordsRequest, storeV1.PutPeerRecordsResponse>(
      'PutPeerRecords',
      h,
      async (req) => {
        const rows: PeerRecordRow[] = [];
        let malformed = 0;
        for (const s of req.records) {
          try {
            rows.push({ ...recordToRow(s.record), signature: s.signature });
          } catch (err) {
            malformed++;
            deps.rejected.inc({
              boundary: 'grpc:PutPeerRecords',
              reason: (err as RecordRejected).code ?? 'RECORD_MALFORMED',
            });
          }
        }
        const res = await insertPeerRecords(pool, rows, deps.verifyPeerRecord);
        let conflicts = 0;
        for (const r of res.rejected) {
          deps.rejected.inc({ boundary: 'grpc:PutPeerRecords', reason: r.reason });
          if (r.reason === PEER_RECORD_CONFLICT) conflicts++;
        }
        if (conflicts > 0) {
          const first = rows[res.rejected.find((r) => r.reason === PEER_RECORD_CONFLICT)!.index]!;
          h.log.warn(
            { conflicts, keeperId: first.keeperId, block: String(first.block) },
            'peer records conflict with stored ones (same key, other signed content): stored rows kept',
          );
        }
        return {
          accepted: res.inserted,
          duplicates: res.duplicates,
          rejected: res.rejected.length + malformed,
        };
      },
    ),
    registerPieces: unary<storeV1.RegisterPiecesRequest, storeV1.RegisterPiecesResponse>(
      'RegisterPieces',
      user,
      async (req) => {
        const res = await registerPieces(pool, {
          request: {
            ...account(req.account),
            nonce: req.nonce,
            block: req.block,
            pieces: req.pieces.map((p) => ({
              pieceId: p.pieceId,
              size: p.size,
              root: p.root,
              leafSize: p.leafSize,
            })),
          },
          signature: req.signature,
        });
        return { added: res.added, alreadyPresent: res.alreadyPresent };
      },
    ),
    removePieces: unary<storeV1.RemovePiecesRequest, storeV1.RemovePiecesResponse>(
      'RemovePieces',
      user,
      async (req) => {
        const res = await removePieces(pool, {
          request: { ...account(req.account), nonce: req.nonce, block: req.block, pieceIds: req.pieceIds },
          signature: req.signature,
        });
        return { removed: res.removed, notFound: res.notFound };
      },
    ),
    listPieces: unary<storeV1.ListPiecesRequest, storeV1.ListPiecesResponse>(
      'ListPieces',
      user,
      async (req) => {
        const a = account(req.account);
        const pieces = await listPieces(pool, a.user, a.pid, {
          ...(req.atBlock !== undefined ? { atBlock: req.atBlock } : {}),
          includeRemoved: req.includeRemoved,
        });
        return {
          pieces: pieces.map((p) => ({
            spec: { pieceId: p.pieceId, size: p.size, root: p.root, leafSize: p.leafSize },
            addedBlock: p.addedBlock,
            removedBlock: p.removedBlock ?? undefined,
          })),
        };
      },
    ),
    listPiecesBulk: unary<storeV1.ListPiecesBulkRequest, storeV1.ListPiecesBulkResponse>(
      'ListPiecesBulk',
      h,
      async (req) => {
        const accounts = req.accounts.map((a) => account(a));
        const pieces = await listPiecesOfAccounts(pool, accounts, req.atBlock);
        return {
          accounts: accounts.map((a, i) => ({
            account: a,
            pieces: pieces[i]!.map((p) => ({
              spec: { pieceId: p.pieceId, size: p.size, root: p.root, leafSize: p.leafSize },
              addedBlock: p.addedBlock,
              removedBlock: p.removedBlock ?? undefined,
            })),
          })),
        };
      },
    ),
    listAccounts: unary<storeV1.ListAccountsRequest, storeV1.ListAccountsResponse>(
      'ListAccounts',
      h,
      async () => {
        const accounts = await listAccounts(pool);
        return {
          accounts: accounts.map((a) => ({
            account: { user: a.user, pid: a.pid },
            pieces: a.pieces,
            size: a.size,
          })),
        };
      },
    ),
  };
}

export function registerGrpc(server: grpc.Server, deps: GrpcDeps): void {
  server.addService(decodeTolerant(storeV1.ChallengeStoreServiceService), challengeStoreHandlers(deps));
}
