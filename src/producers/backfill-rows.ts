import { PayloadInvalidError, type PayloadIssue } from '../lib/errors.ts';
import { attributesMapSchema, attributeUpdateSchema, parseWith, type AttributeUpdate } from './schemas.ts';

/**
 * How one row of an export becomes an attribute update.
 *
 * - The identifier columns (`contactID`, `srcID`, `phone`, `email`, or the columns `--map` names
 *   for them) make the customer; a cell is trimmed and an empty one means "not given".
 * - The version column (`--version-column`), when set, gives the row's version: a plain number
 *   is a number, anything else must be an ISO-8601 date-time. An empty cell (or no version
 *   column) takes the file's default version (its modification time).
 * - Every other column is an attribute. An empty cell means "no value": the attribute is left
 *   out of the update, so an export with blanks never clears what AIQ holds. In NDJSON, a JSON
 *   `null` is an explicit clear and is kept; an empty string is left out like a CSV blank.
 */

export const IDENTIFIERS = ['contactID', 'srcID', 'phone', 'email'] as const;
export type IdentifierName = (typeof IDENTIFIERS)[number];
export type ColumnMap = Partial<Record<IdentifierName, string>>;

export interface RowSettings {
  /** Identifier → column name; an identifier not named reads the column of its own name. */
  columnMap: ColumnMap;
  versionColumn: string | undefined;
  /** Used when a row has no version of its own (ISO-8601 date-time or number). */
  defaultVersion: string | number | undefined;
  account: string | undefined;
}

export type RowResult =
  | { ok: true; line: number; update: AttributeUpdate }
  | { ok: false; line: number; error: string; issues: PayloadIssue[] };

const isIdentifier = (s: string): s is IdentifierName => (IDENTIFIERS as readonly string[]).includes(s);

/** Parses `phone=Mobile,email=EmailAddress`. Throws an Error saying what is wrong. */
export function parseColumnMap(spec: string): ColumnMap {
  const out: ColumnMap = {};
  const used = new Set<string>();
  for (const part of spec.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const eq = part.indexOf('=');
    const id = part.slice(0, eq).trim();
    const column = part.slice(eq + 1).trim();
    if (eq < 0 || column.length === 0) throw new Error(`"${part}" is not identifier=column`);
    if (!isIdentifier(id)) throw new Error(`"${id}" is not an identifier (${IDENTIFIERS.join(', ')})`);
    if (out[id] !== undefined) throw new Error(`${id} is mapped twice`);
    if (used.has(column)) throw new Error(`column "${column}" is mapped twice`);
    out[id] = column;
    used.add(column);
  }
  return out;
}

type Role = { kind: 'identifier'; name: IdentifierName } | { kind: 'version' } | { kind: 'attribute' } | { kind: 'conflict'; message: string };

/** The role of every column name, from the settings. */
export function createColumnRoles(settings: Pick<RowSettings, 'columnMap' | 'versionColumn'>): (column: string) => Role {
  const roles = new Map<string, Role>();
  for (const id of IDENTIFIERS) {
    const column = settings.columnMap[id];
    // A column named like an identifier that --map moved elsewhere would be read as an attribute
    // holding personal data: refused instead.
    if (column !== undefined && column !== id) roles.set(id, { kind: 'conflict', message: `is mapped to column "${column}"; rename or drop this column` });
  }
  for (const id of IDENTIFIERS) roles.set(settings.columnMap[id] ?? id, { kind: 'identifier', name: id });
  if (settings.versionColumn !== undefined) {
    if (roles.get(settings.versionColumn)?.kind === 'identifier') throw new Error(`the version column "${settings.versionColumn}" is also an identifier column`);
    roles.set(settings.versionColumn, { kind: 'version' });
  }
  return (column) => roles.get(column) ?? { kind: 'attribute' };
}

/**
 * Checks a CSV header once, so a bad column name fails the run at once instead of rejecting
 * every row. Throws PayloadInvalidError naming each problem.
 */
export function assertUsableHeader(header: readonly string[], settings: Pick<RowSettings, 'columnMap' | 'versionColumn'>): void {
  const roleOf = createColumnRoles(settings);
  const issues: PayloadIssue[] = [];
  const seen = new Set<string>();
  let identifiers = 0;
  let attributes = 0;
  header.forEach((name, i) => {
    if (name.trim().length === 0) issues.push({ path: `column ${i + 1}`, message: 'has no name' });
    else if (seen.has(name)) issues.push({ path: name, message: 'appears twice in the header' });
    seen.add(name);
    const role = roleOf(name);
    if (role.kind === 'conflict') issues.push({ path: name, message: role.message });
    if (role.kind === 'identifier') identifiers += 1;
    if (role.kind === 'attribute' && name.trim().length > 0) {
      attributes += 1;
      const check = parseWith(attributesMapSchema, { [name]: null });
      if (!check.ok) issues.push(...check.issues.map((issue) => ({ path: name, message: `not usable as an attribute name: ${issue.message}` })));
    }
  });
  for (const id of IDENTIFIERS) {
    const column = settings.columnMap[id];
    if (column !== undefined && !seen.has(column)) issues.push({ path: column, message: `not in the header (--map ${id}=${column})` });
  }
  if (settings.versionColumn !== undefined && !seen.has(settings.versionColumn)) {
    issues.push({ path: settings.versionColumn, message: 'not in the header (--version-column)' });
  }
  if (identifiers === 0) issues.push({ path: 'header', message: `no identifier column (${IDENTIFIERS.map((id) => settings.columnMap[id] ?? id).join(', ')})` });
  if (attributes > 200) issues.push({ path: 'header', message: `${attributes} attribute columns; at most 200` });
  if (issues.length > 0) throw new PayloadInvalidError(issues);
}

