// One Stapler per certificate: decides whether the certificate is stapled (mode × Must-Staple),
// obtains the first staple before the server reports ready (memory → disk → responders), keeps it
// fresh (refresh around the middle of the validity window with jitter, capped exponential backoff
// with jitter on failure, one fetch in flight), never hands out an expired staple or a staple for
// another certificate, and reports everything through logs, events, status() and counters.
// The handshake path (current(), the OCSPRequest listener) only reads memory.

import { EventEmitter } from 'node:events';
import type { Server as TlsServer } from 'node:tls';
import {
  findIssuer,
  parseCaBundle,
  parseCertificateChain,
  type CertificateInfo,
} from './certificate.js';
import {
  OcspError,
  OcspFetchError,
  OcspStartupError,
  type OcspAttempt,
} from './errors.js';
import { DEFAULT_FETCH_TIMEOUT_MS, DEFAULT_MAX_RESPONSE_BYTES, fetchOcspResponse } from './fetch.js';
import { formatDuration, formatRfc3339, isoOrNull } from './format.js';
import { notice, silentLogger, type OcspLogger } from './logger.js';
import { buildOcspRequest, certIdFor } from './request.js';
import { StapleStore } from './store.js';
import {
  DEFAULT_CLOCK_SKEW_MS,
  DEFAULT_MAX_AGE_WITHOUT_NEXT_UPDATE_MS,
  verifyOcspResponse,
  type VerifiedOcspResponse,
} from './verify.js';

export type OcspMode = 'auto' | 'must' | 'always' | 'never';
export type StapleStatus = 'good' | 'revoked' | 'unknown' | 'expired' | 'none' | 'error';
export type StapleSource = 'responder' | 'disk' | 'memory';

/** Timer functions, injectable together with `now` for tests with a fake clock. */
export interface StaplerTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface StaplerOptions {
  /** The certificate file content: PEM chain (leaf first, optionally its issuer second) or DER. */
  cert: string | Buffer;
  /** CA bundle(s) (`ca_file` content) used to find the issuer when `cert` has no second certificate. */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /** Default `auto`. */
  mode?: OcspMode;
  /** Responder URLs replacing the certificate's AIA OCSP URLs, tried in order. */
  urls?: readonly string[];
  /** Enables the disk cache `<storeDir>/ocsp/<sha256 of leaf DER>` (nats-server layout). */
  storeDir?: string;
  /** Label in logs and status, normally the certificate file path. */
  certPath?: string;
  /** Connection kind in logs (`Client`, `Router`, `Gateway`). Default `Client`. */
  kind?: string;
  logger?: OcspLogger;
  /** Per HTTP attempt. Default 10 s. */
  fetchTimeoutMs?: number;
  /** Response body cap. Default 256 KiB. */
  maxResponseBytes?: number;
  /** Clock (ms since the epoch). Default Date.now. */
  now?: () => number;
  /** Random source in [0, 1) for jitter. Default Math.random. */
  random?: () => number;
  /** Default: global setTimeout (unref'ed) / clearTimeout. */
  timers?: StaplerTimers;
  /** Tolerated thisUpdate in the future and delegate validity slack. Default 60 s. */
  clockSkewMs?: number;
  /** Validity of a response without nextUpdate, from its thisUpdate. Default 1 h. */
  maxAgeWithoutNextUpdateMs?: number;
  /** Earliest refresh after a good fetch (unless the window is shorter). Default 60 s. */
  minRefreshMs?: number;
  /** Latest refresh after a good fetch. Default 24 h. */
  maxRefreshMs?: number;
  /** First retry delay after a failure; doubles per failure. Default 10 s. */
  retryBaseMs?: number;
  /** Retry delay cap. Default 10 min. */
  retryMaxMs?: number;
  /**
   * Default true: createStapler throws (`bad OCSP status update ...`) when no valid staple can be had
   * for a certificate that must be stapled. false: it returns a stapler that keeps retrying
   * (status `error`), e.g. for a configuration reload.
   */
  requireInitial?: boolean;
  /** In-process staple memory shared across staplers (reload reuse). Default: the shared one. */
  memory?: StapleMemory | false;
}

