import type { RedisClient } from './redis.ts';
import type { Keys } from './keys.ts';

/** Terminal kinds per queue (design.md, "Queues and result events"). */
export const TERMINAL_KINDS = {
  points: ['points.applied', 'points.unchanged', 'job.dead'],
  optin: ['optin.applied', 'optin.requested', 'optin.refused', 'job.dead'],
  attributes: ['attributes.synced', 'attributes.unchanged', 'attributes.stale', 'job.dead'],
  contacts: ['contact.created', 'contact.existing', 'job.dead'],
  backfill: ['backfill.completed', 'job.dead'],
} as const;

export type QueueName = keyof typeof TERMINAL_KINDS;
export const QUEUE_NAMES = Object.keys(TERMINAL_KINDS) as QueueName[];
export type TerminalKind = (typeof TERMINAL_KINDS)[QueueName][number];

/** One entry of the result-event stream. */
export interface ResultEvent {
  /** Stable: the same effect always yields the same id (`<kind>:<key>`). */
  id: string;
  kind: TerminalKind | string;
  key: string;
  jobId: string;
  queue: string;
  account: string;
  contactID: string;
  attempts: number;
  /** Epoch milliseconds. */
  at: number;
  detail: Record<string, unknown>;
  /** The stream entry ID (set when read). */
  streamId?: string;
}

export type EventInput = Omit<ResultEvent, 'id' | 'at' | 'streamId'> & { at?: number };

export function eventId(kind: string, key: string): string {
  return `${kind}:${key}`;
}

/** Flat field/value list for XADD, in the contract's field order. */
export function eventFields(event: ResultEvent): string[] {
  return [
    'id', event.id,
    'kind', event.kind,
    'key', event.key,
    'jobId', event.jobId,
    'queue', event.queue,
    'account', event.account,
    'contactID', event.contactID,
    'attempts', String(event.attempts),
    'at', String(event.at),
    'detail', JSON.stringify(event.detail),
  ];
}

export function buildEvent(input: EventInput, now = Date.now()): ResultEvent {
  return { ...input, id: eventId(input.kind, input.key), at: input.at ?? now };
}

export function parseEventFields(streamId: string, fields: string[]): ResultEvent {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  let detail: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(map.get('detail') ?? '{}');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) detail = parsed as Record<string, unknown>;
  } catch {
    detail = { unparsable: map.get('detail') };
  }
  return {
    streamId,
    id: map.get('id') ?? '',
    kind: map.get('kind') ?? '',
    key: map.get('key') ?? '',
    jobId: map.get('jobId') ?? '',
    queue: map.get('queue') ?? '',
    account: map.get('account') ?? '',
    contactID: map.get('contactID') ?? '',
    attempts: Number(map.get('attempts') ?? 0),
    at: Number(map.get('at') ?? 0),
    detail,
  };
}

export interface EventStream {
  /** Appends one event (trimmed approximately to `maxLen`). Prefer Ledger.finish for terminal events. */
  publish(input: EventInput): Promise<ResultEvent>;
  /** Reads entries after `fromId` (exclusive; '0' from the start), at most `count`. */
  read(fromId?: string, count?: number): Promise<ResultEvent[]>;
  /** Every entry, oldest first (tests and the demo summary; pages through the stream). */
  readAll(): Promise<ResultEvent[]>;
  /** Follows the stream from `fromId` ('$' = only new entries) until the signal aborts. */
  follow(fromId: string, onEvent: (e: ResultEvent) => void, signal: AbortSignal): Promise<void>;
  length(): Promise<number>;
}

export interface CreateEventStreamOptions {
  redis: RedisClient;
  keys: Keys;
  /** Approximate MAXLEN of the stream; default 1 000 000. */
  maxLen?: number;
  /**
   * A connection for blocking reads (`follow`); it must be a worker-role connection and is
   * owned by the caller. Default: `redis`.
   */
  blockingRedis?: RedisClient;
}

type XEntries = Array<[string, string[]]>;

export function createEventStream(options: CreateEventStreamOptions): EventStream {
  const { redis, keys } = options;
  const maxLen = options.maxLen ?? 1_000_000;
  const stream = keys.events();

  async function read(fromId = '0', count = 1000): Promise<ResultEvent[]> {
    const start = fromId === '0' ? '-' : `(${fromId}`;
    const entries = (await redis.xrange(stream, start, '+', 'COUNT', count)) as XEntries;
    return entries.map(([id, fields]) => parseEventFields(id, fields));
  }

  return {
    async publish(input) {
      const event = buildEvent(input);
      await redis.xadd(stream, 'MAXLEN', '~', maxLen, '*', ...eventFields(event));
      return event;
    },
    read,
    async readAll() {
      const all: ResultEvent[] = [];
      let from = '0';
      for (;;) {
        const page = await read(from, 5000);
        all.push(...page);
        if (page.length < 5000) return all;
        from = page[page.length - 1]!.streamId!;
      }
    },
    async follow(fromId, onEvent, signal) {
      const reader = options.blockingRedis ?? redis;
      let last = fromId;
      while (!signal.aborted) {
        const res = (await reader.xread('COUNT', 500, 'BLOCK', 1000, 'STREAMS', stream, last)) as Array<[string, XEntries]> | null;
        if (!res) continue;
        for (const [, entries] of res) {
          for (const [id, fields] of entries) {
            last = id;
            onEvent(parseEventFields(id, fields));
          }
        }
      }
    },
    length: () => redis.xlen(stream),
  };
}
