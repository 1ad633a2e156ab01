import type { Persona } from '../lib/aiq/types.ts';
import { normalizePhone } from '../lib/normalize.ts';
import { replyToOptIn } from './consent.ts';
import { addPersona, mergeContacts } from './contacts.ts';
import type { SimulatorCore } from './core.ts';
import { badRequest, notFound } from './errors.ts';
import type { PersonaRecord } from './state.ts';
import type { PersonaView, SimulatorControl } from './types.ts';

/** A deep copy, so a test cannot change the simulator's data through what it was given. */
const copy = <T>(value: T): T => structuredClone(value);

function view(rec: PersonaRecord): PersonaView {
  const out: PersonaView = { ...copy(rec.persona), blocklisted: rec.blocklisted };
  if (rec.mergedInto !== undefined) out.mergedInto = rec.mergedInto;
  return out;
}

function phoneOf(input: string): string {
  const phone = normalizePhone(input);
  if (phone === null) throw badRequest('phone must be a 10-digit US phone number');
  return phone;
}

/** The in-process control surface; the `/_sim/*` routes call the same methods. */
export function createControl(core: SimulatorCore): SimulatorControl {
  return {
    reset: () => core.reset(),
    seed(count, uid) {
      if (!Number.isInteger(count) || count < 0 || count > 1_000_000) throw badRequest('count must be a whole number from 0 to 1,000,000');
      return core.seed(core.account(uid), count).map((r) => copy(r.persona));
    },
    addPersona(fields, uid) {
      return copy(addPersona(core.account(uid), fields, core.clock()).persona);
    },
    persona(contactID, uid) {
      const rec = core.account(uid).record(contactID);
      return rec ? view(rec) : undefined;
    },
    findByPhone(phone, uid): Persona | undefined {
      const rec = core.account(uid).byMobile(phoneOf(phone));
      return rec ? copy(rec.persona) : undefined;
    },
    ledger: (uid) => core.ledger(uid),
    setFaults: (rules) => core.setFaults(rules),
    setLimits(windows, options) {
      if (windows !== null) {
        for (const w of windows) {
          if (!Number.isInteger(w.limit) || w.limit < 1 || !Number.isInteger(w.windowMs) || w.windowMs < 1) {
            throw badRequest('a rate window needs a whole limit >= 1 and windowMs >= 1');
          }
        }
      }
      core.setLimits(windows === null || windows.length === 0 ? null : windows, options?.retryAfter);
    },
    replyToOptIn(phone, reply, uid) {
      if (reply !== 'YES' && reply !== 'STOP') throw badRequest('reply must be YES or STOP');
      replyToOptIn(core.account(uid), phoneOf(phone), reply, core.clock());
    },
    merge(fromContactID, intoContactID, uid) {
      mergeContacts(core.account(uid), fromContactID, intoContactID, core.clock());
    },
    blocklist(contactID, uid) {
      const state = core.account(uid);
      const rec = state.live(contactID);
      if (!rec) throw notFound(`contact ${contactID} not found`);
      rec.blocklisted = true;
      state.version++;
    },
    stats: () => copy(core.stats),
  };
}