/** What a stapler currently knows about its staple (event payloads). */
export interface StapleInfo {
  status: 'good' | 'revoked' | 'unknown';
  thisUpdate: Date;
  nextUpdate: Date | null;
  producedAt: Date;
  expiresAt: Date;
  revocationTime: Date | null;
  source: StapleSource;
}

export interface StaplerStatus {
  certificate: string;
  kind: string;
  subject: string;
  serial: string;
  sha256: string;
  mode: OcspMode;
  must_staple: boolean;
  /** Whether this certificate is stapled at all (mode × Must-Staple). */
  stapling: boolean;
  responder_urls: string[];
  status: StapleStatus;
  this_update: string | null;
  next_update: string | null;
  produced_at: string | null;
  /** When the current staple stops being served (nextUpdate, or thisUpdate + max age). */
  expires_at: string | null;
  revocation_time: string | null;
  next_refresh: string | null;
  last_success: string | null;
  last_attempt: {
    time: string;
    url: string;
    method: 'POST' | 'GET';
    http_status: number | null;
    duration_ms: number;
    error: string | null;
  } | null;
  last_error: string | null;
  consecutive_failures: number;
  source: StapleSource | null;
  /** The responder is failing and less than a quarter of the validity is left (or it has expired). */
  warning: boolean;
  closed: boolean;
  counters: StaplerCounters;
}

export interface StaplerCounters {
  /** Completed fetch cycles (all URLs) by outcome. */
  fetches_ok: number;
  fetches_failed: number;
  /** HTTP attempts per responder URL. */
  responders: Record<string, { ok: number; failed: number; duration_ms_total: number }>;
  /** OCSPRequest handshakes for this certificate answered with / without a staple. */
  handshakes_stapled: number;
  handshakes_without_staple: number;
}

export interface ShutdownEvent {
  status: 'revoked' | 'unknown';
  certificate: string;
  message: string;
}

export interface StaplerEvents {
  good: [info: StapleInfo];
  revoked: [info: StapleInfo];
  unknown: [info: StapleInfo];
  expired: [info: { certificate: string; expiredAt: Date }];
  error: [err: OcspError];
  shutdown: [event: ShutdownEvent];
  attempt: [attempt: OcspAttempt];
}

// ---------------------------------------------------------------------------------------------
// In-process memory of verified staples, so a reload (new staplers for the same certificates)
// starts from the staple already held instead of refetching. Entries are re-verified on use.

export class StapleMemory {
  private readonly map = new Map<string, Buffer>();
  constructor(private readonly maxEntries = 10_000) {}
  get(key: string): Buffer | undefined {
    return this.map.get(key);
  }
  set(key: string, der: Buffer): void {
    this.map.delete(key);
    this.map.set(key, der);
    while (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value!);
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  clear(): void {
    this.map.clear();
  }
}

export const sharedStapleMemory = new StapleMemory();

// ---------------------------------------------------------------------------------------------
// Scheduling (pure functions, exported for tests).

const MIN_DELAY_MS = 1000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface RefreshPolicy {
  minRefreshMs: number;
  maxRefreshMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

export const DEFAULT_REFRESH_POLICY: RefreshPolicy = {
  minRefreshMs: 60_000,
  maxRefreshMs: 24 * 3_600_000,
  retryBaseMs: 10_000,
  retryMaxMs: 600_000,
};

/**
 * Delay until the next refresh after a successful fetch: the middle of the validity window minus
 * up to 20 % jitter (so refreshes land between 40 % and 50 % of the window), bounded by
 * [minRefreshMs, maxRefreshMs], never later than three quarters of the remaining validity, never
 * below one second.
 */
export function computeRefreshDelay(
  now: number,
  thisUpdate: number,
  expiresAt: number,
  random: () => number,
  policy: RefreshPolicy = DEFAULT_REFRESH_POLICY,
): number {
  const remaining = expiresAt - now;
  if (remaining <= 0) return MIN_DELAY_MS;
  const start = Math.min(thisUpdate, now);
  const window = expiresAt - start;
  let delay = start + window / 2 - now;
  const lo = Math.min(policy.minRefreshMs, remaining / 2);
  const hi = Math.min(policy.maxRefreshMs, (remaining * 3) / 4);
  delay = Math.min(Math.max(delay, lo), hi);
  delay *= 1 - 0.2 * random();
  return Math.max(MIN_DELAY_MS, Math.round(delay));
}

/**
 * Delay before retry number `failures` (1-based): retryBaseMs · 2^(failures−1) with ±25 % jitter,
 * capped at retryMaxMs; while a staple is still valid, no later than half its remaining validity;
 * never below one second.
 */
export function computeRetryDelay(
  failures: number,
  random: () => number,
  policy: RefreshPolicy = DEFAULT_REFRESH_POLICY,
  remainingValidityMs?: number,
): number {
  const exp = policy.retryBaseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30);
  let delay = Math.min(exp, policy.retryMaxMs) * (0.75 + 0.5 * random());
  delay = Math.min(delay, policy.retryMaxMs);
  if (remainingValidityMs !== undefined && remainingValidityMs > 0) delay = Math.min(delay, remainingValidityMs / 2);
  return Math.max(MIN_DELAY_MS, Math.round(delay));
}

// ---------------------------------------------------------------------------------------------

interface CurrentStaple extends VerifiedOcspResponse {
  source: StapleSource;
}

const defaultTimers: StaplerTimers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(h) {
    clearTimeout(h as NodeJS.Timeout);
  },
};

