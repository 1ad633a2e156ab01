/** One window of a rate budget: at most `limit` requests in any sliding `windowMs`. */
export interface RateWindow {
  limit: number;
  windowMs: number;
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  sec: 1_000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses `5/s,120/m,2000/h` (also `10/2s`). Throws an Error whose message says what is wrong. */
export function parseRateLimits(spec: string): RateWindow[] {
  const parts = spec
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (parts.length === 0) throw new Error('expected at least one window such as 5/s');
  return parts.map((part) => {
    const m = /^(\d+)\s*\/\s*(\d*)\s*([a-z]+)$/i.exec(part);
    const unit = m?.[3]?.toLowerCase();
    const unitMs = unit === undefined ? undefined : UNIT_MS[unit];
    if (!m || unitMs === undefined) {
      throw new Error(`"${part}" is not a window; write N/s, N/m, N/h or N/d`);
    }
    const limit = Number(m[1]);
    const count = m[2] === '' || m[2] === undefined ? 1 : Number(m[2]);
    if (limit < 1) throw new Error(`"${part}": the limit must be at least 1`);
    if (count < 1) throw new Error(`"${part}": the window length must be at least 1`);
    return { limit, windowMs: count * unitMs };
  });
}

export function formatRateLimits(windows: readonly RateWindow[]): string {
  return windows
    .map((w) => {
      for (const [unit, ms] of [['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
        if (w.windowMs % ms === 0) return `${w.limit}/${w.windowMs === ms ? '' : w.windowMs / ms}${unit}`;
      }
      return `${w.limit}/${w.windowMs}ms`;
    })
    .join(',');
}
