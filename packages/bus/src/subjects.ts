import { DiscardPolicy, type JetStreamManager, RetentionPolicy, StorageType, type StreamConfig } from 'nats';
import { DEFAULT_STREAM_LIMITS, type StreamLimit, type StreamLimits } from './config.js';

/**
 * Subjects and streams of one keeper cluster. Every name is under the
 * keeper's namespace (`k<keeperId>` by default) so that several keepers can
 * share one NATS server (the local network does; production clusters usually
 * run their own).
 *
 * | subject | producer | payload |
 * | --- | --- | --- |
 * | `<ns>.records.<user>.<pid>` | challenger | ChallengeRecord (protobuf), bus-signed |
 * | `<ns>.blocks` | chain-submitter | block header JSON `{number, hash, parentHash, timestamp}`, bus-signed |
 * | `<ns>.payments` | chain-submitter | payment result JSON |
 * | `<ns>.reorgs` | chain-submitter | reorg notice JSON `{ancestor, removed, depth, head}` |
 * | `<ns>.submit` | consensus-coordinator → chain-submitter | request/reply (core NATS, queue group): submit a batch ({@link submitRequestSchema}), bus-signed |
 * | `<ns>.peer-out` | challenger → consensus-coordinator | SignedRecord (protobuf, signed by the keeper's account key) for the peers; stream `<NS>_PEER_OUT` |
 *
 * State-changing messages carry the keeper's bus signature (`auth.ts`); every
 * stream has a byte and an age cap (`NATS_STREAM_MAX_BYTES`, `NATS_STREAM_MAX_AGE_SECONDS`).
 */
export interface Subjects {
  ns: string;
  records: string;
  recordsFor(user: string, pid: string): string;
  blocks: string;
  payments: string;
  /** Reorganisation notices; their own stream, so `<ns>.blocks` carries only headers. */
  reorgs: string;
  /** Request/reply subject of the chain-submitter's submit API (not a stream). */
  submit: string;
  /** This keeper's signed records for its peers (the challenger publishes, the coordinator's forwarder reads). */
  peerOut: string;
  streams: { records: string; blocks: string; payments: string; reorgs: string; peerOut: string };
}

/** A keeper's NATS namespace: the configured one, else `k<keeperId>` (the default every service shares). */
export function keeperNamespace(configured: string | undefined, keeperId: number): string {
  return configured ?? `k${keeperId}`;
}

export function subjects(ns: string): Subjects {
  if (!/^[A-Za-z0-9_-]+$/.test(ns)) throw new Error(`invalid NATS namespace ${ns}`);
  return {
    ns,
    records: `${ns}.records.>`,
    recordsFor: (user, pid) => `${ns}.records.${user.toLowerCase()}.${pid.toLowerCase()}`,
    blocks: `${ns}.blocks`,
    payments: `${ns}.payments`,
    reorgs: `${ns}.reorgs`,
    submit: `${ns}.submit`,
    peerOut: `${ns}.peer-out`,
    streams: {
      records: `${ns.toUpperCase()}_RECORDS`,
      blocks: `${ns.toUpperCase()}_BLOCKS`,
      payments: `${ns.toUpperCase()}_PAYMENTS`,
      reorgs: `${ns.toUpperCase()}_REORGS`,
      peerOut: `${ns.toUpperCase()}_PEER_OUT`,
    },
  };
}

const SEC_NS = 1_000_000_000;

/** The caps of one stream as JetStream takes them (bytes; nanoseconds). */
export function streamCaps(l: StreamLimit): Pick<StreamConfig, 'max_bytes' | 'max_age'> {
  return { max_bytes: l.maxBytes, max_age: l.maxAgeSeconds * SEC_NS };
}

/**
 * Creates (or updates) a stream; a concurrent creator (another replica or
 * service) winning the race is fine.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  cfg: Partial<StreamConfig> & { name: string },
): Promise<void> {
  try {
    await jsm.streams.info(cfg.name);
    await jsm.streams.update(cfg.name, cfg);
  } catch (err) {
    if ((err as { code?: string }).code !== '404' && !/stream not found/i.test(String(err))) throw err;
    try {
      await jsm.streams.add(cfg);
    } catch (e) {
      if (!/already in use|already exists/i.test(String(e))) throw e;
    }
  }
}

/**
 * Creates (or updates) the keeper's streams. File storage, so a NATS restart
 * loses nothing; each capped in bytes and age (`limits`, from the config).
 * Full streams drop their oldest messages (a record is needed only until the
 * challenge-store has it).
 */
export async function ensureStreams(
  jsm: JetStreamManager,
  s: Subjects,
  limits: StreamLimits = DEFAULT_STREAM_LIMITS,
): Promise<void> {
  const wanted: Array<Partial<StreamConfig> & { name: string }> = [
    {
      name: s.streams.records,
      subjects: [s.records],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      ...streamCaps(limits.records),
      duplicate_window: 10 * 60 * SEC_NS,
    },
    {
      name: s.streams.peerOut,
      subjects: [s.peerOut],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      ...streamCaps(limits['peer-out']),
      duplicate_window: 10 * 60 * SEC_NS,
    },
    {
      name: s.streams.blocks,
      subjects: [s.blocks],
      storage: StorageType.File,
      ...streamCaps(limits.blocks),
      max_msgs: 100_000,
    },
    {
      name: s.streams.payments,
      subjects: [s.payments],
      storage: StorageType.File,
      ...streamCaps(limits.payments),
    },
    { name: s.streams.reorgs, subjects: [s.reorgs], storage: StorageType.File, ...streamCaps(limits.reorgs) },
  ];
  for (const cfg of wanted) await ensureStream(jsm, cfg);
}
