import type { RateWindow, RouteName } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import type { Persona } from '../lib/aiq/types.ts';

export type FaultKind = 'latency' | 'error5xx' | 'applyThenDrop' | 'applyThenLate';
export const FAULT_KINDS: readonly FaultKind[] = ['latency', 'error5xx', 'applyThenDrop', 'applyThenLate'];

/** One way the simulator misbehaves, drawn per request from a seeded PRNG. */
export interface FaultRule {
  /** The client's route name, or `*` for every API route. */
  route: RouteName | '*';
  /** HTTP method (any case); every method when omitted. */
  method?: string;
  /**
   * `latency`: wait `latencyMs`, then handle normally. `error5xx`: answer `status` before applying
   * anything. `applyThenDrop`: apply, then destroy the socket without answering. `applyThenLate`:
   * apply, then answer only after `latencyMs` (the client's timeout, typically).
   */
  kind: FaultKind;
  /** 0..1, the chance that the rule fires for a matching request. */
  probability: number;
  /** `latency`: the added delay in ms (default 1000); `applyThenLate`: delay before answering (default 30 000). */
  latencyMs?: number;
  /** `error5xx`: the status; default 503. */
  status?: number;
}

/** An account the simulator serves: requests carrying `apiKey` see only this account's data. */
export interface SimulatorAccount {
  apiKey: string;
  uid: string;
  /** Rate windows of this key; default the simulator's `limits`. */
  limits?: RateWindow[];
}

export interface SimulatorOptions {
  /** TCP port; default 0 (a free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** API key of the default account; default `sim-key`. */
  apiKey?: string;
  /** User ID of the default account; default `1234`. */
  uid?: string;
  /** Extra accounts, each with its own data, ledger entries and rate counters. */
  accounts?: SimulatorAccount[];
  /** Personas seeded into every account at start (and again by `reset()`); default 0. */
  seed?: number;
  /** Seed of the PRNGs of data and fault draws; default 1. */
  randomSeed?: number;
  /** Sliding windows per API key; default none (unlimited). */
  limits?: RateWindow[];
  /** Send `Retry-After` (integer seconds) on 429; default true. */
  retryAfter?: boolean;
  faults?: FaultRule[];
  logger?: Logger;
  /** Wall clock in epoch ms; default `Date.now`. Timestamps and rate windows use it. */
  clock?: () => number;
}

/** How an applied opt-in call changed the number's state. */
export type OptInOutcome =
  | 'optedIn'
  | 'requested'
  | 'optedOut'
  | 'unchanged:optedOut'
  | 'unchanged:alreadyOptedIn'
  | 'unchanged:blocklisted';

/** One entry per APPLIED write: a write refused with 4xx, 5xx or 429 is not recorded. */
export interface LedgerEntry {
  seq: number;
  /** Epoch ms. */
  at: number;
  uid: string;
  route: RouteName;
  method: string;
  contactID?: string;
  phone?: string;
  /** adjustPoints: the delta. */
  value?: number;
  /** adjustPoints: the note as sent. */
  note?: string;
  /** optIn: what the call did (`requested` means a confirmation text went out). */
  outcome?: OptInOutcome | 'created' | 'existing';
  /** The request body as parsed (undefined for bodiless writes). */
  body?: unknown;
}

export interface SimulatorStats {
  /** API requests (control routes excluded), whatever their answer. */
  requests: number;
  rateLimited: number;
  /** By route name; `unknown` for paths that match no route. */
  byRoute: Record<string, number>;
  /** By status code; `dropped` for connections destroyed by applyThenDrop. */
  byStatus: Record<string, number>;
}

/** What a test sees of a persona: the API fields plus the simulator's own flags. */
export type PersonaView = Persona & { blocklisted: boolean; mergedInto?: string };

export type NewPersonaFields = Partial<Persona> & { blocklisted?: boolean; optedOut?: boolean };

export interface SimulatorControl {
  /** Back to the start options (data, ledger, stats, faults, limits and counters); the port stays. */
  reset(): void;
  /** Adds `count` realistic personas, deterministic from `randomSeed`. */
  seed(count: number, uid?: string): Persona[];
  /** Adds one persona; `contactID` is generated when absent. Throws on a taken phone, email or ID. */
  addPersona(fields: NewPersonaFields, uid?: string): Persona;
  /** Any persona by ID, including blocklisted and merged-away ones. */
  persona(contactID: string, uid?: string): PersonaView | undefined;
  /** The live (not merged-away) persona with this mobile phone, blocklisted included. */
  findByPhone(phone: string, uid?: string): Persona | undefined;
  /** Applied writes in order; every account's when `uid` is omitted. */
  ledger(uid?: string): LedgerEntry[];
  setFaults(rules: FaultRule[]): void;
  /** New windows for every key (counters restart); null removes the limits. */
  setLimits(windows: RateWindow[] | null, options?: { retryAfter?: boolean }): void;
  /** The customer answers the confirmation text: YES opts in (needs a pending request), STOP opts out for good. */
  replyToOptIn(phone: string, reply: 'YES' | 'STOP', uid?: string): void;
  /** The overnight identity merge: `from` disappears (404 afterwards), its points and data move into `into`. */
  merge(fromContactID: string, intoContactID: string, uid?: string): void;
  blocklist(contactID: string, uid?: string): void;
  stats(): SimulatorStats;
}

export interface Simulator {
  /** `http://host:port`, no trailing slash. */
  url: string;
  port: number;
  control: SimulatorControl;
  /** Stops listening and destroys open sockets (late answers included). Idempotent. */
  close(): Promise<void>;
}
