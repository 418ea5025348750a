import * as grpc from '@grpc/grpc-js';
import { type ErrorKind, WhitePayError } from '@whitepay/base';

const KIND_OF_STATUS: Partial<Record<number, ErrorKind>> = {
  [grpc.status.INVALID_ARGUMENT]: 'invalid_argument',
  [grpc.status.DEADLINE_EXCEEDED]: 'deadline_exceeded',
  [grpc.status.NOT_FOUND]: 'not_found',
  [grpc.status.ALREADY_EXISTS]: 'conflict',
  [grpc.status.PERMISSION_DENIED]: 'permission_denied',
  [grpc.status.FAILED_PRECONDITION]: 'failed_precondition',
  [grpc.status.UNAVAILABLE]: 'unavailable',
  [grpc.status.UNAUTHENTICATED]: 'unauthenticated',
};

/** A failed call, as the caller sees it: the server's code when it sent one. */
export class RpcError extends WhitePayError {
  override readonly name = 'RpcError';
  readonly status: number;
  constructor(method: string, err: grpc.ServiceError) {
    const remote = err.metadata?.get('whitepay-code')[0];
    const code = typeof remote === 'string' ? remote : `GRPC_${grpc.status[err.code] ?? err.code}`;
    super(code, `${method}: ${err.details || err.message}`, {
      kind: KIND_OF_STATUS[err.code] ?? 'internal',
      cause: err,
      details: { method, status: err.code },
    });
    this.status = err.code;
  }
}

type UnaryMethod<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (err: grpc.ServiceError | null, res: Res) => void,
) => grpc.ClientUnaryCall;

/** Calls a unary method with a deadline; failures become RpcError. */
export function call<Req, Res>(
  client: grpc.Client,
  method: UnaryMethod<Req, Res>,
  req: Req,
  opts: { deadlineMs?: number; name?: string; metadata?: grpc.Metadata } = {},
): Promise<Res> {
  const deadline = new Date(Date.now() + (opts.deadlineMs ?? 10_000));
  const name = opts.name ?? (method.name || 'rpc');
  return new Promise<Res>((resolve, reject) => {
    method.call(client, req, opts.metadata ?? new grpc.Metadata(), { deadline }, (err, res) =>
      err ? reject(new RpcError(name, err)) : resolve(res),
    );
  });
}

export const insecure = (): grpc.ChannelCredentials => grpc.credentials.createInsecure();

/**
 * A client interceptor adding `authorization: Bearer <token>` to every call
 * (the release's internal token); no-op without a token. Pass it as
 * `new XClient(address, credentials, clientOptions({ token }))`.
 */
export function tokenInterceptor(token: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('authorization', `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}

/** The largest message a WhitePay client accepts (servers send pages well below it). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * Options of every WhitePay gRPC client: the explicit message limit (gRPC's
 * default of 4 MiB silently breaks large pages) and the internal token when
 * given.
 */
export function clientOptions(opts: { token?: string | undefined } = {}): grpc.ClientOptions {
  return {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...(opts.token ? { interceptors: [tokenInterceptor(opts.token)] } : {}),
  };
}
