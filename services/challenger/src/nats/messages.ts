import type { RegisteredPiece } from '@whitepay/challenge';
import { z } from 'zod';
import { BlockMessageError, TaskMessageError } from '../errors.js';

/**
 * Messages the challenger reads. Blocks come from the chain-submitter on
 * `<ns>.blocks` as JSON `{number, hash, parentHash, timestamp}`; tasks are
 * this service's own fan-out, one per (block, user, pid).
 */
const hash = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'expected 32 bytes of hex');
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 20-byte hex address');

export const blockSchema = z.object({
  number: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  hash,
  parentHash: hash,
  timestamp: z.number().int().nonnegative(),
});
export type Block = z.infer<typeof blockSchema>;

const pieceSchema = z.object({
  pieceId: hash,
  size: z.string().regex(/^[1-9][0-9]{0,19}$/, 'expected a positive decimal size'),
  root: hash,
  leafSize: z.number().int().positive(),
});

export const taskSchema = z.object({
  block: blockSchema,
  user: address,
  pid: address,
  /** The pieces counting at the block, read by the fan-out in bulk; absent: the worker reads them. */
  pieces: z.array(pieceSchema).optional(),
});
export interface Task {
  block: Block;
  user: `0x${string}`;
  pid: `0x${string}`;
  pieces?: RegisteredPiece[];
}

const dec = new TextDecoder('utf-8', { fatal: true });
const enc = new TextEncoder();

function parseJson(data: Uint8Array): unknown {
  return JSON.parse(dec.decode(data));
}

function problems(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

export function parseBlock(data: Uint8Array): Block {
  let raw: unknown;
  try {
    raw = parseJson(data);
  } catch (err) {
    throw new BlockMessageError('block message is not UTF-8 JSON', {
      error: err instanceof Error ? err.message : String(err),
      bytes: data.length,
    });
  }
  const r = blockSchema.safeParse(raw);
  if (!r.success) throw new BlockMessageError(`block message invalid: ${problems(r.error)}`);
  return r.data;
}

export function parseTask(data: Uint8Array): Task {
  let raw: unknown;
  try {
    raw = parseJson(data);
  } catch (err) {
    throw new TaskMessageError('task message is not UTF-8 JSON', {
      error: err instanceof Error ? err.message : String(err),
    });
  }
  const r = taskSchema.safeParse(raw);
  if (!r.success) throw new TaskMessageError(`task message invalid: ${problems(r.error)}`);
  const task: Task = {
    block: r.data.block,
    user: r.data.user.toLowerCase() as `0x${string}`,
    pid: r.data.pid.toLowerCase() as `0x${string}`,
  };
  if (r.data.pieces) {
    task.pieces = r.data.pieces.map((p) => ({
      pieceId: p.pieceId.toLowerCase() as `0x${string}`,
      size: BigInt(p.size),
      root: p.root.toLowerCase() as `0x${string}`,
      leafSize: p.leafSize,
    }));
  }
  return task;
}

export function encodeTask(t: Task): Uint8Array {
  return enc.encode(
    JSON.stringify({
      block: t.block,
      user: t.user,
      pid: t.pid,
      ...(t.pieces ? { pieces: t.pieces.map((p) => ({ ...p, size: p.size.toString() })) } : {}),
    }),
  );
}
