import { z } from 'zod';
import { ROUTE_NAMES } from '../lib/config.ts';
import { badRequest } from './errors.ts';
import type { Rng } from './prng.ts';
import { FAULT_KINDS, type FaultKind, type FaultRule } from './types.ts';

export const DEFAULT_LATENCY_MS = 1_000;
export const DEFAULT_LATE_MS = 30_000;

/** What happens to one request. */
export interface FaultPlan {
  /** Added before handling (sum of the latency rules that fired). */
  delayMs: number;
  /** The first non-latency rule that fired, if any. */
  outcome: { kind: 'error5xx'; status: number } | { kind: 'applyThenDrop' } | { kind: 'applyThenLate'; delayMs: number } | undefined;
}

const NO_FAULT: FaultPlan = { delayMs: 0, outcome: undefined };

export const faultRuleSchema = z
  .object({
    route: z.enum([...ROUTE_NAMES, '*']),
    method: z.string().regex(/^[A-Za-z]+$/).optional(),
    kind: z.enum(FAULT_KINDS as [FaultKind, ...FaultKind[]]),
    probability: z.number().min(0).max(1),
    latencyMs: z.number().int().min(0).max(600_000).optional(),
    status: z.number().int().min(500).max(599).optional(),
  })
  .strict();

/** Checks rules given by code; SIM_BAD_REQUEST naming the first bad rule. */
export function assertFaultRules(rules: readonly FaultRule[]): FaultRule[] {
  return rules.map((rule, i) => {
    const parsed = faultRuleSchema.safeParse(rule);
    if (!parsed.success) {
      throw badRequest(`fault rule ${i}: ${parsed.error.issues.map((x) => `${x.path.join('.') || 'rule'}: ${x.message}`).join('; ')}`);
    }
    return rule;
  });
}

/**
 * Draws the faults of one request. Every rule matching the route and method draws once, in
 * order, whatever the others drew, so the sequence of outcomes depends only on the seed and
 * the order of requests.
 */
export function drawFaults(rules: readonly FaultRule[], rng: Rng, route: string, method: string): FaultPlan {
  if (rules.length === 0) return NO_FAULT;
  let delayMs = 0;
  let outcome: FaultPlan['outcome'];
  for (const rule of rules) {
    if (rule.route !== '*' && rule.route !== route) continue;
    if (rule.method !== undefined && rule.method.toUpperCase() !== method) continue;
    if (rng.next() >= rule.probability) continue;
    switch (rule.kind) {
      case 'latency':
        delayMs += rule.latencyMs ?? DEFAULT_LATENCY_MS;
        break;
      case 'error5xx':
        outcome ??= { kind: 'error5xx', status: rule.status ?? 503 };
        break;
      case 'applyThenDrop':
        outcome ??= { kind: 'applyThenDrop' };
        break;
      case 'applyThenLate':
        outcome ??= { kind: 'applyThenLate', delayMs: rule.latencyMs ?? DEFAULT_LATE_MS };
        break;
    }
  }
  return { delayMs, outcome };
}

/**
 * Reads the CLI form `<route>:<kind>:<probability>[:<ms>]` (`adjustPoints:applyThenDrop:0.1`,
 * `*:latency:0.5:200`; for error5xx the fourth part is the status).
 */
export function parseFaultSpec(spec: string): FaultRule {
  const [route, kind, probability, extra, ...rest] = spec.split(':');
  if (route === undefined || kind === undefined || probability === undefined || rest.length > 0) {
    throw badRequest(`"${spec}": expected <route>:<kind>:<probability>[:<ms or status>]`);
  }
  const p = Number(probability);
  const n = extra === undefined ? undefined : Number(extra);
  if (probability.trim() === '' || !Number.isFinite(p)) throw badRequest(`"${spec}": probability must be a number from 0 to 1`);
  if (extra !== undefined && (extra.trim() === '' || !Number.isInteger(n))) throw badRequest(`"${spec}": "${extra}" must be a whole number`);
  const rule: Record<string, unknown> = { route, kind, probability: p };
  if (n !== undefined) rule[kind === 'error5xx' ? 'status' : 'latencyMs'] = n;
  const parsed = faultRuleSchema.safeParse(rule);
  if (!parsed.success) {
    throw badRequest(`"${spec}": ${parsed.error.issues.map((x) => `${x.path.join('.') || 'rule'}: ${x.message}`).join('; ')}`);
  }
  return toFaultRule(parsed.data);
}

/** Drops undefined optionals (exactOptionalPropertyTypes). */
export function toFaultRule(data: z.output<typeof faultRuleSchema>): FaultRule {
  const rule: FaultRule = { route: data.route, kind: data.kind, probability: data.probability };
  if (data.method !== undefined) rule.method = data.method;
  if (data.latencyMs !== undefined) rule.latencyMs = data.latencyMs;
  if (data.status !== undefined) rule.status = data.status;
  return rule;
}
