// Small helpers the benches share.
import type { providerV1, storeV1 } from '@whitepay/proto';
import { call } from '@whitepay/rpc';
import { addPiecesDigest, fromHex } from '@whitepay/store';
import { type Address, hexToBytes, type LocalAccount } from 'viem';

/** Runs `fn` over `items` with at most `width` calls in flight. */
export async function pool<T>(
  items: readonly T[],
  width: number,
  fn: (x: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

/** Sum of a Prometheus metric's samples (every label set) at a `/metrics` URL. */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(' ').pop());
  return sum;
}

/** Every series of one counter, by its label set (`outcome="confirmed",phase="receipt"`), summed into `into`. */
export async function metricSeries(url: string, name: string, into = new Map<string, number>()) {
  const text = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
  for (const line of text.split('\n')) {
    const m = line.startsWith(`${name}{`) ? /^[^{]+\{([^}]*)\} (\S+)$/.exec(line) : null;
    if (m) into.set(m[1]!, (into.get(m[1]!) ?? 0) + Number(m[2]));
  }
  return into;
}

/**
 * Provider `index`'s one piece of `size` bytes (deterministic content), stored
 * in a (multi-tenant) provider node for `user`, then registered with every
 * store by the user's signed request (single-use `nonce`, counting from `block`).
 */
export async function storeAndRegisterPiece(o: {
  provider: providerV1.ProviderServiceClient;
  stores: readonly storeV1.ChallengeStoreServiceClient[];
  user: LocalAccount;
  pid: Address;
  index: number;
  size: number;
  nonce: bigint;
  block: bigint;
  deadlineMs?: number;
}): Promise<void> {
  const data = new Uint8Array(o.size).map((_, j) => (j * 131 + o.index * 7) & 255);
  new DataView(data.buffer).setUint32(0, o.index);
  const put = await call(o.provider, o.provider.putPiece, {
    user: hexToBytes(o.user.address),
    pid: hexToBytes(o.pid),
    pieceId: new Uint8Array(),
    data,
    leafSize: 0,
  });
  const request = {
    user: fromHex('user', o.user.address),
    pid: fromHex('pid', o.pid),
    nonce: o.nonce,
    block: o.block,
    pieces: [{ pieceId: put.pieceId, size: put.size, root: put.root, leafSize: put.leafSize }],
  };
  const signature = hexToBytes(await o.user.signMessage({ message: { raw: addPiecesDigest(request) } }));
  const opts = o.deadlineMs === undefined ? undefined : { deadlineMs: o.deadlineMs, name: 'RegisterPieces' };
  await Promise.all(
    o.stores.map((c) =>
      call(
        c,
        c.registerPieces,
        {
          account: { user: request.user, pid: request.pid },
          nonce: request.nonce,
          block: request.block,
          pieces: request.pieces,
          signature,
        },
        opts,
      ),
    ),
  );
}
