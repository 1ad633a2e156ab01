import type { RouteDef } from './api.ts';
import {
  adjustmentsRoute,
  getAttributesRoute,
  getPersonaRoute,
  listPersonasRoute,
  loyaltyLookupRoute,
  ordersRoute,
  pointsTimelineRoute,
  readOverrideRoute,
  recommendationsRoute,
} from './read-routes.ts';
import {
  adjustPointsRoute,
  createContactRoute,
  optInRoute,
  optInTextRoute,
  writeAttributesRoute,
  writeOverrideRoute,
} from './write-routes.ts';

/** Every route of aiq-api.md, named as the client names them (src/lib/config.ts ROUTE_NAMES). */
export const API_ROUTES: readonly RouteDef[] = [
  { name: 'listPersonas', method: 'GET', path: '/api/v1.1/piis/:uid', handler: listPersonasRoute },
  { name: 'getPersona', method: 'GET', path: '/api/v1.1/piis/:uid/:contactID', handler: getPersonaRoute },
  { name: 'createContact', method: 'POST', path: '/api/v2/loyalty', handler: createContactRoute },
  { name: 'writeOverride', method: 'POST', path: '/api/v2/loyaltyContact/override/:uid/:contactID', handler: writeOverrideRoute },
  { name: 'readOverride', method: 'GET', path: '/api/v2/loyaltyContact/override/:uid/:contactID', handler: readOverrideRoute },
  { name: 'loyaltyLookup', method: 'GET', path: '/api/v2/loyalty/lookup/:pii', handler: loyaltyLookupRoute },
  { name: 'optIn', method: 'PUT', path: '/api/v1.1/optin/:uid/:phone/:loyalty', handler: optInRoute },
  { name: 'optIn', method: 'PUT', path: '/api/v2/optin/text/:phone/:status', handler: optInTextRoute },
  { name: 'adjustPoints', method: 'PUT', path: '/api/v1.1/adjust/loyaltyPoints/:uid/:contactID', handler: adjustPointsRoute },
  { name: 'adjustments', method: 'GET', path: '/api/v1.1/adjustments/:uid/:start/:end', handler: adjustmentsRoute },
  { name: 'customAttributes', method: 'POST', path: '/api/v2/contact/customAttributes/:uid/:contactID', handler: writeAttributesRoute },
  { name: 'customAttributes', method: 'PUT', path: '/api/v2/contact/customAttributes/:uid/:contactID', handler: writeAttributesRoute },
  { name: 'customAttributes', method: 'GET', path: '/api/v2/contact/customAttributes/:uid/:contactID', handler: getAttributesRoute },
  { name: 'orders', method: 'GET', path: '/api/v1.1/contact/orders/:uid/:contactID', handler: ordersRoute },
  { name: 'pointsTimeline', method: 'GET', path: '/api/v1.1/contact/loyaltyPoints/timeline/:uid/:contactID', handler: pointsTimelineRoute },
  { name: 'recommendations', method: 'GET', path: '/api/v2/contact/recommendations/:contactID', handler: recommendationsRoute },
];
