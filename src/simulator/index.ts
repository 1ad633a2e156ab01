import { createControl } from './control.ts';
import { SimulatorCore } from './core.ts';
import { startServer } from './server.ts';
import type { Simulator, SimulatorOptions } from './types.ts';

export type {
  FaultKind,
  FaultRule,
  LedgerEntry,
  NewPersonaFields,
  OptInOutcome,
  PersonaView,
  Simulator,
  SimulatorAccount,
  SimulatorControl,
  SimulatorOptions,
  SimulatorStats,
} from './types.ts';
export { FAULT_KINDS } from './types.ts';
export { SimulatorError, type SimulatorErrorCode } from './errors.ts';
export { parseFaultSpec } from './faults.ts';
export { INVALID_KEY_MESSAGE } from './server.ts';
export { SEED_EPOCH_S, SEED_RATES } from './seed.ts';

/**
 * Starts the AIQ stand-in: every route of aiq-api.md over node:http, seeded data, per-key rate
 * windows, seeded faults and a control surface (`control` in process, `/_sim/*` over HTTP).
 * Throws when the options are inconsistent or the port is taken.
 */
export async function createSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const core = new SimulatorCore(options);
  const control = createControl(core);
  const host = options.host ?? '127.0.0.1';
  const server = await startServer({ core, control, host, port: options.port ?? 0, logger: options.logger });
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${server.port}`;
  options.logger?.info({ url, accounts: 1 + (options.accounts?.length ?? 0) }, 'simulator listening');
  return { url, port: server.port, control, close: () => server.close() };
}