function modeOf(mode: unknown): OcspMode {
  const m = mode === undefined ? 'auto' : String(mode).toLowerCase();
  if (m !== 'auto' && m !== 'must' && m !== 'always' && m !== 'never') {
    throw new OcspError('ERR_OCSP_INVALID_OPTION', `unsupported ocsp mode ${JSON.stringify(mode)}`);
  }
  return m;
}

export interface Stapler {
  on<E extends keyof StaplerEvents>(event: E, listener: (...args: StaplerEvents[E]) => void): this;
  once<E extends keyof StaplerEvents>(event: E, listener: (...args: StaplerEvents[E]) => void): this;
  off<E extends keyof StaplerEvents>(event: E, listener: (...args: StaplerEvents[E]) => void): this;
}

/**
 * The staple manager of one certificate. Create it with `createStapler()`.
 * Events: `good`, `revoked`, `unknown` (after a runtime fetch), `expired` (the staple passed its
 * validity and is no longer sent), `error` (a fetch failed; only emitted when someone listens),
 * `shutdown` (must/always: the certificate is revoked or unknown; the server should shut down),
 * `attempt` (every HTTP attempt, for metrics).
 */
export class Stapler extends EventEmitter {
  /** The parsed leaf certificate. */
  readonly leaf: CertificateInfo;
  /** The issuer (only when stapling is enabled). */
  readonly issuer: CertificateInfo | undefined;
  readonly mode: OcspMode;
  /** Whether this certificate is stapled at all. */
  readonly enabled: boolean;
  /** must/always: a revoked or unknown status emits `shutdown`. */
  readonly shutdownOnRevoke: boolean;
  readonly certPath: string;
  readonly kind: string;
  readonly responderUrls: readonly string[];

  private readonly logger: OcspLogger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly timers: StaplerTimers;
  private readonly policy: RefreshPolicy;
  private readonly skewMs: number;
  private readonly maxAgeMs: number;
  private readonly fetchTimeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly store: StapleStore | undefined;
  private readonly memory: StapleMemory | undefined;
  private readonly request: Buffer | undefined;

  private staple: CurrentStaple | undefined;
  private expiredNotified = false;
  private inFlight: Promise<CurrentStaple> | undefined;
  private handled: CurrentStaple | undefined;
  private abort = new AbortController();
  private refreshTimer: unknown;
  private expiryTimer: unknown;
  private nextRefreshAt: number | undefined;
  private lastAttempt: OcspAttempt & { time: number } | undefined;
  private lastSuccessAt: number | undefined;
  private lastError: OcspError | undefined;
  private consecutiveFailures = 0;
  private closed = false;
  /** @internal dispatchers this stapler is registered with */
  readonly _detachers = new Set<() => void>();
  private readonly counters: StaplerCounters = {
    fetches_ok: 0,
    fetches_failed: 0,
    responders: {},
    handshakes_stapled: 0,
    handshakes_without_staple: 0,
  };

