import { Pool, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { ConfigError, PayloadInvalidError, type ConfigIssue } from '../errors.ts';
import { createExecutor, type CallSpec } from './execute.ts';
import {
  assertContactId,
  assertCustomAttributes,
  assertInteger,
  assertListQuery,
  assertPhone,
  assertPhoneOrEmail,
  assertRange,
} from './input.ts';
import { OPERATIONS, type OperationPolicy } from './retry-policy.ts';
import { createRouteTable } from './routes.ts';
import {
  adjustmentsDataSchema,
  createdContactSchema,
  customAttributesDataSchema,
  ignoredDataSchema,
  loyaltyStatusSchema,
  ordersDataSchema,
  overrideDataSchema,
  personaPageDataSchema,
  personaSchema,
  recommendationsDataSchema,
  timelineDataSchema,
} from './schemas.ts';
import { createTransport } from './transport.ts';
import type { AiqClient, CallOptions, CreateAiqClientOptions, Persona, PersonaPage } from './types.ts';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_GET_RETRIES = 3;
export const DEFAULT_MAX_RETRY_AFTER_MS = 30_000;
/** Page size of iteratePersonas and findBySourceId (AIQ documents 100–2000). */
export const DEFAULT_ITERATE_LIMIT = 1_000;

/** AiqClient plus the lifecycle of what it created. */
export interface OwnedAiqClient extends AiqClient {
  /** Closes the Pool when the client created it (a given dispatcher is the caller's). Idempotent. */
  close(): Promise<void>;
}

function checkOptions(options: CreateAiqClientOptions): { origin: string; basePath: string } {
  const issues: ConfigIssue[] = [];
  let origin = '';
  let basePath = '';
  try {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    if (url.search !== '' || url.hash !== '') throw new Error('has a query or fragment');
    origin = url.origin;
    basePath = url.pathname.replace(/\/+$/, '');
  } catch (err) {
    issues.push({ path: 'baseUrl', message: `expected an http(s) URL (${(err as Error).message})` });
  }
  if (typeof options.apiKey !== 'string' || options.apiKey === '') issues.push({ path: 'apiKey', message: 'required' });
  if (typeof options.uid !== 'string' || options.uid === '') issues.push({ path: 'uid', message: 'required' });
  const positive: [string, number | undefined][] = [
    ['timeoutMs', options.timeoutMs],
    ['connectTimeoutMs', options.connectTimeoutMs],
    ['getRetries', options.getRetries],
  ];
  for (const [path, value] of positive) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 1)) issues.push({ path, message: 'expected an integer >= 1' });
  }
  const maxRetryAfter = options.maxRetryAfterMs;
  if (maxRetryAfter !== undefined && !(Number.isSafeInteger(maxRetryAfter) && maxRetryAfter >= 0)) {
    issues.push({ path: 'maxRetryAfterMs', message: 'expected an integer >= 0' });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { origin, basePath };
}

/**
 * The AIQ Personas API client. Builds its own undici Pool (with explicit connect, headers and
 * body timeouts) unless a dispatcher is given. Idempotent calls get up to `getRetries` quick
 * tries; non-idempotent ones exactly one (see retry-policy.ts).
 */
