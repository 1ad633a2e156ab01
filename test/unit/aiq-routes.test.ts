import { describe, expect, it } from 'vitest';
import { ROUTE_NAMES } from '../../src/lib/config.ts';
import { ConfigError } from '../../src/lib/errors.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createAiqClient } from '../../src/lib/aiq/client.ts';
import { DEFAULT_ROUTES, createRouteTable } from '../../src/lib/aiq/routes.ts';

describe('default route templates', () => {
  it('are exactly the paths of aiq-api.md', () => {
    expect(DEFAULT_ROUTES).toEqual({
      listPersonas: '/api/v1.1/piis/{uid}',
      getPersona: '/api/v1.1/piis/{uid}/{contactID}',
      createContact: '/api/v2/loyalty',
      writeOverride: '/api/v2/loyaltyContact/override/{uid}/{contactID}',
      readOverride: '/api/v2/loyaltyContact/override/{uid}/{contactID}',
      loyaltyLookup: '/api/v2/loyalty/lookup/{pii}',
      optIn: '/api/v1.1/optin/{uid}/{phone}/{loyalty}',
      adjustPoints: '/api/v1.1/adjust/loyaltyPoints/{uid}/{contactID}',
      adjustments: '/api/v1.1/adjustments/{uid}/{start}/{end}',
      customAttributes: '/api/v2/contact/customAttributes/{uid}/{contactID}',
      orders: '/api/v1.1/contact/orders/{uid}/{contactID}',
      pointsTimeline: '/api/v1.1/contact/loyaltyPoints/timeline/{uid}/{contactID}',
      recommendations: '/api/v2/contact/recommendations/{contactID}',
    });
  });

  it('cover every route name', () => {
    expect(Object.keys(DEFAULT_ROUTES).sort()).toEqual([...ROUTE_NAMES].sort());
  });
});

describe('createRouteTable', () => {
  const table = createRouteTable('1234');

  it('fills uid and the call parameters', () => {
    expect(table.path('getPersona', { contactID: 'abc123' })).toBe('/api/v1.1/piis/1234/abc123');
    expect(table.path('adjustments', { start: '100', end: '200' })).toBe('/api/v1.1/adjustments/1234/100/200');
    expect(table.path('optIn', { phone: '5555550100', loyalty: 'true' })).toBe('/api/v1.1/optin/1234/5555550100/true');
    expect(table.path('createContact', {})).toBe('/api/v2/loyalty');
  });

  it('URL-encodes every placeholder value', () => {
    expect(table.path('loyaltyLookup', { pii: 'jane+vip@example.com' })).toBe('/api/v2/loyalty/lookup/jane%2Bvip%40example.com');
    expect(table.path('getPersona', { contactID: '../x/y?z#w' })).toBe('/api/v1.1/piis/1234/..%2Fx%2Fy%3Fz%23w');
    expect(createRouteTable('a/b').path('listPersonas', {})).toBe('/api/v1.1/piis/a%2Fb');
  });

  it('appends the query, leaving out undefined values', () => {
    expect(table.path('listPersonas', {}, { start: 0, limit: 1000, search: 'has:phone x', dir: undefined })).toBe(
      '/api/v1.1/piis/1234?start=0&limit=1000&search=has%3Aphone+x',
    );
    expect(table.path('listPersonas', {}, { dir: undefined })).toBe('/api/v1.1/piis/1234');
  });

  it('uses an override by name and leaves the others alone', () => {
    const custom = createRouteTable('1234', {
      optIn: '/api/v2/optin/text/{phone}?loyalty={loyalty}',
      recommendations: '/x/{uid}/{contactID}',
    });
    expect(custom.path('optIn', { phone: '5555550100', loyalty: 'false' }, { doubleOpt: 'true' })).toBe(
      '/api/v2/optin/text/5555550100?loyalty=false&doubleOpt=true',
    );
    expect(custom.path('recommendations', { contactID: 'c1' })).toBe('/x/1234/c1');
    expect(custom.path('getPersona', { contactID: 'c1' })).toBe('/api/v1.1/piis/1234/c1');
    expect(custom.template('optIn')).toBe('/api/v2/optin/text/{phone}?loyalty={loyalty}');
  });

  it('refuses a template naming a placeholder its route cannot fill, naming the route', () => {
    expect(() => createRouteTable('1234', { adjustPoints: '/a/{uid}/{contactId}' })).toThrow(ConfigError);
    try {
      createRouteTable('1234', { adjustPoints: '/a/{uid}/{contactId}', optIn: '/o/{phone}/{status}' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const issues = (err as ConfigError).issues;
      expect(issues.map((i) => i.path)).toEqual(['routes.optIn', 'routes.adjustPoints']);
      expect(issues[0]?.message).toContain('{status}');
      expect(issues[1]?.message).toContain('{contactId}');
    }
  });

  it('refuses a placeholder that exists on another route only', () => {
    expect(() => createRouteTable('1234', { listPersonas: '/p/{uid}/{contactID}' })).toThrow(/contactID/);
  });

  it('refuses unknown route names, relative templates and unbalanced braces', () => {
    expect(() => createRouteTable('1', { nope: '/x' } as never)).toThrow(/routes\.nope: unknown route name/);
    expect(() => createRouteTable('1', { orders: 'api/{uid}' })).toThrow(/starts with \//);
    expect(() => createRouteTable('1', { orders: '/api/{uid/{contactID}' })).toThrow(ConfigError);
    expect(() => createRouteTable('1', { orders: '/api/{uid}}/{contactID}' })).toThrow(/unbalanced/);
  });

  it('is checked when the client is created, before any request', () => {
    expect(() =>
      createAiqClient({
        baseUrl: 'http://127.0.0.1:9',
        apiKey: 'k',
        uid: '1',
        logger: createLogger({ level: 'silent' }),
        routes: { adjustPoints: '/a/{who}' },
      }),
    ).toThrow(ConfigError);
  });
});
