import { ensureStream, type StreamLimits, type Subjects, streamCaps } from '@whitepay/bus';
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from 'nats';

/**
 * The challenger's own subjects and streams (added beside packages/bus's):
 *
 * | subject | stream | payload |
 * | --- | --- | --- |
 * | `<ns>.challenge-tasks.<user>.<pid>` | `<NS>_CHALLENGE_TASKS` (work queue) | task JSON `{block, user, pid, pieces?}`, bus-signed, Nats-Msg-Id `<block>:<hash>:<user>:<pid>` |
 *
 * `<ns>.peer-out` (`<NS>_PEER_OUT`, SignedRecord for the keeper-to-keeper
 * transport) is packages/bus's, created by its `ensureStreams`.
 *
 * Durable consumers, shared by every replica: `challenger` on the blocks
 * stream (each block to one replica, which fans it out) and `challenger` on
 * the tasks stream (each task to one replica).
 */
export interface ChallengerSubjects {
  tasks: string;
  taskFor(user: string, pid: string): string;
  peerOut: string;
  streams: { tasks: string; peerOut: string };
  consumers: { blocks: string; tasks: string };
}

export function challengerSubjects(s: Subjects): ChallengerSubjects {
  const NS = s.ns.toUpperCase();
  return {
    tasks: `${s.ns}.challenge-tasks.>`,
    taskFor: (user, pid) => `${s.ns}.challenge-tasks.${user.toLowerCase()}.${pid.toLowerCase()}`,
    peerOut: s.peerOut,
    streams: { tasks: `${NS}_CHALLENGE_TASKS`, peerOut: s.streams.peerOut },
    consumers: { blocks: 'challenger', tasks: 'challenger' },
  };
}

const ms = (n: number) => n * 1_000_000;

function notFound(err: unknown): boolean {
  return (err as { code?: string }).code === '404' || /not found/i.test(String(err));
}

async function ensureConsumer(jsm: JetStreamManager, stream: string, cfg: Partial<ConsumerConfig>) {
  const name = cfg.durable_name!;
  try {
    await jsm.consumers.info(stream, name);
    return; // created before (by this or another replica): keep its position
  } catch (err) {
    if (!notFound(err)) throw err;
  }
  try {
    await jsm.consumers.add(stream, cfg);
  } catch (err) {
    await jsm.consumers.info(stream, name).catch(() => {
      throw err;
    });
  }
}

export async function ensureChallengerStreams(
  jsm: JetStreamManager,
  s: Subjects,
  c: ChallengerSubjects,
  opts: { ackWaitMs: number; blocksStart: 'new' | 'all'; limits: StreamLimits },
): Promise<void> {
  // A full task queue refuses new tasks (the fan-out naks its block and retries) rather than
  // dropping queued ones.
  await ensureStream(jsm, {
    name: c.streams.tasks,
    subjects: [c.tasks],
    storage: StorageType.File,
    retention: RetentionPolicy.Workqueue,
    discard: DiscardPolicy.New,
    ...streamCaps(opts.limits['challenge-tasks']),
    duplicate_window: 10 * 60 * 1_000_000_000,
  });
  await ensureConsumer(jsm, s.streams.blocks, {
    durable_name: c.consumers.blocks,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: opts.blocksStart === 'all' ? DeliverPolicy.All : DeliverPolicy.New,
    ack_wait: ms(opts.ackWaitMs),
    max_ack_pending: 64,
  });
  await ensureConsumer(jsm, c.streams.tasks, {
    durable_name: c.consumers.tasks,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: ms(opts.ackWaitMs),
    max_ack_pending: 10_000,
  });
}
