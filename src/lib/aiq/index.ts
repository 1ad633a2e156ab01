export { createAiqClient, type OwnedAiqClient } from './client.ts';
export { DEFAULT_ROUTES, ROUTE_PARAMS, createRouteTable, type RouteTable } from './routes.ts';
export { OPERATIONS, decideRetry, parseRetryAfter, type OperationName, type OperationPolicy } from './retry-policy.ts';
export * from './types.ts';
