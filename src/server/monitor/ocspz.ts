// /ocspz and the /varz `ocsp` section: what the staplers in service (server.ocsp) know, one entry
// per certificate and listener, plus what only this layer knows: the listener, the time left and
// the staple's age against one clock, and why a certificate is in the warning state. Field names
// follow nats-server's snake_case style; times are RFC 3339 in UTC, as /varz prints them.
// See docs/monitoring-ocsp.md.

import type { Stapler, StapleStatus, StaplerStatus } from '../../ocsp/index.js';
import type { OcspListenerKind, StaplerEntry } from '../ocsp-registry.js';
import type { Server } from '../server.js';
import { MonitorRequestError } from './errors.js';
import { rfc3339 } from './format.js';

/** Why a certificate is in the warning state (null: it is not). */
export type OcspWarningReason =
  /** The responder is failing and less than a quarter of the validity is left, or the next retry
   * is only due after the staple expires: the staple will probably expire before the next success. */
  | 'expiring'
  /** The staple expired: handshakes go on without one until a fetch succeeds. */
  | 'expired'
  /** No staple was ever obtained (the responder failed since start-up or reload). */
  | 'no_staple';

export const STAPLE_STATUSES: readonly StapleStatus[] = ['good', 'revoked', 'unknown', 'expired', 'none', 'error'];

/** Worst first: what `worst_status` reports among stapled certificates. */
const SEVERITY: Record<StapleStatus, number> = { revoked: 5, unknown: 4, expired: 3, error: 2, none: 1, good: 0 };

/**
 * One stapler in service with the listeners it serves. The registry has one entry per certificate
 * and listener, and the stapling hook shares one stapler between the client and HTTPS listeners:
 * grouping by stapler keeps each certificate (and its counters) once.
 */
export interface StaplerGroup {
  listeners: OcspListenerKind[];
  stapler: Stapler;
}

/** Groups registry entries by stapler, in order of first appearance. */
export function groupEntries(entries: readonly StaplerEntry[]): StaplerGroup[] {
  const byStapler = new Map<Stapler, StaplerGroup>();
  for (const e of entries) {
    const g = byStapler.get(e.stapler);
    if (!g) byStapler.set(e.stapler, { listeners: [e.listener], stapler: e.stapler });
    else if (!g.listeners.includes(e.listener)) g.listeners.push(e.listener);
  }
  return [...byStapler.values()];
}

/** One stapler in service, as seen at `now` (numbers in ms since the epoch; internal form). */
export interface OcspCertView {
  listeners: OcspListenerKind[];
  st: StaplerStatus;
  thisUpdateMs: number | null;
  expiresAtMs: number | null;
  lastSuccessMs: number | null;
  nextRefreshMs: number | null;
  /** expires_at − now (negative once expired); null without a staple. */
  secondsUntilExpiry: number | null;
  /** now − this_update; null without a staple. */
  stapleAgeSeconds: number | null;
  /** expires_at − this_update: the staple's validity window; null without a staple. */
  validitySeconds: number | null;
  warning: boolean;
  warningReason: OcspWarningReason | null;
}

