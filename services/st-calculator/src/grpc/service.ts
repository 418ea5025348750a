import type { Counter, Logger } from '@whitepay/base';
import { type commonV1, stV1 } from '@whitepay/proto';
import { clientKeyOf, decodeTolerant, type grpc, type UnaryContext, unary } from '@whitepay/rpc';
import type { Calculator } from '../calculator.js';
import { StQueryRejected } from '../errors.js';

export interface GrpcDeps {
  calculator: Calculator;
  log: Logger;
  rejected: Counter<'boundary' | 'reason'>;
  /** The release's internal token every call must carry (unset: none needed). */
  token?: string | undefined;
}

const callOf = (ctx: UnaryContext) => ({ client: clientKeyOf(ctx), deadline: ctx.deadline });

function account(a: commonV1.Account | undefined): { user: Uint8Array; pid: Uint8Array } {
  if (!a) throw new StQueryRejected('ST_ACCOUNT_MISSING', 'account is required');
  return { user: a.user, pid: a.pid };
}

/** StCalculatorService; every error crosses through `unary`'s one mapper. */
export function stCalculatorHandlers(deps: GrpcDeps): stV1.StCalculatorServiceServer {
  const h = { log: deps.log.child({ component: 'grpc' }), rejected: deps.rejected, token: deps.token };
  const { calculator } = deps;
  return {
    computeSt: unary<stV1.ComputeStRequest, stV1.ComputeStResponse>('ComputeSt', h, async (req, ctx) => {
      const res = await calculator.computeSt(
        { ...account(req.account), ts: req.ts, te: req.te, includePeers: req.includePeers },
        callOf(ctx),
      );
      return {
        st: res.st.toString(),
        recordsUsed: res.records,
        carryBlock: res.carryBlock,
        maxStaleness: res.maxStaleness,
      };
    }),
    computeStBatch: unary<stV1.ComputeStBatchRequest, stV1.ComputeStBatchResponse>(
      'ComputeStBatch',
      h,
      async (req, ctx) => {
        const res = await calculator.computeStBatch(
          {
            entries: req.entries.map((e) => ({ ...account(e.account), ts: e.ts, te: e.te })),
            includePeers: req.includePeers,
          },
          callOf(ctx),
        );
        return {
          results: res.results.map((r) => ({
            st: r.st.toString(),
            recordsUsed: r.records,
            carryBlock: r.carryBlock,
          })),
          maxStaleness: res.maxStaleness,
        };
      },
    ),
    listVouches: unary<stV1.ListVouchesRequest, stV1.ListVouchesResponse>(
      'ListVouches',
      h,
      async (req, ctx) => {
        const res = await calculator.listVouches(
          {
            entries: req.entries.map((e) => ({ ...account(e.account), ts: e.ts, te: e.te })),
            keeperIds: req.keeperIds,
          },
          callOf(ctx),
        );
        return { entries: res.entries.map((refs) => ({ refs })) };
      },
    ),
    auditGroup: unary<stV1.AuditGroupRequest, stV1.AuditGroupResponse>('AuditGroup', h, async (req, ctx) => {
      if (!req.range) throw new StQueryRejected('ST_INTERVAL_INVALID', 'range is required');
      const res = await calculator.auditGroup(
        { ...account(req.account), from: req.range.from, to: req.range.to, keeperIds: req.keeperIds },
        callOf(ctx),
      );
      return {
        keepers: res.keepers.map((k) => ({ ...k, st: k.st.toString() })),
        maxStaleness: res.maxStaleness,
      };
    }),
  };
}

export function registerGrpc(server: grpc.Server, deps: GrpcDeps): void {
  server.addService(decodeTolerant(stV1.StCalculatorServiceService), stCalculatorHandlers(deps));
}