export function createAiqClient(options: CreateAiqClientOptions): OwnedAiqClient {
  const { origin, basePath } = checkOptions(options);
  const routes = createRouteTable(options.uid, options.routes);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;

  const ownPool: Pool | undefined =
    options.dispatcher === undefined
      ? new Pool(origin, { connectTimeout: connectTimeoutMs, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
      : undefined;
  const dispatcher: Dispatcher = options.dispatcher ?? (ownPool as Pool);
  const logger = options.logger.child({ component: 'aiq-client' });

  const transport = createTransport({
    dispatcher,
    origin,
    basePath,
    apiKey: options.apiKey,
    timeoutMs,
    logger,
    beforeRequest: options.beforeRequest,
    onResponse: options.onResponse,
  });
  const executor = createExecutor({
    transport,
    logger,
    maxAttempts: options.getRetries ?? DEFAULT_GET_RETRIES,
    maxRetryAfterMs: options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS,
  });

  function call<T>(
    operation: OperationPolicy,
    path: string,
    schema: z.ZodType<T>,
    callOptions: CallOptions | undefined,
    extra: { body?: unknown; expectsBody?: boolean } = {},
  ): Promise<T> {
    const spec: CallSpec<T> = {
      operation,
      path,
      schema,
      expectsBody: extra.expectsBody ?? true,
      signal: callOptions?.signal,
      ...(extra.body === undefined ? {} : { body: extra.body }),
    };
    return executor.run(spec);
  }

  const write = { expectsBody: false } as const;

  async function listPersonas(query: Parameters<AiqClient['listPersonas']>[0] = {}, callOptions?: CallOptions): Promise<PersonaPage> {
    assertListQuery(query);
    const path = routes.path(
      'listPersonas',
      {},
      { start: query.start, limit: query.limit, sort: query.sort, dir: query.dir, search: query.search },
    );
    const data = await call(OPERATIONS.listPersonas, path, personaPageDataSchema, callOptions);
    const results = data?.results ?? null;
    const size = data?.size ?? results?.length ?? 0;
    return {
      results,
      start: data?.start ?? query.start ?? 0,
      limit: data?.limit ?? query.limit ?? size,
      size,
      total: data?.total ?? size,
    };
  }

  async function* iteratePersonas(
    query: Parameters<AiqClient['iteratePersonas']>[0] = {},
    callOptions?: CallOptions,
  ): AsyncGenerator<Persona> {
    const limit = query.limit ?? DEFAULT_ITERATE_LIMIT;
    assertInteger(limit, 'limit', { min: 1 });
    // AIQ's paging rule: start += limit until results is null or shorter than limit.
    for (let start = 0; ; start += limit) {
      const page = await listPersonas({ ...query, start, limit }, callOptions);
      if (page.results === null) return;
      yield* page.results;
      if (page.results.length < limit) return;
    }
  }

  let closing: Promise<void> | undefined;

  return {
    uid: options.uid,
    listPersonas,
    iteratePersonas,

    async getPersona(contactId, callOptions) {
      const path = routes.path('getPersona', { contactID: assertContactId(contactId) });
      return call(OPERATIONS.getPersona, path, personaSchema.nullable(), callOptions);
    },

    async createContact(contact, callOptions) {
      if (contact === null || typeof contact !== 'object') {
        throw new PayloadInvalidError([{ path: '(root)', message: 'expected a contact object' }]);
      }
      const path = routes.path('createContact', {});
      const data = await call(OPERATIONS.createContact, path, createdContactSchema, callOptions, { body: contact });
      return { contactID: data.contactID };
    },

    async writeOverride(contactId, fields, callOptions) {
      const path = routes.path('writeOverride', { contactID: assertContactId(contactId) });
      await call(OPERATIONS.writeOverride, path, ignoredDataSchema, callOptions, { ...write, body: fields });
    },

    async readOverride(contactId, callOptions) {
      const path = routes.path('readOverride', { contactID: assertContactId(contactId) });
      return call(OPERATIONS.readOverride, path, overrideDataSchema, callOptions);
    },

    async loyaltyLookup(phoneOrEmail, callOptions) {
      const path = routes.path('loyaltyLookup', { pii: assertPhoneOrEmail(phoneOrEmail) });
      return call(OPERATIONS.loyaltyLookup, path, loyaltyStatusSchema, callOptions);
    },

    async optIn(phone, params, callOptions) {
      const doubleOpt = params.doubleOpt === true;
      const loyalty = params.loyalty ?? true;
      const path = routes.path(
        'optIn',
        { phone: assertPhone(phone), loyalty: String(loyalty) },
        { doubleOpt: doubleOpt ? 'true' : undefined },
      );
      const operation = doubleOpt ? OPERATIONS.optInDouble : OPERATIONS.optIn;
      await call(operation, path, ignoredDataSchema, callOptions, write);
    },

    async adjustPoints(contactId, value, note, callOptions) {
      assertInteger(value, 'value');
      if (typeof note !== 'string') throw new PayloadInvalidError([{ path: 'note', message: 'must be a string' }]);
      const path = routes.path('adjustPoints', { contactID: assertContactId(contactId) });
      await call(OPERATIONS.adjustPoints, path, ignoredDataSchema, callOptions, { ...write, body: { value, note } });
    },

    async listAdjustments(startS, endS, callOptions) {
      assertRange(startS, endS);
      const path = routes.path('adjustments', { start: String(startS), end: String(endS) });
      return call(OPERATIONS.listAdjustments, path, adjustmentsDataSchema, callOptions);
    },

    async findBySourceId(srcId, callOptions) {
      if (typeof srcId !== 'string' || srcId.trim() === '') {
        throw new PayloadInvalidError([{ path: 'srcID', message: 'must be a non-empty string' }]);
      }
      // `search` matches names, emails, phones and IDs loosely: keep exact srcID matches only.
      const found: Persona[] = [];
      for await (const persona of iteratePersonas({ search: srcId }, callOptions)) {
        if (persona.srcID === srcId) found.push(persona);
      }
      return found;
    },

    async upsertCustomAttributes(contactId, items, callOptions) {
      const path = routes.path('customAttributes', { contactID: assertContactId(contactId) });
      const body = assertCustomAttributes(items);
      await call(OPERATIONS.upsertCustomAttributes, path, ignoredDataSchema, callOptions, { ...write, body });
    },

    async replaceCustomAttributes(contactId, items, callOptions) {
      const path = routes.path('customAttributes', { contactID: assertContactId(contactId) });
      const body = assertCustomAttributes(items);
      await call(OPERATIONS.replaceCustomAttributes, path, ignoredDataSchema, callOptions, { ...write, body });
    },

    async getCustomAttributes(contactId, callOptions) {
      const path = routes.path('customAttributes', { contactID: assertContactId(contactId) });
      return call(OPERATIONS.getCustomAttributes, path, customAttributesDataSchema, callOptions);
    },

    async getOrders(contactId, callOptions) {
      const path = routes.path('orders', { contactID: assertContactId(contactId) });
      return call(OPERATIONS.getOrders, path, ordersDataSchema, callOptions);
    },

    async getPointsTimeline(contactId, range = {}, callOptions) {
      const contactID = assertContactId(contactId);
      if (range.startS !== undefined) assertInteger(range.startS, 'startS', { min: 0 });
      if (range.endS !== undefined) assertInteger(range.endS, 'endS', { min: 0 });
      const path = routes.path('pointsTimeline', { contactID }, { start: range.startS, end: range.endS });
      return call(OPERATIONS.getPointsTimeline, path, timelineDataSchema(contactID), callOptions);
    },

    async getRecommendations(contactId, callOptions) {
      const path = routes.path('recommendations', { contactID: assertContactId(contactId) });
      return call(OPERATIONS.getRecommendations, path, recommendationsDataSchema, callOptions);
    },

    close() {
      closing ??= ownPool ? ownPool.close() : Promise.resolve();
      return closing;
    },
  };
}
