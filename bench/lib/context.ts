import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Host } from './host.ts';

/** A target a figure is held to. */
export interface Target {
  op: '>=' | '<=' | '<' | '>';
  value: number;
}

/** One reported number: a row of BENCHMARKS.md. */
export interface Figure {
  /** Stable id, e.g. `pipeline.ratio`. */
  id: string;
  /** The item (1 pipeline, 2 budget, 3 real-time, 4 ingress, 5 backfill). */
  item: number;
  label: string;
  /** null when it could not be measured (see `note`). */
  value: number | null;
  unit: string;
  target?: Target;
  /** Set by the report from `target`; null when there is no target or no value. */
  met?: boolean | null;
  /** What the value is made of (the runs' medians, the baseline's figure, …). */
  detail?: string;
  note?: string;
}

export interface SectionResult {
  figures: Figure[];
  /** Raw runs and anything else worth keeping in the JSON. */
  data: unknown;
}

export interface BenchContext {
  quick: boolean;
  redisUrl: string;
  /** A connection of the parent (clean-up, command counts); not measured. */
  redis: Redis;
  /** The child process that runs what is measured (workers, servers). */
  host: Host;
  log(line: string): void;
}

/** A fresh hash-tagged key prefix for one run: `{bench-<name>-<8 hex>}`. */
export function benchPrefix(name: string): string {
  return `{bench-${name}-${randomUUID().slice(0, 8)}}`;
}

export function figure(f: Figure): Figure {
  return f;
}

/** `a`, `b`, `a`, `b`, …, starting with `b` every other round so drift hits both alike. */
export function alternate<T>(round: number, a: T, b: T): [T, T] {
  return round % 2 === 0 ? [a, b] : [b, a];
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `intervalMs` until it returns true; throws after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
