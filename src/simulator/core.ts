import type { RateWindow } from '../lib/config.ts';
import { notFound } from './errors.ts';
import { assertFaultRules } from './faults.ts';
import { createRng, type Rng } from './prng.ts';
import { createKeyLimiter, type KeyLimiter } from './rate-limit.ts';
import { seedPersona } from './seed.ts';
import { AccountState, type PersonaRecord } from './state.ts';
import type { FaultRule, LedgerEntry, SimulatorAccount, SimulatorOptions, SimulatorStats } from './types.ts';

/** Mixed into the random seed of the fault draws, so they do not repeat the data draws. */
const FAULT_SEED_SALT = 0x9e3779b9;

interface AccountEntry {
  state: AccountState;
  config: SimulatorAccount;
  limiter: KeyLimiter;
}

const emptyStats = (): SimulatorStats => ({ requests: 0, rateLimited: 0, byRoute: {}, byStatus: {} });

/**
 * Everything the simulator remembers: accounts and their data, rate counters, fault rules and
 * their PRNG, the ledger of applied writes and the request statistics. `reset()` returns all of
 * it to the start options.
 */
export class SimulatorCore {
  readonly clock: () => number;
  private readonly start: SimulatorOptions;
  private readonly accountConfigs: SimulatorAccount[];
  private byKey = new Map<string, AccountEntry>();
  private byUid = new Map<string, AccountEntry>();
  /** The default account's uid. */
  readonly defaultUid: string;
  faults: FaultRule[] = [];
  faultRng: Rng = createRng(0);
  retryAfter = true;
  private limits: RateWindow[] | null = null;
  private entries: LedgerEntry[] = [];
  private seq = 0;
  stats: SimulatorStats = emptyStats();

  constructor(options: SimulatorOptions) {
    this.start = options;
    this.clock = options.clock ?? Date.now;
    const main: SimulatorAccount = { apiKey: options.apiKey ?? 'sim-key', uid: options.uid ?? '1234' };
    this.accountConfigs = [main, ...(options.accounts ?? [])];
    this.defaultUid = main.uid;
    const keys = new Set<string>();
    const uids = new Set<string>();
    for (const a of this.accountConfigs) {
      if (a.apiKey.length === 0 || keys.has(a.apiKey)) throw new Error(`simulator accounts need distinct, non-empty API keys`);
      if (!/^\d{1,20}$/.test(a.uid) || uids.has(a.uid)) throw new Error(`simulator accounts need distinct numeric uids (got "${a.uid}")`);
      keys.add(a.apiKey);
      uids.add(a.uid);
    }
    this.reset();
  }

  /** Back to the start options. */
  reset(): void {
    const randomSeed = this.start.randomSeed ?? 1;
    this.limits = this.start.limits ?? null;
    this.retryAfter = this.start.retryAfter ?? true;
    this.faults = assertFaultRules(this.start.faults ?? []);
    this.faultRng = createRng((randomSeed ^ FAULT_SEED_SALT) >>> 0);
    this.entries = [];
    this.seq = 0;
    this.stats = emptyStats();
    this.byKey = new Map();
    this.byUid = new Map();
    for (const config of this.accountConfigs) {
      const entry: AccountEntry = {
        state: new AccountState(config.uid, config.apiKey, randomSeed),
        config,
        limiter: createKeyLimiter(config.limits ?? this.limits ?? []),
      };
      this.byKey.set(config.apiKey, entry);
      this.byUid.set(config.uid, entry);
      this.seed(entry.state, this.start.seed ?? 0);
    }
  }

  seed(state: AccountState, count: number): PersonaRecord[] {
    const out: PersonaRecord[] = [];
    for (let i = 0; i < count; i++) out.push(seedPersona(state));
    return out;
  }

  /** The account an API key selects, or undefined for a missing or unknown key. */
  accountByKey(apiKey: string | undefined): AccountState | undefined {
    return apiKey === undefined ? undefined : this.byKey.get(apiKey)?.state;
  }

  limiterOf(state: AccountState): KeyLimiter | undefined {
    return this.byKey.get(state.apiKey)?.limiter;
  }

  /** The account of a control call; the default one when `uid` is omitted. */
  account(uid?: string): AccountState {
    const entry = this.byUid.get(uid ?? this.defaultUid);
    if (!entry) throw notFound(`no simulated account has uid ${uid ?? ''}`);
    return entry.state;
  }

  /** New windows for every key (an account's own `limits` included); counters restart. */
  setLimits(windows: RateWindow[] | null, retryAfter: boolean | undefined): void {
    this.limits = windows;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
    for (const entry of this.byKey.values()) entry.limiter = createKeyLimiter(windows ?? []);
  }

  setFaults(rules: FaultRule[]): void {
    this.faults = assertFaultRules(rules);
  }

  record(entry: Omit<LedgerEntry, 'seq' | 'at'>): void {
    this.seq += 1;
    this.entries.push({ seq: this.seq, at: this.clock(), ...entry });
  }

  ledger(uid?: string): LedgerEntry[] {
    const list = uid === undefined ? this.entries : this.entries.filter((e) => e.uid === uid);
    return list.map((e) => ({ ...e }));
  }

  /** Counts an API request as it arrives. */
  arrived(route: string): void {
    this.stats.requests += 1;
    this.stats.byRoute[route] = (this.stats.byRoute[route] ?? 0) + 1;
  }

  /** Counts how an API request ended. */
  answered(status: number | 'dropped'): void {
    const key = String(status);
    this.stats.byStatus[key] = (this.stats.byStatus[key] ?? 0) + 1;
    if (status === 429) this.stats.rateLimited += 1;
  }
}
