// Formatting helpers that reproduce the Go notations nats-server prints in its OCSP logs, so log
// lines read the same whichever server wrote them.

/**
 * Go `time.Duration.String()` for a duration in milliseconds: `1h2m3.5s`, `2m0s`, `1.5s`, `500ms`,
 * `0s`. Sub-millisecond precision is not kept (the engine works in milliseconds).
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const neg = ms < 0;
  let rest = Math.round(Math.abs(ms));
  if (rest === 0) return '0s';
  let out: string;
  if (rest < 1000) {
    out = `${rest}ms`;
  } else {
    const h = Math.floor(rest / 3_600_000);
    rest -= h * 3_600_000;
    const m = Math.floor(rest / 60_000);
    rest -= m * 60_000;
    const s = Math.floor(rest / 1000);
    const frac = rest - s * 1000;
    let sec = String(s);
    if (frac > 0) sec += '.' + String(frac).padStart(3, '0').replace(/0+$/, '');
    out = h > 0 ? `${h}h${m}m${sec}s` : m > 0 ? `${m}m${sec}s` : `${sec}s`;
  }
  return neg ? '-' + out : out;
}

/** Go `time.RFC3339Nano` of a UTC time: `2026-01-02T15:04:05Z`, `2026-01-02T15:04:05.5Z`. */
export function formatRfc3339(d: Date | number): string {
  const date = typeof d === 'number' ? new Date(d) : d;
  return date.toISOString().replace(/\.(\d{3})Z$/, (_m, f: string) => {
    const t = f.replace(/0+$/, '');
    return t ? `.${t}Z` : 'Z';
  });
}

/** Go `time.Time.String()` of a UTC time: `2026-01-02 15:04:05 +0000 UTC` (as in nats-server errors). */
export function formatGoTime(d: Date | number): string {
  const date = typeof d === 'number' ? new Date(d) : d;
  const iso = date.toISOString();
  let frac = iso.slice(20, 23).replace(/0+$/, '');
  frac = frac ? '.' + frac : '';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac} +0000 UTC`;
}

/** ISO 8601 for status output, or null. */
export function isoOrNull(t: number | undefined | null): string | null {
  return t === undefined || t === null || !Number.isFinite(t) ? null : new Date(t).toISOString();
}
