/**
 * Entry of a benchmark child process (started by host.ts): runs exported functions of bench
 * modules on request, so that what a benchmark measures (CPU time, event loop) is not shared
 * with the simulator or the load generator in the parent.
 *
 * A function may return `{value, close}`: `value` goes back to the parent, `close` is kept under
 * an id until the parent releases it (servers that outlive the call).
 */
import { pathToFileURL } from 'node:url';
import type { HostReply, HostRequest } from './host.ts';

type Remote = (args: unknown) => Promise<unknown>;

const held = new Map<number, () => Promise<void>>();
let nextId = 1;

function send(reply: HostReply): void {
  process.send?.(reply);
}

function isHeld(v: unknown): v is { value: unknown; close: () => Promise<void> } {
  return typeof v === 'object' && v !== null && 'close' in v && typeof (v as { close: unknown }).close === 'function';
}

async function handle(req: HostRequest): Promise<void> {
  try {
    if (req.type === 'release') {
      const close = held.get(req.handle);
      held.delete(req.handle);
      await close?.();
      send({ id: req.id, ok: true, value: null });
      return;
    }
    const mod = (await import(pathToFileURL(req.module).href)) as Record<string, unknown>;
    const fn = mod[req.fn];
    if (typeof fn !== 'function') throw new Error(`${req.module} exports no function ${req.fn}`);
    const out = await (fn as Remote)(req.args);
    if (isHeld(out)) {
      const handle = nextId++;
      held.set(handle, out.close);
      send({ id: req.id, ok: true, value: out.value, handle });
    } else {
      send({ id: req.id, ok: true, value: out });
    }
  } catch (err) {
    send({ id: req.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
}

process.on('message', (msg: HostRequest) => {
  void handle(msg);
});
process.on('disconnect', () => {
  void Promise.allSettled([...held.values()].map((close) => close())).then(() => process.exit(0));
});
