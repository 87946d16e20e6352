// NATS subject filter matching for the store (tokens separated by '.', '*' one token, '>' the rest).

export function isAllFilter(filter: string): boolean {
  return filter === '' || filter === '>';
}

export function hasWildcard(filter: string): boolean {
  if (filter === '*' || filter === '>') return true;
  if (filter.startsWith('*.') || filter.endsWith('.*') || filter.endsWith('.>') || filter.includes('.*.')) return true;
  return false;
}

/** true when the literal subject matches the filter */
export function subjectMatches(subject: string, filter: string): boolean {
  if (isAllFilter(filter)) return true;
  if (!hasWildcard(filter)) return subject === filter;
  const st = subject.split('.');
  const ft = filter.split('.');
  for (let i = 0; i < ft.length; i++) {
    const f = ft[i];
    if (f === '>') return st.length > i;
    if (i >= st.length) return false;
    if (f !== '*' && f !== st[i]) return false;
  }
  return st.length === ft.length;
}

/** A matcher that remembers its answer per subject (subjects repeat a lot in a scan). */
export function makeMatcher(filter: string): (subject: string) => boolean {
  if (isAllFilter(filter)) return () => true;
  if (!hasWildcard(filter)) return (s) => s === filter;
  const memo = new Map<string, boolean>();
  return (s) => {
    let r = memo.get(s);
    if (r === undefined) {
      r = subjectMatches(s, filter);
      if (memo.size < 100_000) memo.set(s, r);
    }
    return r;
  };
}

let anchorMs = 0;
let anchorHr = 0n;
/** Wall-clock time in nanoseconds since the epoch, strictly from Date.now() plus a monotonic sub-millisecond part. */
export function nowNs(): bigint {
  const hr = process.hrtime.bigint();
  const ms = Date.now();
  if (anchorMs === 0 || Math.abs(Number((hr - anchorHr) / 1_000_000n) - (ms - anchorMs)) > 5) {
    anchorMs = ms;
    anchorHr = hr;
  }
  return BigInt(anchorMs) * 1_000_000n + (hr - anchorHr);
}