function versionOf(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  const text = raw.trim();
  return /^\d+(\.\d+)?$/.test(text) ? Number(text) : text;
}

const isEmpty = (v: unknown) => v === undefined || (typeof v === 'string' && v.trim().length === 0);

interface RowParts {
  customer: Record<string, unknown>;
  attributes: Record<string, unknown>;
  version: unknown;
  conflicts: PayloadIssue[];
}

/** Puts one cell where its column's role says. */
function place(parts: RowParts, role: Role, column: string, value: unknown): void {
  switch (role.kind) {
    case 'identifier': {
      const text = typeof value === 'number' ? String(value) : value;
      if (!isEmpty(text)) parts.customer[role.name] = typeof text === 'string' ? text.trim() : text;
      return;
    }
    case 'version':
      if (!isEmpty(value)) parts.version = versionOf(value);
      return;
    case 'conflict':
      parts.conflicts.push({ path: column, message: role.message });
      return;
    case 'attribute':
      if (value !== '') parts.attributes[column] = value;
      return;
  }
}

function createFinisher(settings: RowSettings): (parts: RowParts, line: number) => RowResult {
  const columnOf = (id: string) => settings.columnMap[id as IdentifierName] ?? id;
  return (parts, line) => {
    const candidate: Record<string, unknown> = { customer: parts.customer, attributes: parts.attributes };
    const v = parts.version ?? settings.defaultVersion;
    if (v !== undefined) candidate.version = v;
    if (settings.account !== undefined) candidate.account = settings.account;
    const parsed = parseWith(attributeUpdateSchema, candidate);
    if (parsed.ok && parts.conflicts.length === 0) return { ok: true, line, update: parsed.value };
    const issues = [...parts.conflicts, ...(parsed.ok ? [] : parsed.issues.map((i) => ({ path: toColumnPath(i.path, columnOf, settings.versionColumn), message: i.message })))];
    return { ok: false, line, error: 'invalid row', issues };
  };
}

const emptyParts = (): RowParts => ({ customer: {}, attributes: {}, version: undefined, conflicts: [] });

/**
 * Builds and validates one update from a record of column → value (NDJSON: values keep their
 * JSON types). Issue paths name the file's columns.
 */
export function createRowMapper(settings: RowSettings): (record: Readonly<Record<string, unknown>>, line: number) => RowResult {
  const roleOf = createColumnRoles(settings);
  const finish = createFinisher(settings);
  return (record, line) => {
    const parts = emptyParts();
    for (const [column, value] of Object.entries(record)) place(parts, roleOf(column), column, value);
    return finish(parts, line);
  };
}

/** The same for CSV cells, with each column's role worked out once from the (checked) header. */
export function createCsvRowMapper(header: readonly string[], settings: RowSettings): (values: readonly string[], line: number) => RowResult {
  const roleOf = createColumnRoles(settings);
  const roles = header.map(roleOf);
  const finish = createFinisher(settings);
  return (values, line) => {
    if (values.length !== header.length) {
      return { ok: false, line, error: 'invalid row', issues: [{ path: '', message: `expected ${header.length} fields as in the header, found ${values.length}` }] };
    }
    const parts = emptyParts();
    for (let i = 0; i < header.length; i += 1) place(parts, roles[i]!, header[i]!, values[i]);
    return finish(parts, line);
  };
}

/** `customer.phone` → the phone column, `attributes.tier` → `tier`, `customer` → `` (the row). */
function toColumnPath(path: string, columnOf: (id: string) => string, versionColumn: string | undefined): string {
  if (path === 'customer') return '';
  if (path.startsWith('customer.')) return columnOf(path.slice('customer.'.length));
  if (path.startsWith('attributes.')) return path.slice('attributes.'.length);
  if (path === 'version') return versionColumn ?? 'version';
  return path;
}

/**
 * One NDJSON line: a flat record (columns, as in a CSV) or the HTTP route's own shape
 * `{customer, attributes, overrides?, version?, account?}`, recognised by its `customer` object.
 */
export function createNdjsonMapper(settings: RowSettings): (text: string, line: number) => RowResult {
  const flat = createRowMapper(settings);
  return (text, line) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return { ok: false, line, error: 'invalid JSON', issues: [{ path: '', message: (err as Error).message }] };
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return { ok: false, line, error: 'invalid row', issues: [{ path: '', message: 'expected a JSON object' }] };
    }
    const record = value as Record<string, unknown>;
    if (record.customer === null || typeof record.customer !== 'object') return flat(record, line);
    const candidate: Record<string, unknown> = { ...record };
    if (candidate.version === undefined && settings.defaultVersion !== undefined) candidate.version = settings.defaultVersion;
    if (candidate.account === undefined && settings.account !== undefined) candidate.account = settings.account;
    const parsed = parseWith(attributeUpdateSchema, candidate);
    return parsed.ok ? { ok: true, line, update: parsed.value } : { ok: false, line, error: 'invalid row', issues: parsed.issues };
  };
}
