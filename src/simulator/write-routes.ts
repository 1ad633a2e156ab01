import { contactOf, ok, parseFlag, pathParam, type ApiHandler, type ApiRequest, type ApiResult } from './api.ts';
import { adjustPointsBody, customAttributesBody, newContactBody, overrideBody, parseBody } from './bodies.ts';
import { applyOptIn, applyOptOut } from './consent.ts';
import { createContact, replaceAttributes, upsertAttributes, writeOverride } from './contacts.ts';
import { badRequest, notFound } from './errors.ts';
import { adjustPoints } from './points.ts';
import { parsePhone, type PersonaRecord } from './state.ts';
import type { OptInOutcome } from './types.ts';

function requireBody(req: ApiRequest): unknown {
  if (req.body === undefined) throw badRequest('a JSON body is required');
  return req.body;
}

/** 3. `POST /api/v2/loyalty`: the account is the key's. */
export const createContactRoute: ApiHandler = (req) => {
  const body = parseBody(newContactBody, requireBody(req));
  const { rec, created } = createContact(req.account, body, req.now);
  const applied: ApiResult['applied'] = { contactID: rec.persona.contactID, outcome: created ? 'created' : 'existing', body: req.body };
  if (typeof rec.persona.mobilePhone === 'string') applied.phone = rec.persona.mobilePhone;
  return { status: 200, data: { contactID: rec.persona.contactID }, applied };
};

/** 4. `POST /api/v2/loyaltyContact/override/{uid}/{contactID}`: merged key by key. */
export const writeOverrideRoute: ApiHandler = (req) => {
  const rec = contactOf(req);
  const body = requireBody(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body must be a JSON object');
  const fields = parseBody(overrideBody, body);
  const override = writeOverride(req.account, rec, fields);
  return { status: 200, data: override, applied: { contactID: rec.persona.contactID, body: req.body } };
};

function optInResult(rec: PersonaRecord, phone: string, outcome: OptInOutcome): ApiResult {
  return { status: 200, data: { contactID: rec.persona.contactID }, applied: { contactID: rec.persona.contactID, phone, outcome } };
}

function contactByPhone(req: ApiRequest): { rec: PersonaRecord; phone: string } {
  const phone = parsePhone(pathParam(req, 'phone'), 'phone');
  const rec = req.account.byMobile(phone);
  // The opt-in endpoint never creates a contact.
  if (!rec) throw notFound('no contact has this phone number');
  return { rec, phone };
}

/**
 * 7. `PUT /api/v1.1/optin/{uid}/{phone}/{loyalty}?doubleOpt=true`. An explicitly opted-out
 * number answers 200 and stays opted out (the outcome is in the ledger; clients read the
 * persona's optoutTime).
 */
export const optInRoute: ApiHandler = (req) => {
  const loyalty = parseFlag(pathParam(req, 'loyalty'), 'loyalty', true);
  const doubleOpt = parseFlag(req.query.get('doubleOpt'), 'doubleOpt', false);
  const { rec, phone } = contactByPhone(req);
  return optInResult(rec, phone, applyOptIn(req.account, rec, { doubleOpt, loyalty }, req.now));
};

const OPT_IN_STATUS = new Set(['true', '1', 'yes', 'optin', 'in', 'subscribe']);
const OPT_OUT_STATUS = new Set(['false', '0', 'no', 'optout', 'out', 'unsubscribe']);

/** 7, alternative form: `PUT /api/v2/optin/text/{phone}/{status}`; a false status opts out for good. */
export const optInTextRoute: ApiHandler = (req) => {
  const status = pathParam(req, 'status').toLowerCase();
  if (!OPT_IN_STATUS.has(status) && !OPT_OUT_STATUS.has(status)) throw badRequest('status must be true or false');
  const doubleOpt = parseFlag(req.query.get('doubleOpt'), 'doubleOpt', false);
  const { rec, phone } = contactByPhone(req);
  const outcome = OPT_IN_STATUS.has(status)
    ? applyOptIn(req.account, rec, { doubleOpt, loyalty: true }, req.now)
    : applyOptOut(req.account, rec, req.now);
  return optInResult(rec, phone, outcome);
};

/** 8. `PUT /api/v1.1/adjust/loyaltyPoints/{uid}/{contactID}` body `{value, note}`: additive. */
export const adjustPointsRoute: ApiHandler = (req) => {
  const rec = contactOf(req);
  const body = parseBody(adjustPointsBody, requireBody(req));
  const note = body.note ?? '';
  adjustPoints(req.account, rec, body.value, note, req.now);
  const applied: ApiResult['applied'] = { contactID: rec.persona.contactID, value: body.value, note, body: req.body };
  if (typeof rec.persona.mobilePhone === 'string') applied.phone = rec.persona.mobilePhone;
  return { status: 200, data: { contactID: rec.persona.contactID, loyaltyPoints: rec.persona.loyaltyPoints }, applied };
};

/** 11. POST upserts by key, PUT replaces the set; answers the resulting array. */
export const writeAttributesRoute: ApiHandler = (req) => {
  const rec = contactOf(req);
  const items = parseBody(customAttributesBody, requireBody(req));
  const result = req.method === 'PUT' ? replaceAttributes(rec, items, req.now) : upsertAttributes(rec, items, req.now);
  req.account.version++;
  return { ...ok(result), applied: { contactID: rec.persona.contactID, body: req.body } };
};