  /** @internal use createStapler() */
  constructor(opts: StaplerOptions, leaf: CertificateInfo, issuer: CertificateInfo | undefined, mode: OcspMode, enabled: boolean) {
    super();
    this.leaf = leaf;
    this.issuer = issuer;
    this.mode = mode;
    this.enabled = enabled;
    this.shutdownOnRevoke = enabled && (mode === 'must' || mode === 'always');
    this.certPath = opts.certPath ?? '<memory>';
    this.kind = opts.kind ?? 'Client';
    this.responderUrls = Object.freeze([...(opts.urls && opts.urls.length > 0 ? opts.urls : leaf.ocspUrls)]);
    this.logger = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.timers = opts.timers ?? defaultTimers;
    this.policy = {
      minRefreshMs: opts.minRefreshMs ?? DEFAULT_REFRESH_POLICY.minRefreshMs,
      maxRefreshMs: opts.maxRefreshMs ?? DEFAULT_REFRESH_POLICY.maxRefreshMs,
      retryBaseMs: opts.retryBaseMs ?? DEFAULT_REFRESH_POLICY.retryBaseMs,
      retryMaxMs: opts.retryMaxMs ?? DEFAULT_REFRESH_POLICY.retryMaxMs,
    };
    this.skewMs = opts.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
    this.maxAgeMs = opts.maxAgeWithoutNextUpdateMs ?? DEFAULT_MAX_AGE_WITHOUT_NEXT_UPDATE_MS;
    this.fetchTimeoutMs = opts.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.store = enabled && opts.storeDir ? new StapleStore(opts.storeDir) : undefined;
    this.memory = opts.memory === false ? undefined : (opts.memory ?? sharedStapleMemory);
    this.request = enabled && issuer ? buildOcspRequest(certIdFor(leaf, issuer, 'sha1')) : undefined;
  }

  // ---- handshake path (memory only) -------------------------------------------------------

  /** The DER staple to send now, or undefined (not stapled, none yet, expired, closed). */
  current(): Buffer | undefined {
    const s = this.staple;
    if (!s || this.closed) return undefined;
    if (this.now() >= s.expiresAt) {
      if (!this.expiredNotified) queueMicrotask(() => this.checkExpiry());
      return undefined;
    }
    return s.der;
  }

  /** @internal counts one OCSPRequest handshake for this certificate and returns the staple. */
  _serveHandshake(): Buffer | undefined {
    const der = this.current();
    if (der) this.counters.handshakes_stapled++;
    else this.counters.handshakes_without_staple++;
    return der;
  }

  /**
   * Adds this stapler to the server's OCSP dispatcher (one `OCSPRequest` listener per server, shared
   * by every stapler attached to it; each handshake gets the staple of the certificate in use, or
   * none). Returns a function that detaches it.
   */
  attach(server: TlsServer | EventEmitter): () => void {
    return dispatcherFor(server).add([this]);
  }

  // ---- status -------------------------------------------------------------------------------

  status(): StaplerStatus {
    const now = this.now();
    const s = this.staple;
    let status: StapleStatus;
    if (!this.enabled || this.closed) status = 'none';
    else if (s && now < s.expiresAt) status = s.status;
    else if (s) status = 'expired';
    else if (this.lastError) status = 'error';
    else status = 'none';
    let warning = false;
    if (this.enabled && !this.closed) {
      if (status === 'expired' || status === 'error') warning = true;
      else if (s && this.consecutiveFailures > 0) {
        const window = s.expiresAt - s.thisUpdate;
        warning = s.expiresAt - now < window / 4;
      }
    }
    const la = this.lastAttempt;
    return {
      certificate: this.certPath,
      kind: this.kind,
      subject: this.leaf.subject,
      serial: this.leaf.serialHex,
      sha256: this.leaf.sha256,
      mode: this.mode,
      must_staple: this.leaf.mustStaple,
      stapling: this.enabled,
      responder_urls: [...this.responderUrls],
      status,
      this_update: isoOrNull(s?.thisUpdate),
      next_update: isoOrNull(s?.nextUpdate),
      produced_at: isoOrNull(s?.producedAt),
      expires_at: isoOrNull(s?.expiresAt),
      revocation_time: isoOrNull(s?.revocationTime),
      next_refresh: isoOrNull(this.nextRefreshAt),
      last_success: isoOrNull(this.lastSuccessAt),
      last_attempt: la
        ? {
            time: new Date(la.time).toISOString(),
            url: la.url,
            method: la.method,
            http_status: la.httpStatus ?? null,
            duration_ms: Math.round(la.durationMs * 1000) / 1000,
            error: la.error?.message ?? null,
          }
        : null,
      last_error: this.lastError?.message ?? null,
      consecutive_failures: this.consecutiveFailures,
      source: s?.source ?? null,
      warning,
      closed: this.closed,
      counters: this.getCounters(),
    };
  }

