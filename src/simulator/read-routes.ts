import { normalizeEmail, normalizePhone } from '../lib/normalize.ts';
import {
  contactOf,
  intQuery,
  ok,
  optionalEpochQuery,
  parseEpochSeconds,
  pathParam,
  type ApiHandler,
} from './api.ts';
import { loyaltyStatus } from './consent.ts';
import { badRequest } from './errors.ts';
import { adjustmentsBetween, timelineBetween } from './points.ts';
import { listPersonas, SORT_KEYS, type SortKey } from './search.ts';
import { recommendationsFor } from './seed.ts';

/** `limit` outside 1..2000 is a 400 (AIQ documents 100..2000 but accepts smaller values). */
export const MAX_PAGE = 2000;

const SORT_BY_LOWER = new Map<string, SortKey>(SORT_KEYS.map((k) => [k.toLowerCase(), k]));

/** 1. `GET /api/v1.1/piis/{uid}?start&limit&sort&dir&search` */
export const listPersonasRoute: ApiHandler = (req) => {
  const start = intQuery(req.query, 'start', 0, 0, Number.MAX_SAFE_INTEGER);
  const limit = intQuery(req.query, 'limit', 100, 1, MAX_PAGE);
  const sortRaw = req.query.get('sort');
  const sort = sortRaw === null || sortRaw === '' ? 'name' : SORT_BY_LOWER.get(sortRaw.toLowerCase());
  if (sort === undefined) throw badRequest(`sort must be one of ${SORT_KEYS.join(', ')}`);
  const dirRaw = (req.query.get('dir') ?? 'asc').toLowerCase() || 'asc';
  if (dirRaw !== 'asc' && dirRaw !== 'desc') throw badRequest('dir must be asc or desc');
  const searchRaw = req.query.get('search')?.trim();
  const search = searchRaw === undefined || searchRaw === '' ? undefined : searchRaw;
  return ok(listPersonas(req.account, { start, limit, sort, dir: dirRaw, search }));
};

/** 2. `GET /api/v1.1/piis/{uid}/{contactID}` */
export const getPersonaRoute: ApiHandler = (req) => ok(contactOf(req).persona);

/** 5. `GET /api/v2/loyaltyContact/override/{uid}/{contactID}`: null when none. */
export const readOverrideRoute: ApiHandler = (req) => ok(contactOf(req).override);

/** 6. `GET /api/v2/loyalty/lookup/{pii}`: a phone or an email; null when nobody visible has it. */
export const loyaltyLookupRoute: ApiHandler = (req) => {
  const pii = pathParam(req, 'pii').trim();
  let rec;
  if (pii.includes('@')) {
    const email = normalizeEmail(pii);
    if (email === null) throw badRequest('pii must be a phone number or an email address');
    rec = req.account.byMail(email);
  } else {
    const phone = normalizePhone(pii);
    if (phone === null) throw badRequest('pii must be a phone number or an email address');
    rec = req.account.byMobile(phone);
  }
  return ok(rec && req.account.isVisible(rec) ? loyaltyStatus(rec) : null);
};

/** 9. `GET /api/v1.1/adjustments/{uid}/{start}/{end}`: inclusive, account-wide, null when none. */
export const adjustmentsRoute: ApiHandler = (req) => {
  const start = parseEpochSeconds(pathParam(req, 'start'), 'start');
  const end = parseEpochSeconds(pathParam(req, 'end'), 'end');
  if (end < start) throw badRequest('end must not be before start');
  return ok(adjustmentsBetween(req.account, start, end));
};

/** 11. `GET /api/v2/contact/customAttributes/{uid}/{contactID}` */
export const getAttributesRoute: ApiHandler = (req) => ok(contactOf(req).attributes);

/** 12. `GET /api/v1.1/contact/orders/{uid}/{contactID}`: flat line items, `[]` when none. */
export const ordersRoute: ApiHandler = (req) => ok(contactOf(req).orders);

/** 13. `GET /api/v1.1/contact/loyaltyPoints/timeline/{uid}/{contactID}?start&end` */
export const pointsTimelineRoute: ApiHandler = (req) => {
  const rec = contactOf(req);
  const start = optionalEpochQuery(req.query, 'start');
  const end = optionalEpochQuery(req.query, 'end');
  if (start !== undefined && end !== undefined && end < start) throw badRequest('end must not be before start');
  return ok({ contactID: rec.persona.contactID, events: timelineBetween(rec, start, end) });
};

/** 14. `GET /api/v2/contact/recommendations/{contactID}`: best first. */
export const recommendationsRoute: ApiHandler = (req) => ok(recommendationsFor(contactOf(req)));
