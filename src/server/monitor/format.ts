// Go-compatible renderings used by the monitoring endpoints: time.Duration.String(), RFC3339Nano
// timestamps and nats-server's uptime format.

/** Milliseconds since the epoch with sub-millisecond precision (µs resolution). */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

function fmtFrac(v: number, prec: number): string {
  // v is an integer; render v / 10^prec without trailing zeros.
  const base = 10 ** prec;
  const whole = Math.floor(v / base);
  let frac = String(v % base).padStart(prec, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : String(whole);
}

/** Go's time.Duration.String() for a duration in nanoseconds. */
export function goDuration(ns: number): string {
  ns = Math.round(ns);
  if (ns === 0) return '0s';
  const neg = ns < 0;
  if (neg) ns = -ns;
  let out: string;
  if (ns < 1000) out = `${ns}ns`;
  else if (ns < 1_000_000) out = `${fmtFrac(ns, 3)}µs`;
  else if (ns < 1_000_000_000) out = `${fmtFrac(ns, 6)}ms`;
  else {
    const h = Math.floor(ns / 3_600_000_000_000);
    const rem = ns - h * 3_600_000_000_000;
    const m = Math.floor(rem / 60_000_000_000);
    const sNs = rem - m * 60_000_000_000;
    const s = fmtFrac(sNs, 9) + 's';
    out = h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
  }
  return neg ? '-' + out : out;
}

/** goDuration for milliseconds. */
export function goDurationMs(ms: number): string {
  return goDuration(ms * 1e6);
}

/** RFC3339Nano in UTC (`2026-11-29T10:08:11.679805Z`), trailing zeros of the fraction trimmed. */
export function rfc3339(ms: number): string {
  const sec = Math.floor(ms / 1000);
  // The date and time part changes once a second (events stamp several times per message).
  if (sec !== lastSec) {
    lastSec = sec;
    lastSecText = new Date(sec * 1000).toISOString().slice(0, 19); // 2026-11-29T10:08:11
  }
  const micros = Math.round((ms - sec * 1000) * 1000);
  const frac = String(Math.min(micros, 999999)).padStart(6, '0').replace(/0+$/, '');
  return lastSecText + (frac ? '.' + frac : '') + 'Z';
}

let lastSec = NaN;
let lastSecText = '';

/** nats-server's uptime rendering: `1y2d3h4m5s`, `2d3h4m5s`, `3h4m5s`, `4m5s`, `5s`. */
export function goUptime(ms: number): string {
  const tsecs = Math.floor(ms / 1000);
  const tmins = Math.floor(tsecs / 60);
  const thrs = Math.floor(tmins / 60);
  const tdays = Math.floor(thrs / 24);
  const tyrs = Math.floor(tdays / 365);
  if (tyrs > 0) return `${tyrs}y${tdays % 365}d${thrs % 24}h${tmins % 60}m${tsecs % 60}s`;
  if (tdays > 0) return `${tdays}d${thrs % 24}h${tmins % 60}m${tsecs % 60}s`;
  if (thrs > 0) return `${thrs}h${tmins % 60}m${tsecs % 60}s`;
  if (tmins > 0) return `${tmins}m${tsecs % 60}s`;
  return `${tsecs}s`;
}
