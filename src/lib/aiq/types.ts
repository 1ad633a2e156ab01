import type { Dispatcher } from 'undici';
import type { Logger } from '../logger.ts';
import type { RouteName } from '../config.ts';

declare const contactIdBrand: unique symbol;
/** AIQ's contact ID (32 lower-case hex characters in practice). */
export type ContactId = string & { readonly [contactIdBrand]: 'ContactId' };
export const asContactId = (value: string): ContactId => value as ContactId;

/** A persona as AIQ returns it. Parsed leniently: unknown fields pass through. */
export interface Persona {
  contactID: ContactId;
  srcID?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  mobilePhone?: string | null;
  homePhone?: string | null;
  email?: string | null;
  platform?: string | null;
  favoriteStoreID?: number | null;
  inserted?: number | null;
  optinTime?: number | null;
  optoutTime?: number | null;
  optreqTime?: number | null;
  hasRequested?: boolean | null;
  loyalty?: boolean | null;
  loyaltyPoints?: number | null;
  loyaltySignupTS?: number | null;
  emailOptInTime?: number | null;
  spent?: number | null;
  [field: string]: unknown;
}

export interface PersonaPage {
  results: Persona[] | null;
  start: number;
  limit: number;
  size: number;
  total: number;
}

export interface ListPersonasQuery {
  start?: number;
  limit?: number;
  sort?: 'name' | 'email' | 'mobilePhone' | 'homePhone' | 'source' | 'id' | 'inserted' | 'signup' | 'points' | 'usedpoints';
  dir?: 'asc' | 'desc';
  search?: string;
}

export interface NewContact {
  mobilePhone?: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  favoriteStore?: string;
  favoriteStoreID?: number;
  address?: string;
  loyalty?: boolean;
  smsoptin?: boolean;
  emailOptIn?: boolean;
  customAttributes?: CustomAttribute[];
}

export interface CustomAttribute {
  key: string;
  value: string;
  parent?: string;
  ts?: number;
}

export interface LoyaltyStatus {
  contactID: ContactId;
  loyalty: boolean;
  smsOptIn: boolean;
  emailOptIn: boolean;
  loyaltyPoints: number;
  [field: string]: unknown;
}

export interface Adjustment {
  /** Contact ID. */
  cntID: string;
  value: number;
  note: string;
  /** Epoch seconds. */
  ts: number;
  phone?: string | null;
  email?: string | null;
  name?: string | null;
  [field: string]: unknown;
}

export interface OrderItem {
  name: string;
  brand?: string | null;
  quantity: number;
  totalPrice: number;
  timestamp: number;
  storeName?: string | null;
  [field: string]: unknown;
}

export interface TimelineEvent {
  ts: number;
  type: string;
  value: number;
  balance: number;
  note?: string | null;
  [field: string]: unknown;
}

export interface PointsTimeline {
  contactID: string;
  events: TimelineEvent[];
}

export interface PredictedProduct {
  productID: string;
  name: string;
  brand?: string | null;
  category?: string | null;
  score: number;
  [field: string]: unknown;
}

/** Every call takes these. */
export interface CallOptions {
  /** Aborts the request and any retry wait. */
  signal?: AbortSignal;
}

/**
 * The AIQ Personas API, one method per endpoint group of aiq-api.md. Errors are the typed
 * classes of src/lib/errors.ts: a non-idempotent call (adjustPoints, createContact, optIn with
 * doubleOpt) is never repeated by the client, and its error says whether the request may have
 * reached AIQ (AiqOutcomeUnknownError, AiqServerError) or certainly did not (AiqNotSentError,
 * AiqRateLimitedError, AiqRejectedError, AiqAuthError).
 */