  /** A copy of the counters (plain numbers, for a metrics exporter). */
  getCounters(): StaplerCounters {
    const responders: StaplerCounters['responders'] = {};
    for (const [k, v] of Object.entries(this.counters.responders)) responders[k] = { ...v };
    return { ...this.counters, responders };
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /**
   * Fetches from the responders now (joining a fetch already in flight), then reschedules.
   * Never rejects: the outcome is in the returned status, the logs and the events.
   */
  async refresh(): Promise<StaplerStatus> {
    if (this.enabled && !this.closed) await this.runRefresh();
    return this.status();
  }

  /** Stops timers and any fetch in flight, detaches from servers; current() returns undefined after. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer('refresh');
    this.clearTimer('expiry');
    this.nextRefreshAt = undefined;
    this.abort.abort();
    for (const d of [...this._detachers]) d();
  }

  /** @internal start-up: memory → disk → responders. Throws OcspStartupError as nats-server. */
  async _start(requireInitial: boolean): Promise<void> {
    if (!this.enabled) return;
    if (this.store) await this.store.init();
    let got = this.fromMemory() ?? (await this.fromDisk());
    if (!got) {
      try {
        got = await this.fetchFromResponders();
      } catch (err) {
        const e = toOcspError(err);
        if (requireInitial) {
          this.close();
          throw new OcspStartupError('ERR_OCSP_STARTUP_FETCH', `bad OCSP status update for certificate at '${this.certPath}': ${e.message}`, this.certPath, {
            cause: e,
          });
        }
        this.onFetchFailure(e);
        return;
      }
      await this.persist(got);
    }
    this.adopt(got);
    if (got.status !== 'good') {
      if (this.shutdownOnRevoke) {
        this.close();
        throw new OcspStartupError(
          'ERR_OCSP_STARTUP_STATUS',
          `found existing OCSP status for certificate at '${this.certPath}': ${got.status}`,
          this.certPath,
        );
      }
      this.logger.error(`Found OCSP status for ${this.kind} certificate at '${this.certPath}': ${got.status}`);
      this.scheduleRefresh(this.refreshDelayFor(got));
      return;
    }
    const delay = this.refreshDelayFor(got);
    notice(
      this.logger,
      `Found OCSP status for ${this.kind} certificate at '${this.certPath}': good, next update ${formatRfc3339(got.expiresAt)}, checking again in ${formatDuration(delay)}`,
    );
    this.scheduleRefresh(delay);
  }

  // ---- internals ----------------------------------------------------------------------------

  private memoryKey(): string {
    return `${this.leaf.sha256}:${this.issuer?.sha256 ?? ''}`;
  }

  private verify(der: Buffer, source: StapleSource): CurrentStaple {
    const v = verifyOcspResponse(der, {
      leaf: this.leaf,
      issuer: this.issuer!,
      now: this.now(),
      clockSkewMs: this.skewMs,
      maxAgeWithoutNextUpdateMs: this.maxAgeMs,
    });
    return { ...v, source };
  }

  private fromMemory(): CurrentStaple | undefined {
    const der = this.memory?.get(this.memoryKey());
    if (!der) return undefined;
    try {
      return this.verify(der, 'memory');
    } catch {
      this.memory?.delete(this.memoryKey());
      return undefined;
    }
  }

  private async fromDisk(): Promise<CurrentStaple | undefined> {
    if (!this.store) return undefined;
    const file = this.store.pathFor(this.leaf.sha256);
    try {
      const der = await this.store.read(this.leaf.sha256);
      if (!der) return undefined;
      return this.verify(der, 'disk');
    } catch (err) {
      this.logger.warn(
        `Ignoring cached OCSP status for certificate at '${this.certPath}' in '${file}': ${(err as Error).message}`,
      );
      return undefined;
    }
  }

  private fetchFromResponders(): Promise<CurrentStaple> {
    if (this.inFlight) return this.inFlight;
    const p = (async () => {
      try {
        const res = await fetchOcspResponse({
          urls: this.responderUrls,
          request: this.request!,
          timeoutMs: this.fetchTimeoutMs,
          maxResponseBytes: this.maxResponseBytes,
          signal: this.abort.signal,
          logger: this.logger,
          accept: (der) => this.verify(der, 'responder'),
          onAttempt: (a) => this.recordAttempt(a),
        });
        this.counters.fetches_ok++;
        return res.value;
      } catch (err) {
        this.counters.fetches_failed++;
        throw err;
      }
    })();
    this.inFlight = p;
    const clear = (): void => {
      if (this.inFlight === p) this.inFlight = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  private recordAttempt(a: OcspAttempt): void {
    this.lastAttempt = { ...a, time: this.now() };
    const c = (this.counters.responders[a.url] ??= { ok: 0, failed: 0, duration_ms_total: 0 });
    if (a.error) c.failed++;
    else c.ok++;
    c.duration_ms_total += a.durationMs;
    if (this.listenerCount('attempt') > 0) this.emit('attempt', a);
  }

  private async persist(s: CurrentStaple): Promise<void> {
    if (!this.store || this.closed) return;
    try {
      await this.store.write(this.leaf.sha256, s.der);
    } catch (err) {
      this.logger.warn(
        `Unable to cache OCSP status for certificate '${this.certPath}' in '${this.store.pathFor(this.leaf.sha256)}': ${(err as Error).message}`,
      );
    }
  }

  private adopt(s: CurrentStaple): void {
    this.staple = s;
    this.expiredNotified = false;
    this.lastError = undefined;
    if (s.source === 'responder') {
      this.lastSuccessAt = this.now();
      this.consecutiveFailures = 0;
    }
    this.memory?.set(this.memoryKey(), s.der);
    this.armExpiry();
  }

  private refreshDelayFor(s: CurrentStaple): number {
    return computeRefreshDelay(this.now(), s.thisUpdate, s.expiresAt, this.random, this.policy);
  }

  private scheduleRefresh(delay: number): void {
    if (this.closed) return;
    this.clearTimer('refresh');
    this.nextRefreshAt = this.now() + delay;
    this.refreshTimer = this.timers.setTimeout(() => {
      this.refreshTimer = undefined;
      void this.runRefresh();
    }, Math.min(delay, MAX_TIMER_MS));
  }

  private armExpiry(): void {
    this.clearTimer('expiry');
    const s = this.staple;
    if (!s || this.closed) return;
    const delay = Math.max(0, s.expiresAt - this.now());
    this.expiryTimer = this.timers.setTimeout(() => {
      this.expiryTimer = undefined;
      this.checkExpiry();
    }, Math.min(delay + 1, MAX_TIMER_MS));
  }

  private clearTimer(which: 'refresh' | 'expiry'): void {
    const h = which === 'refresh' ? this.refreshTimer : this.expiryTimer;
    if (h !== undefined) this.timers.clearTimeout(h);
    if (which === 'refresh') this.refreshTimer = undefined;
    else this.expiryTimer = undefined;
  }

  /** Notices that the staple passed its validity: stop serving it, say so, fetch soon. */
  private checkExpiry(): void {
    const s = this.staple;
    if (!s || this.closed || this.expiredNotified) return;
    const now = this.now();
    if (now < s.expiresAt) {
      this.armExpiry(); // timer fired early (clamped long delay or clock skew)
      return;
    }
    this.expiredNotified = true;
    this.memory?.delete(this.memoryKey());
    this.logger.error(
      `OCSP staple for certificate '${this.certPath}' expired at ${formatRfc3339(s.expiresAt)}: handshakes continue without a staple until a new OCSP response is obtained`,
    );
    this.emit('expired', { certificate: this.certPath, expiredAt: new Date(s.expiresAt) });
    // Fetch soon if the next attempt is far away (a retry already planned keeps its backoff).
    if (!this.inFlight && (this.nextRefreshAt === undefined || this.nextRefreshAt - now > this.policy.retryBaseMs)) {
      this.scheduleRefresh(Math.max(MIN_DELAY_MS, Math.min(this.policy.retryBaseMs, this.policy.retryMaxMs)));
    }
  }

  private async runRefresh(): Promise<void> {
    if (this.closed) return;
    this.clearTimer('refresh');
    this.nextRefreshAt = undefined;
    let got: CurrentStaple;
    try {
      got = await this.fetchFromResponders();
    } catch (err) {
      if (this.closed) return;
      this.onFetchFailure(toOcspError(err));
      return;
    }
    if (this.closed) return;
    // Concurrent refresh() callers share one fetch; only the first handles its result.
    if (this.handled === got) return;
    this.handled = got;
    await this.persist(got);
    if (this.closed) return;
    this.adopt(got);
    const info = this.infoOf(got);
    const delay = this.refreshDelayFor(got);
    if (got.status === 'good') {
      notice(
        this.logger,
        `Received OCSP status for ${this.kind} certificate '${this.certPath}': good, next update ${formatRfc3339(got.expiresAt)}, checking again in ${formatDuration(delay)}`,
      );
      this.scheduleRefresh(delay);
      this.emit('good', info);
      return;
    }
    this.logger.error(`Received OCSP status for ${this.kind} certificate '${this.certPath}': ${got.status}`);
    // Unlike nats-server we keep checking (auto mode serves the revoked response meanwhile).
    this.scheduleRefresh(delay);
    this.emit(got.status, info);
    if (this.shutdownOnRevoke) {
      this.emit('shutdown', {
        status: got.status,
        certificate: this.certPath,
        message: `Received OCSP status for ${this.kind} certificate '${this.certPath}': ${got.status}`,
      });
    }
  }

  private onFetchFailure(err: OcspError): void {
    this.consecutiveFailures++;
    this.lastError = err;
    const s = this.staple;
    const remaining = s ? s.expiresAt - this.now() : undefined;
    const delay = computeRetryDelay(this.consecutiveFailures, this.random, this.policy, remaining);
    this.logger.error(`Bad OCSP status update for certificate '${this.certPath}': ${err.message}, trying again in ${formatDuration(delay)}`);
    this.scheduleRefresh(delay);
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private infoOf(s: CurrentStaple): StapleInfo {
    return {
      status: s.status,
      thisUpdate: new Date(s.thisUpdate),
      nextUpdate: s.nextUpdate !== undefined ? new Date(s.nextUpdate) : null,
      producedAt: new Date(s.producedAt),
      expiresAt: new Date(s.expiresAt),
      revocationTime: s.revocationTime !== undefined ? new Date(s.revocationTime) : null,
      source: s.source,
    };
  }
}

function toOcspError(err: unknown): OcspError {
  if (err instanceof OcspError) return err;
  return new OcspFetchError('ERR_OCSP_NETWORK', err instanceof Error ? err.message : String(err), [], {
    cause: err,
  });
}

/**
 * Creates the stapler for one certificate and, when the certificate is stapled, obtains its first
 * staple (memory → disk → responders) before resolving.
 *
 * Throws (as nats-server refuses to start): OcspCertificateError (`no certificate found`,
 * `error parsing certificate: ...`, `no issuers found`, `<subject> invalid ca basic constraints: is
 * not ca`, `failed to parse ca_file: ...`), OcspStoreError (`could not create OCSP storage directory
 * - ...`), OcspStartupError (`bad OCSP status update for certificate at '<path>': <err>`;
 * must/always: `found existing OCSP status for certificate at '<path>': revoked|unknown`).
 */
export async function createStapler(opts: StaplerOptions): Promise<Stapler> {
  const mode = modeOf(opts.mode);
  const chain = parseCertificateChain(opts.cert);
  const leaf = chain[0]!;
  const logger = opts.logger ?? silentLogger;
  const certPath = opts.certPath ?? '<memory>';
  let enabled: boolean;
  if (mode === 'never') {
    if (leaf.mustStaple) logger.warn(`Certificate at '${certPath}' has MustStaple but OCSP is disabled`);
    enabled = false;
  } else {
    enabled = mode === 'always' || leaf.mustStaple;
  }
  let issuer: CertificateInfo | undefined;
  if (enabled) {
    const ca = opts.ca !== undefined ? parseCaBundle(opts.ca) : undefined;
    issuer = findIssuer(chain, ca, (opts.now ?? Date.now)());
  }
  const stapler = new Stapler(opts, leaf, issuer, mode, enabled);
  await stapler._start(opts.requireInitial ?? true);
  return stapler;
}

// ---------------------------------------------------------------------------------------------
// One OCSPRequest listener per server, dispatching by the DER of the certificate in use.

type OcspCallback = (err: Error | null, resp: Buffer | null) => void;

class Dispatcher {
  /**
   * Staplers by certificate (the last one attached serves it). A server has a handful of
   * certificates, so a handshake finds the certificate Node passes (a fresh Buffer each time) by
   * `equals` (length, then memcmp) rather than by decoding ~1 KB into a key and hashing it.
   */
  private readonly entries: Array<{ der: Buffer; list: Stapler[] }> = [];
  private installed = false;
  unmatched = 0;
  private readonly listener = (certificate: Buffer | null, _issuer: Buffer | null, cb: OcspCallback): void => {
    let der: Buffer | undefined;
    try {
      const list = certificate ? this.entryFor(certificate)?.list : undefined;
      const stapler = list?.[list.length - 1];
      if (stapler) der = stapler._serveHandshake();
      else this.unmatched++;
    } catch {
      der = undefined; // never fail a handshake because of stapling
    }
    cb(null, der ?? null);
  };

  constructor(private readonly server: EventEmitter) {}

  private entryFor(der: Buffer): { der: Buffer; list: Stapler[] } | undefined {
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) if (entries[i]!.der.equals(der)) return entries[i];
    return undefined;
  }

  add(staplers: Iterable<Stapler>): () => void {
    const added: Stapler[] = [];
    for (const s of staplers) {
      let e = this.entryFor(s.leaf.der);
      if (!e) this.entries.push((e = { der: s.leaf.der, list: [] }));
      e.list.push(s);
      added.push(s);
    }
    if (!this.installed && this.entries.length > 0) {
      this.server.on('OCSPRequest', this.listener);
      this.installed = true;
    }
    let done = false;
    const detach = (): void => {
      if (done) return;
      done = true;
      for (const s of added) {
        s._detachers.delete(detach);
        const e = this.entryFor(s.leaf.der);
        if (!e) continue;
        const i = e.list.lastIndexOf(s);
        if (i >= 0) e.list.splice(i, 1);
        if (e.list.length === 0) this.entries.splice(this.entries.indexOf(e), 1);
      }
      if (this.installed && this.entries.length === 0) {
        this.server.removeListener('OCSPRequest', this.listener);
        this.installed = false;
        dispatchers.delete(this.server);
      }
    };
    for (const s of added) s._detachers.add(detach);
    return detach;
  }
}

const dispatchers = new WeakMap<EventEmitter, Dispatcher>();

function dispatcherFor(server: EventEmitter): Dispatcher {
  let d = dispatchers.get(server);
  if (!d) {
    d = new Dispatcher(server);
    dispatchers.set(server, d);
  }
  return d;
}

/** A set of staplers attached to one server, replaceable atomically (configuration reload). */
export interface AttachedStaplers {
  /** Swaps in a new set: the new staplers are registered before the old ones are removed. */
  update(staplers: Iterable<Stapler>): void;
  /** Removes them all from the server. */
  detach(): void;
  /** OCSPRequest handshakes whose certificate has no stapler attached. */
  readonly unmatchedHandshakes: number;
}

/**
 * Attaches several staplers (one per certificate, e.g. SNI) to a server through one OCSPRequest
 * listener. Each handshake gets the staple of the certificate actually in use, never another's.
 */
export function attachStaplers(server: TlsServer | EventEmitter, staplers: Iterable<Stapler>): AttachedStaplers {
  const d = dispatcherFor(server);
  let detachCurrent = d.add(staplers);
  return {
    update(next) {
      const old = detachCurrent;
      detachCurrent = dispatcherFor(server).add(next);
      old();
    },
    detach() {
      detachCurrent();
    },
    get unmatchedHandshakes() {
      return dispatchers.get(server)?.unmatched ?? 0;
    },
  };
}