function ms(iso: string | null): number | null {
  if (iso === null) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

function time(iso: string | null): string | null {
  const t = ms(iso);
  return t === null ? null : rfc3339(t);
}

function secs(v: number): number {
  return Math.round(v) / 1000;
}

/** Reads one stapler at `now`. */
export function viewOf(group: StaplerGroup, now: number): OcspCertView {
  const st = group.stapler.status();
  const thisUpdateMs = ms(st.this_update);
  const expiresAtMs = ms(st.expires_at);
  const nextRefreshMs = ms(st.next_refresh);
  const hasStaple = thisUpdateMs !== null && expiresAtMs !== null;
  let reason: OcspWarningReason | null = null;
  if (st.stapling && !st.closed) {
    if (st.status === 'expired') reason = 'expired';
    else if (st.status === 'error') reason = 'no_staple';
    else if (hasStaple && st.consecutive_failures > 0) {
      const window = expiresAtMs - thisUpdateMs;
      const left = expiresAtMs - now;
      if (left < window / 4 || (nextRefreshMs !== null && nextRefreshMs >= expiresAtMs)) reason = 'expiring';
    }
    // The engine's own flag (same rule, its own clock) wins if this layer's clock disagrees.
    if (reason === null && st.warning) reason = hasStaple ? 'expiring' : 'no_staple';
  }
  return {
    listeners: [...group.listeners],
    st,
    thisUpdateMs,
    expiresAtMs,
    lastSuccessMs: ms(st.last_success),
    nextRefreshMs,
    secondsUntilExpiry: hasStaple ? secs(expiresAtMs - now) : null,
    stapleAgeSeconds: hasStaple ? secs(now - thisUpdateMs) : null,
    validitySeconds: hasStaple ? secs(expiresAtMs - thisUpdateMs) : null,
    warning: reason !== null,
    warningReason: reason,
  };
}

/** The /ocspz entry of one certificate. */
export function ocspzEntry(v: OcspCertView): Record<string, unknown> {
  const st = v.st;
  const la = st.last_attempt;
  return {
    listeners: v.listeners,
    certificate: st.certificate,
    subject: st.subject,
    serial: st.serial,
    sha256: st.sha256,
    mode: st.mode,
    must_staple: st.must_staple,
    stapling: st.stapling,
    responder_urls: st.responder_urls,
    status: st.status,
    this_update: time(st.this_update),
    next_update: time(st.next_update),
    produced_at: time(st.produced_at),
    expires_at: time(st.expires_at),
    revocation_time: time(st.revocation_time),
    seconds_until_expiry: v.secondsUntilExpiry,
    staple_age_seconds: v.stapleAgeSeconds,
    validity_seconds: v.validitySeconds,
    next_refresh: time(st.next_refresh),
    last_success: time(st.last_success),
    last_attempt: la
      ? {
          time: time(la.time),
          url: la.url,
          method: la.method,
          http_status: la.http_status,
          duration_ms: la.duration_ms,
          error: la.error,
        }
      : null,
    last_error: st.last_error,
    consecutive_failures: st.consecutive_failures,
    source: st.source,
    warning: v.warning,
    warning_reason: v.warningReason,
    closed: st.closed,
    counters: {
      ...st.counters,
      responders: Object.fromEntries(
        Object.entries(st.counters.responders).map(([url, r]) => [url, { ...r, duration_ms_total: Math.round(r.duration_ms_total * 1000) / 1000 }]),
      ),
    },
  };
}

export interface OcspSummary {
  mode: string;
  num_certificates: number;
  num_stapled: number;
  num_warnings: number;
  /** Worst status among stapled certificates (revoked > unknown > expired > error > none > good); `none` when nothing is stapled. */
  worst_status: StapleStatus;
  /** Earliest effective nextUpdate among the staples held (may be past when one expired). */
  soonest_next_update: string | null;
  status_counts: Record<StapleStatus, number>;
}

/** Mode of the staplers in service: their common mode, `mixed`, or the configured one when there are none. */
function modeOf(server: Server, views: readonly OcspCertView[]): string {
  const modes = new Set(views.map((v) => v.st.mode));
  if (modes.size === 1) return [...modes][0]!;
  if (modes.size > 1) return 'mixed';
  return server.options.ocsp?.mode ?? 'auto';
}

export function summarize(server: Server, views: readonly OcspCertView[]): OcspSummary {
  const counts = Object.fromEntries(STAPLE_STATUSES.map((s) => [s, 0])) as Record<StapleStatus, number>;
  let worst: StapleStatus = 'none';
  let worstSeen = false;
  let soonest: number | null = null;
  let stapled = 0;
  let warnings = 0;
  for (const v of views) {
    counts[v.st.status]++;
    if (v.warning) warnings++;
    if (!v.st.stapling) continue;
    stapled++;
    if (!worstSeen || SEVERITY[v.st.status] > SEVERITY[worst]) worst = v.st.status;
    worstSeen = true;
    if (v.expiresAtMs !== null && (soonest === null || v.expiresAtMs < soonest)) soonest = v.expiresAtMs;
  }
  return {
    mode: modeOf(server, views),
    num_certificates: views.length,
    num_stapled: stapled,
    num_warnings: warnings,
    worst_status: worst,
    soonest_next_update: soonest === null ? null : rfc3339(soonest),
    status_counts: counts,
  };
}

/** Views of every stapler in service. */
export function ocspViews(server: Server, now: number): OcspCertView[] {
  return groupEntries(server.ocsp.list()).map((g) => viewOf(g, now));
}

const LISTENERS: ReadonlySet<string> = new Set(['client', 'https', 'websocket', 'cluster', 'leafnode']);

/** Does `v` match `?cert=`: a SHA-256 prefix (hex, `:` allowed), the certificate path, or its file name? */
function certMatches(v: OcspCertView, q: string): boolean {
  const path = v.st.certificate;
  if (path === q) return true;
  const base = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  if (base === q) return true;
  const hex = q.toLowerCase().replace(/:/g, '');
  return /^[0-9a-f]+$/.test(hex) && v.st.sha256.toLowerCase().startsWith(hex);
}

/**
 * GET /ocspz[?cert=<sha256 prefix|path|file name>][&listener=client|https|websocket|leafnode][&status=<status>].
 * The summary fields cover the certificates returned (after the filters).
 */
export function ocspz(server: Server, query: URLSearchParams, now: number): Record<string, unknown> {
  let views = ocspViews(server, now);
  const cert = query.get('cert');
  if (cert !== null && cert !== '') views = views.filter((v) => certMatches(v, cert));
  const listener = query.get('listener');
  if (listener !== null && listener !== '') {
    if (!LISTENERS.has(listener)) throw new MonitorRequestError(`Error decoding listener: unknown listener ${JSON.stringify(listener)} (expected client, https, websocket, cluster or leafnode)`);
    views = views.filter((v) => (v.listeners as string[]).includes(listener));
  }
  const status = query.get('status');
  if (status !== null && status !== '') {
    if (!(STAPLE_STATUSES as readonly string[]).includes(status)) {
      throw new MonitorRequestError(`Error decoding status: unknown status ${JSON.stringify(status)} (expected ${STAPLE_STATUSES.join(', ')})`);
    }
    views = views.filter((v) => v.st.status === status);
  }
  return {
    server_id: server.serverId,
    now: rfc3339(now),
    ...summarize(server, views),
    certificates: views.map(ocspzEntry),
  };
}

/**
 * The /varz `ocsp` section, or undefined (left out of /varz) when the server has no TLS and no
 * stapler in service, so a plain server's /varz keeps nats-server's exact field set.
 */
export function ocspVarz(server: Server, now: number): Record<string, unknown> | undefined {
  const views = ocspViews(server, now);
  if (views.length === 0 && !server.options.tls) return undefined;
  const s = summarize(server, views);
  return {
    mode: s.mode,
    num_certificates: s.num_certificates,
    num_stapled: s.num_stapled,
    worst_status: s.worst_status,
    soonest_next_update: s.soonest_next_update,
    num_warnings: s.num_warnings,
  };
}