export interface AiqClient {
  readonly uid: string;
  /** 1. One page of personas. */
  listPersonas(query?: ListPersonasQuery, options?: CallOptions): Promise<PersonaPage>;
  /** 1. Every persona matching the query, page by page (`limit` per page, default 1000). */
  iteratePersonas(query?: Omit<ListPersonasQuery, 'start'>, options?: CallOptions): AsyncIterable<Persona>;
  /** 2. Null when AIQ has no such contact (404 or data null). */
  getPersona(contactId: ContactId, options?: CallOptions): Promise<Persona | null>;
  /** 3. Not idempotent. */
  createContact(contact: NewContact, options?: CallOptions): Promise<{ contactID: ContactId }>;
  /** 4. */
  writeOverride(contactId: ContactId, fields: Record<string, unknown>, options?: CallOptions): Promise<void>;
  /** 5. Null when there is none. */
  readOverride(contactId: ContactId, options?: CallOptions): Promise<Record<string, unknown> | null>;
  /** 6. By 10-digit phone or email; null when unknown. */
  loyaltyLookup(phoneOrEmail: string, options?: CallOptions): Promise<LoyaltyStatus | null>;
  /** 7. Not idempotent when `doubleOpt` is true. `loyalty` defaults to true. */
  optIn(phone: string, params: { doubleOpt?: boolean; loyalty?: boolean }, options?: CallOptions): Promise<void>;
  /** 8. Not idempotent: adds a signed delta. */
  adjustPoints(contactId: ContactId, value: number, note: string, options?: CallOptions): Promise<void>;
  /** 9. Every adjustment in [startS, endS] (epoch seconds), account-wide. */
  listAdjustments(startS: number, endS: number, options?: CallOptions): Promise<Adjustment[]>;
  /** 10. Personas whose srcID equals the given one exactly. */
  findBySourceId(srcId: string, options?: CallOptions): Promise<Persona[]>;
  /** 11. POST: upsert by key. */
  upsertCustomAttributes(contactId: ContactId, items: CustomAttribute[], options?: CallOptions): Promise<void>;
  /** 11. PUT: replace the whole set. */
  replaceCustomAttributes(contactId: ContactId, items: CustomAttribute[], options?: CallOptions): Promise<void>;
  /** 11. GET. */
  getCustomAttributes(contactId: ContactId, options?: CallOptions): Promise<CustomAttribute[]>;
  /** 12. */
  getOrders(contactId: ContactId, options?: CallOptions): Promise<OrderItem[]>;
  /** 13. */
  getPointsTimeline(contactId: ContactId, range?: { startS?: number; endS?: number }, options?: CallOptions): Promise<PointsTimeline>;
  /** 14. */
  getRecommendations(contactId: ContactId, options?: CallOptions): Promise<PredictedProduct[]>;
}

/** Observes every HTTP exchange (metrics, budget accounting). */
export interface RequestObserver {
  (event: { route: RouteName; method: string; status: number | 'network_error'; durationMs: number; retryAfterMs?: number | undefined }): void;
}

export interface CreateAiqClientOptions {
  baseUrl: string;
  apiKey: string;
  uid: string;
  /** An undici Dispatcher (Pool/Agent) owned by the caller; one is created per client when omitted. */
  dispatcher?: Dispatcher;
  logger: Logger;
  /** Route template overrides by name (config AIQ_ROUTES). */
  routes?: Partial<Record<RouteName, string>>;
  /** Headers and body timeout per request; default 10 000 ms. */
  timeoutMs?: number;
  /** TCP connect timeout; default 5 000 ms. */
  connectTimeoutMs?: number;
  /** Tries of an idempotent GET (first included); default 3. */
  getRetries?: number;
  /** Longest `Retry-After` a GET retry will wait; longer ones fail with AiqRateLimitedError; default 30 000 ms. */
  maxRetryAfterMs?: number;
  /**
   * Called before every HTTP request with the route name; resolves when the account's budget
   * grants it. The pipeline plugs the shared rate budget in here. Default: no wait.
   */
  beforeRequest?: (route: RouteName, signal: AbortSignal | undefined) => Promise<void>;
  onResponse?: RequestObserver;
}
