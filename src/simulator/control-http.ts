import { z } from 'zod';
import { parseRateLimits, type RateWindow } from '../lib/config.ts';
import { parseBody } from './bodies.ts';
import { badRequest, notFound } from './errors.ts';
import { faultRuleSchema, toFaultRule } from './faults.ts';
import type { NewPersonaFields, SimulatorControl } from './types.ts';

const optionalUid = z.string().regex(/^\d{1,20}$/).optional();
const epochOrNull = z.number().int().nonnegative().nullable().optional();

const seedBody = z.object({ count: z.number().int().min(0).max(1_000_000), uid: optionalUid });
const personaBody = z.looseObject({
  contactID: z.string().regex(/^[0-9a-f]{32}$/, '32 lower-case hex characters').optional(),
  srcID: z.string().max(128).nullable().optional(),
  firstName: z.string().max(100).nullable().optional(),
  lastName: z.string().max(100).nullable().optional(),
  mobilePhone: z.string().nullable().optional(),
  homePhone: z.string().nullable().optional(),
  email: z.string().nullable().optional(),
  loyalty: z.boolean().optional(),
  loyaltyPoints: z.number().int().optional(),
  favoriteStoreID: z.number().int().nullable().optional(),
  optinTime: epochOrNull,
  optoutTime: epochOrNull,
  optreqTime: epochOrNull,
  hasRequested: z.boolean().optional(),
  blocklisted: z.boolean().optional(),
  optedOut: z.boolean().optional(),
});
const faultsBody = z.object({ rules: z.array(faultRuleSchema).max(100) });
const windowSchema = z.object({ limit: z.number().int().min(1), windowMs: z.number().int().min(1) });
const limitsBody = z.object({
  limits: z.union([z.string(), z.array(windowSchema), z.null()]),
  retryAfter: z.boolean().optional(),
});
const optInReplyBody = z.object({ phone: z.string(), reply: z.enum(['YES', 'STOP']), uid: optionalUid });
const mergeBody = z.object({ from: z.string().min(1), into: z.string().min(1), uid: optionalUid });
const blocklistBody = z.object({ contactID: z.string().min(1), uid: optionalUid });

function parseLimits(value: string | RateWindow[] | null): RateWindow[] | null {
  if (value === null || Array.isArray(value)) return value;
  try {
    return parseRateLimits(value);
  } catch (err) {
    throw badRequest(`limits: ${(err as Error).message}`);
  }
}

/** Removes undefined values: the control methods take exact optional properties. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * `/_sim/*`: the control methods over HTTP, for tests and tools in another process. Answers
 * `{success: true, data}`; a SimulatorError becomes its status with AIQ's error envelope.
 */
export function handleControl(
  control: SimulatorControl,
  method: string,
  path: string,
  query: URLSearchParams,
  body: unknown,
): { status: number; data: unknown } {
  const parts = path.split('/').filter((s) => s.length > 0).slice(1);
  const route = `${method} ${parts[0] ?? ''}`;
  const uid = query.get('uid') ?? undefined;
  const one = parts.length === 1;
  switch (route) {
    case 'POST reset':
      if (one) {
        control.reset();
        return { status: 200, data: null };
      }
      break;
    case 'POST seed':
      if (one) {
        const b = parseBody(seedBody, body);
        return { status: 200, data: control.seed(b.count, b.uid ?? uid) };
      }
      break;
    case 'POST personas':
      if (one) {
        const fields = defined(parseBody(personaBody, body ?? {})) as NewPersonaFields;
        return { status: 201, data: control.addPersona(fields, uid) };
      }
      break;
    case 'GET personas':
      if (parts.length === 2) {
        const id = decodeURIComponent(parts[1] ?? '');
        const persona = control.persona(id, uid);
        if (!persona) throw notFound(`contact ${id} not found`);
        return { status: 200, data: persona };
      }
      break;
    case 'GET phones':
      if (parts.length === 2) {
        const persona = control.findByPhone(decodeURIComponent(parts[1] ?? ''), uid);
        if (!persona) throw notFound('no contact has this mobile phone');
        return { status: 200, data: persona };
      }
      break;
    case 'GET ledger':
      if (one) return { status: 200, data: control.ledger(uid) };
      break;
    case 'POST faults':
      if (one) {
        control.setFaults(parseBody(faultsBody, body).rules.map(toFaultRule));
        return { status: 200, data: null };
      }
      break;
    case 'POST limits':
      if (one) {
        const b = parseBody(limitsBody, body);
        control.setLimits(parseLimits(b.limits), b.retryAfter === undefined ? {} : { retryAfter: b.retryAfter });
        return { status: 200, data: null };
      }
      break;
    case 'POST optin-reply':
      if (one) {
        const b = parseBody(optInReplyBody, body);
        control.replyToOptIn(b.phone, b.reply, b.uid ?? uid);
        return { status: 200, data: null };
      }
      break;
    case 'POST merge':
      if (one) {
        const b = parseBody(mergeBody, body);
        control.merge(b.from, b.into, b.uid ?? uid);
        return { status: 200, data: null };
      }
      break;
    case 'POST blocklist':
      if (one) {
        const b = parseBody(blocklistBody, body);
        control.blocklist(b.contactID, b.uid ?? uid);
        return { status: 200, data: null };
      }
      break;
    case 'GET stats':
      if (one) return { status: 200, data: control.stats() };
      break;
  }
  throw notFound(`no control route ${method} ${path}`);
}
