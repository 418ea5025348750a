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
