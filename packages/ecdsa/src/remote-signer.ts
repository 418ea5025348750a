import { WhitePayError } from '@whitepay/base';
import {
  type Address,
  getAddress,
  type Hex,
  isAddress,
  isHex,
  type LocalAccount,
  numberToHex,
  parseTransaction,
  recoverTransactionAddress,
  type TransactionSerializable,
} from 'viem';
import { toAccount } from 'viem/accounts';

/**
 * The transaction key held by a remote signer: a process that keeps the key
 * (an HSM, a KMS, Web3Signer in its eth1 mode, Clef) and signs transactions
 * over JSON-RPC `eth_signTransaction`. The keeper never sees the key; it
 * builds the transaction (nonce, fees, gas — the chain-submitter's sender
 * loop), asks the signer for the signed bytes and broadcasts them itself.
 *
 * Every answer is checked: it must parse as a transaction equal to the one
 * asked for, and its signature must recover to the configured address, so a
 * misconfigured or compromised signer cannot make the keeper broadcast
 * something else.
 */
export class RemoteSignerError extends WhitePayError {
  override readonly name = 'RemoteSignerError';
}

export interface RemoteSignerOptions {
  /** The signer's JSON-RPC endpoint, e.g. `http://web3signer:9000`. */
  url: string;
  /** The account the signer signs for (checked on every signature). */
  address: Address;
  /** Sent as `Authorization: Bearer …` when set. */
  token?: string | undefined;
  /** Per-request timeout, ms (default 10 s). */
  timeoutMs?: number;
}

let nextId = 1;

async function rpc(opts: RemoteSignerOptions, method: string, params: unknown[]): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(opts.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
  } catch (err) {
    throw new RemoteSignerError('REMOTE_SIGNER_UNAVAILABLE', `${method}: ${(err as Error).message}`, {
      kind: 'unavailable',
      cause: err,
    });
  }
  if (!res.ok) {
    throw new RemoteSignerError('REMOTE_SIGNER_UNAVAILABLE', `${method}: HTTP ${res.status}`, {
      kind: res.status === 401 || res.status === 403 ? 'unauthenticated' : 'unavailable',
      details: { status: res.status },
    });
  }
  const body = (await res.json().catch(() => undefined)) as
    | { result?: unknown; error?: { code?: number; message?: string } }
    | undefined;
  if (!body || typeof body !== 'object') {
    throw new RemoteSignerError('REMOTE_SIGNER_BAD_ANSWER', `${method}: the answer is not JSON-RPC`, {
      kind: 'internal',
    });
  }
  if (body.error) {
    throw new RemoteSignerError('REMOTE_SIGNER_REFUSED', `${method}: ${body.error.message ?? 'refused'}`, {
      kind: 'failed_precondition',
      details: { rpcCode: body.error.code },
    });
  }
  return body.result;
}

/** The JSON-RPC transaction object of `eth_signTransaction` (quantities as hex). */
function toRpcTransaction(from: Address, tx: TransactionSerializable): Record<string, unknown> {
  const q = (v: bigint | number | undefined) => (v === undefined ? undefined : numberToHex(v));
  const out: Record<string, unknown> = {
    from,
    to: tx.to ?? undefined,
    data: tx.data,
    value: q(tx.value ?? 0n),
    nonce: q(tx.nonce),
    gas: q(tx.gas),
    chainId: q(tx.chainId),
  };
  if (tx.maxFeePerGas !== undefined) {
    out.type = '0x2';
    out.maxFeePerGas = q(tx.maxFeePerGas);
    out.maxPriorityFeePerGas = q(tx.maxPriorityFeePerGas);
  } else if (tx.gasPrice !== undefined) {
    out.gasPrice = q(tx.gasPrice);
  }
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

const SAME_FIELDS = [
  'to',
  'data',
  'value',
  'nonce',
  'gas',
  'chainId',
  'maxFeePerGas',
  'maxPriorityFeePerGas',
] as const;

/**
 * A viem account whose `signTransaction` is the remote signer's. Message and
 * typed-data signing are refused: the keeper signs only transactions with
 * this key.
 */
export function remoteSignerAccount(opts: RemoteSignerOptions): LocalAccount {
  if (!isAddress(opts.address)) {
    throw new RemoteSignerError('REMOTE_SIGNER_CONFIG', `not an address: ${opts.address}`, {
      kind: 'invalid_argument',
    });
  }
  const address = getAddress(opts.address);
  const refuse = async (): Promise<never> => {
    throw new RemoteSignerError('REMOTE_SIGNER_UNSUPPORTED', 'the remote signer signs transactions only', {
      kind: 'failed_precondition',
    });
  };
  return toAccount({
    address,
    signMessage: refuse,
    signTypedData: refuse,
    async signTransaction(tx) {
      const result = await rpc(opts, 'eth_signTransaction', [toRpcTransaction(address, tx)]);
      const raw = (
        typeof result === 'object' && result !== null ? (result as { raw?: unknown }).raw : result
      ) as unknown;
      if (typeof raw !== 'string' || !isHex(raw)) {
        throw new RemoteSignerError(
          'REMOTE_SIGNER_BAD_ANSWER',
          'eth_signTransaction returned no signed bytes',
          {
            kind: 'internal',
          },
        );
      }
      const signed = raw as Hex;
      let parsed: ReturnType<typeof parseTransaction>;
      let signer: Address;
      try {
        parsed = parseTransaction(signed);
        signer = await recoverTransactionAddress({ serializedTransaction: signed as never });
      } catch (err) {
        throw new RemoteSignerError(
          'REMOTE_SIGNER_BAD_ANSWER',
          `unparsable signed transaction: ${(err as Error).message}`,
          {
            kind: 'internal',
            cause: err,
          },
        );
      }
      if (signer !== address) {
        throw new RemoteSignerError(
          'REMOTE_SIGNER_WRONG_KEY',
          `the signer signed as ${signer}, expected ${address}`,
          {
            kind: 'failed_precondition',
            details: { signer, expected: address },
          },
        );
      }
      for (const f of SAME_FIELDS) {
        const want = tx[f as keyof TransactionSerializable];
        const got = parsed[f as keyof typeof parsed];
        const norm = (v: unknown) =>
          typeof v === 'string' ? v.toLowerCase() : v === undefined ? undefined : BigInt(v as bigint);
        const w = f === 'value' && want === undefined ? 0n : want;
        const g = f === 'value' && got === undefined ? 0n : got;
        if (w === undefined) continue;
        if (norm(w) !== norm(g)) {
          throw new RemoteSignerError(
            'REMOTE_SIGNER_TAMPERED',
            `the signed transaction's ${f} differs from the one asked for`,
            {
              kind: 'failed_precondition',
              details: { field: f },
            },
          );
        }
      }
      return signed;
    },
  });
}
