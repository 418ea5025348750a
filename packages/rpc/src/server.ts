import * as grpc from '@grpc/grpc-js';
import {
  asWhitePayError,
  bearerToken,
  type Counter,
  grpcStatusOf,
  type Logger,
  tokenMatches,
  WhitePayError,
} from '@whitepay/base';
import { MAX_MESSAGE_BYTES } from './client.js';
import { type CallSecurity, callSecurity } from './tls.js';

export { grpc };

export interface UnaryContext {
  /** Deadline of the call, if the client set one. */
  deadline: Date | undefined;
  metadata: grpc.Metadata;
  peer: string;
  /** The transport (mTLS or plaintext) and the keeper the client certificate names. */
  security: CallSecurity;
}

export interface HandlerDeps {
  log: Logger;
  /** When set, every call must carry `authorization: Bearer <token>` (the release's internal token). */
  token?: string | undefined;
  /** Counts rejected calls by reason (the error code); optional. */
  rejected?: Counter<'boundary' | 'reason'>;
  /**
   * Every call must come over TLS with a client certificate that chains to the CA bundle and names
   * a keeper (`serverCredentials`): else `RPC_CERTIFICATE_REQUIRED`, logged at warn and counted.
   */
  requireCertificate?: boolean;
}

/** Turns a WhitePayError into the gRPC status the client sees (the one mapper of this boundary). */
export function toServiceError(err: WhitePayError): Partial<grpc.ServiceError> {
  const metadata = new grpc.Metadata();
  metadata.set('whitepay-code', err.code);
  return { code: grpcStatusOf(err), details: `${err.code}: ${err.message}`, metadata };
}

/** A request whose bytes did not decode (see `decodeTolerant`): `unary` answers it `RPC_MALFORMED_REQUEST`. */
export class UndecodableRequest {
  constructor(readonly reason: string) {}
}

/**
 * The service definition with every request decoder made total: bytes that do
 * not decode become an `UndecodableRequest`, which `unary` refuses as
 * `RPC_MALFORMED_REQUEST` (invalid argument, counted as any refusal) — where
 * grpc-js would answer a bare INTERNAL that nothing counts. Register every
 * service through it: `server.addService(decodeTolerant(Def), handlers)`.
 */
export function decodeTolerant<D extends grpc.ServiceDefinition>(def: D): D {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, m] of Object.entries(def) as Array<[string, grpc.MethodDefinition<unknown, unknown>]>)
    out[name] = {
      ...m,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return m.requestDeserialize(bytes);
        } catch (err) {
          return new UndecodableRequest((err as Error).message ?? String(err));
        }
      },
    };
  return out as unknown as D;
}

/**
 * Adapts an async function to a grpc-js unary handler. Typed errors map to
 * their status; anything else is logged and answered INTERNAL without leaking
 * internals. A handler never crashes the process.
 */
export function unary<Req, Res>(
  name: string,
  deps: HandlerDeps,
  fn: (req: Req, ctx: UnaryContext) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  const log = deps.log.child({ rpc: name });
  return (call, callback) => {
    const deadline = call.getDeadline();
    const ctx: UnaryContext = {
      deadline:
        deadline instanceof Date ? deadline : Number.isFinite(deadline) ? new Date(deadline) : undefined,
      metadata: call.metadata,
      peer: call.getPeer(),
      security: callSecurity(call),
    };
    const authorized = async (): Promise<Res> => {
      if (deps.requireCertificate && !ctx.security.identity) {
        log.warn(
          { peer: ctx.peer, transport: ctx.security.transport },
          'call refused: no verified keeper certificate (missing, not from a trusted CA, or naming no keeper)',
        );
        throw new WhitePayError(
          'RPC_CERTIFICATE_REQUIRED',
          'this service needs a client certificate from the group CA bundle naming a keeper',
          { kind: 'unauthenticated', details: { peer: ctx.peer } },
        );
      }
      if (deps.token !== undefined) {
        if (!tokenMatches(bearerToken(call.metadata.get('authorization')[0]), deps.token))
          throw new WhitePayError(
            'RPC_UNAUTHENTICATED',
            'this service needs the internal token of its release',
            {
              kind: 'unauthenticated',
            },
          );
      }
      if ((call.request as unknown) instanceof UndecodableRequest)
        throw new WhitePayError(
          'RPC_MALFORMED_REQUEST',
          `the request does not decode: ${(call.request as unknown as UndecodableRequest).reason}`,
          { kind: 'invalid_argument' },
        );
      return fn(call.request, ctx);
    };
    authorized().then(
      (res) => callback(null, res),
      (err: unknown) => {
        const e = asWhitePayError(err);
        if (e.kind === 'internal') log.error({ err }, 'handler failed');
        else log.debug({ code: e.code, reason: e.message }, 'request rejected');
        deps.rejected?.inc({ boundary: `grpc:${name}`, reason: e.code });
        // Internal failures are logged here and answered without their details.
        callback(toServiceError(e.kind === 'internal' ? new WhitePayError('INTERNAL', 'internal error') : e));
      },
    );
  };
}

export interface GrpcServerHandle {
  server: grpc.Server;
  port: number;
  stop(graceMs?: number): Promise<void>;
}

export async function listenGrpc(
  register: (server: grpc.Server) => void,
  host: string,
  port: number,
  options: grpc.ServerOptions = {},
  /** mTLS from `serverCredentials(material)`; plaintext when omitted. */
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<GrpcServerHandle> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...options,
  });
  register(server);
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, credentials, (err, p) =>
      err
        ? reject(new WhitePayError('GRPC_BIND_FAILED', err.message, { kind: 'unavailable', cause: err }))
        : resolve(p),
    );
  });
  return {
    server,
    port: bound,
    stop: (graceMs = 5_000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
