import { type JetStreamManager, RetentionPolicy, StorageType, type StreamConfig } from 'nats';

/**
 * Subjects and streams of one keeper cluster. Every name is under the
 * keeper's namespace (`k<keeperId>` by default) so that several keepers can
 * share one NATS server (the local network does; production clusters usually
 * run their own).
 *
 * | subject | producer | payload |
 * | --- | --- | --- |
 * | `<ns>.records.<user>.<pid>` | challenger | ChallengeRecord (protobuf) |
 * | `<ns>.peer-records` | keeper peer API | SignedRecord (protobuf) |
 * | `<ns>.blocks` | chain-submitter | block header JSON `{number, hash, parentHash, timestamp}` |
 * | `<ns>.payments` | chain-submitter | payment result JSON |
 * | `<ns>.reorgs` | chain-submitter | reorg notice JSON `{ancestor, removed, depth, head}` |
 * | `<ns>.submit` | consensus-coordinator → chain-submitter | request/reply (core NATS, queue group): submit a batch ({@link submitRequestSchema}) |
 * | `<ns>.peer-out` | challenger → consensus-coordinator | SignedRecord (protobuf) for the peers; stream `<NS>_PEER_OUT`, created by the challenger |
 */
export interface Subjects {
  ns: string;
  records: string;
  recordsFor(user: string, pid: string): string;
  peerRecords: string;
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
    peerRecords: `${ns}.peer-records`,
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

const DAY_NS = 24 * 3600 * 1_000_000_000;

/** Creates (or updates) the keeper's streams. File storage, so a NATS restart loses nothing. */
export async function ensureStreams(jsm: JetStreamManager, s: Subjects): Promise<void> {
  const wanted: Array<Partial<StreamConfig> & { name: string }> = [
    {
      name: s.streams.records,
      subjects: [s.records, s.peerRecords],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      max_age: 7 * DAY_NS,
      duplicate_window: 10 * 60 * 1_000_000_000,
    },
    {
      name: s.streams.blocks,
      subjects: [s.blocks],
      storage: StorageType.File,
      max_age: DAY_NS,
      max_msgs: 100_000,
    },
    { name: s.streams.payments, subjects: [s.payments], storage: StorageType.File, max_age: 30 * DAY_NS },
    { name: s.streams.reorgs, subjects: [s.reorgs], storage: StorageType.File, max_age: 30 * DAY_NS },
  ];
  for (const cfg of wanted) {
    try {
      await jsm.streams.info(cfg.name);
      await jsm.streams.update(cfg.name, cfg);
    } catch (err) {
      if ((err as { code?: string }).code === '404' || /stream not found/i.test(String(err))) {
        await jsm.streams.add(cfg);
      } else throw err;
    }
  }
}
