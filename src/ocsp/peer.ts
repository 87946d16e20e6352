// OCSP checking of a peer's certificate chain (nats-server 2.10+ `ocsp_peer`), on the engine's
// strict validation (verify.ts) and fetching (fetch.ts). Nothing here depends on the server.
//
//   chain        leaf → … → trust anchor, as verified by TLS. Every link except the anchor whose
//                certificate names an http(s) OCSP responder is checked against the next link
//                (its issuer): CertID incl. serial, signer = issuer or issuer-authorised delegate
//                (EKU OCSPSigning), times within the allowed clock skew.
//   cache        one response per certificate (key: std base64 SHA-256 of its DER, as nats-server),
//                any status, usable until nextUpdate (or thisUpdate + cache_ttl_when_next_update_unset);
//                optionally persisted as nats-server's `cache.json` (PeerResponseCache).
//   single flight one responder request per certificate in flight, however many peers present it;
//                a global cap on concurrent requests (queued beyond it, refused beyond a queue cap).
//   verdict      synchronous when every link is answered from memory; otherwise a Promise. The
//                caller holds the connection meanwhile (never the event loop).
//
// Log texts are nats-server's (server/certidp/messages.go) where it has one.

import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseCertificate, type CertificateInfo } from './certificate.js';
import { OcspError, OcspFetchError, type OcspErrorCode } from './errors.js';
import { fetchOcspResponse } from './fetch.js';
import { formatRfc3339 } from './format.js';
import { silentLogger, type OcspLogger } from './logger.js';
import { buildOcspRequest, certIdFor } from './request.js';
import { parseOcspResponse, type CertStatusName } from './response.js';
import { s2Decode, s2Encode } from './s2.js';
import { verifyOcspResponse, type VerifiedOcspResponse } from './verify.js';

/** How one listener judges answers (its `ocsp_peer` options). */
export interface PeerPolicy {
  caTimeoutMs: number;
  clockSkewMs: number;
  ttlWhenNextUpdateUnsetMs: number;
  warnOnly: boolean;
  unknownIsGood: boolean;
  allowWhenCaUnreachable: boolean;
}

/** Per-check logger (the server prefixes it with the connection). */
export type PeerLogger = Pick<OcspLogger, 'debug' | 'warn' | 'error'> & {
  /** Debug lines are dropped: skip formatting them (the hot path of a warm cache). */
  quiet?: boolean;
};

/** Why a link failed: nats-server's advisory reason texts. */
export const REASON_FETCH = 'Failed OCSP response fetch';
export const REASON_PARSE = 'Failed OCSP response parse';
export const REASON_WINDOW = 'OCSP response not in effectivity window';

export type LinkOutcome = 'good' | 'revoked' | 'unknown' | 'unreachable' | 'invalid';

export interface LinkReport {
  subject: string;
  /** Std base64 SHA-256 of the certificate DER (nats-server's cache key). */
  fingerprint: string;
  outcome: LinkOutcome;
  /** Where the answer came from. */
  source: 'cache' | 'responder';
  /** The link passed (possibly only because of warn_only / unknown_is_good / allow_when_ca_unreachable). */
  ok: boolean;
  /** nats-server's link-invalid reason when the link failed. */
  reason?: string;
  /** Our detail (error message) when there is one. */
  detail?: string;
}

export interface PeerVerdict {
  admitted: boolean;
  /** Admitted only because of warn_only. */
  warnOnly: boolean;
  peerSubject: string;
  peerFingerprint: string;
  links: LinkReport[];
  /** First failing link's reason (refused, or admitted by warn_only). */
  reason?: string;
  /** Subject of that link. */
  reasonSubject?: string;
}

export function fingerprintOf(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('base64');
}

// ---------------------------------------------------------------------------------------------
// The response cache

export interface PeerCacheOptions {
  type: 'local' | 'none';
  /** Full path of `cache.json` (local type). Undefined: memory only. */
  file?: string;
  preserveRevoked: boolean;
  saveIntervalMs: number;
  /** Entries kept at most (oldest dropped first). Default 100 000. */
  maxEntries?: number;
}

interface CacheEntry {
  subject: string;
  der: Buffer;
  status: CertStatusName;
  cachedAt: number;
  thisUpdate: number;
  /** End of usability; NaN until validated (entries loaded from disk). */
  expiresAt: number;
  verified: boolean;
}

/** nats-server's `ocsp_peer_cache` /varz object. */
export interface PeerCacheStats {
  cache_type: string;
  cache_hits: number;
  cache_misses: number;
  cached_responses: number;
  cached_revoked_responses: number;
  cached_good_responses: number;
  cached_unknown_responses: number;
}

const CURRENCY_CODES: ReadonlySet<OcspErrorCode> = new Set([
  'ERR_OCSP_THIS_UPDATE_FUTURE',
  'ERR_OCSP_NEXT_UPDATE_PAST',
  'ERR_OCSP_NEXT_BEFORE_THIS',
  'ERR_OCSP_STALE',
  'ERR_OCSP_SIGNER_VALIDITY',
]);
const DELEGATION_CODES: ReadonlySet<OcspErrorCode> = new Set([
  'ERR_OCSP_SIGNER_NO_EKU',
  'ERR_OCSP_SIGNER_NOT_ISSUED_BY_CA',
  'ERR_OCSP_RESPONDER_ID',
]);
const MAX_CACHE_FILE_BYTES = 64 << 20;

export class PeerResponseCache {
  readonly options: PeerCacheOptions;
  private readonly entries = new Map<string, CacheEntry>();
  private readonly log: OcspLogger;
  private readonly now: () => number;
  hits = 0;
  misses = 0;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> | undefined;
  online = false;

  constructor(options: PeerCacheOptions, log: OcspLogger = silentLogger, now: () => number = Date.now) {
    this.options = options;
    this.log = log;
    this.now = now;
  }

  get enabled(): boolean {
    return this.options.type === 'local';
  }

  get size(): number {
    return this.entries.size;
  }

  stats(): PeerCacheStats {
    let revoked = 0;
    let good = 0;
    let unknown = 0;
    for (const e of this.entries.values()) {
      if (e.status === 'good') good++;
      else if (e.status === 'revoked') revoked++;
      else unknown++;
    }
    return {
      cache_type: this.options.type,
      cache_hits: this.hits,
      cache_misses: this.misses,
      cached_responses: this.entries.size,
      cached_revoked_responses: revoked,
      cached_good_responses: good,
      cached_unknown_responses: unknown,
    };
  }

  /** Loads the file (local type) and starts the save timer. */
  async start(): Promise<void> {
    this.log.debug('Starting OCSP peer cache');
    if (this.enabled && this.options.file) await this.load(this.options.file);
    if (this.enabled && this.options.file) {
      this.timer = setInterval(() => {
        this.log.debug('OCSP peer cache save timer expired');
        void this.save();
      }, this.options.saveIntervalMs);
      this.timer.unref();
    }
    this.online = true;
  }

  /** Stops the timer and saves if dirty. */
  async stop(): Promise<void> {
    this.log.debug('Stopping OCSP peer cache');
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.online = false;
    await this.save();
  }

  private async load(file: string): Promise<void> {
    this.log.debug(`Loading OCSP peer cache [${file}]`);
    let text: string;
    try {
      const fh = await open(file, 'r');
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw new Error('not a regular file');
        if (st.size > MAX_CACHE_FILE_BYTES) throw new Error(`file of ${st.size} bytes is too large`);
        text = await fh.readFile('utf8');
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.log.debug('No OCSP peer cache found, starting with empty cache');
        return;
      }
      this.log.warn(`Unable to load OCSP peer cache: ${(err as Error).message}`);
      this.dirty = true;
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
      if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('not a JSON object');
    } catch (err) {
      this.log.warn(`Unable to load OCSP peer cache: ${(err as Error).message}`);
      this.dirty = true;
      return;
    }
    for (const [key, raw] of Object.entries(json as Record<string, unknown>)) {
      if (this.entries.size >= this.maxEntries) break;
      const item = raw as { subject?: unknown; cached_at?: unknown; resp_status?: unknown; resp?: unknown };
      try {
        if (typeof item?.resp !== 'string') throw new Error('no resp');
        const der = s2Decode(Buffer.from(item.resp, 'base64'), 1 << 20);
        const status = item.resp_status === 'good' || item.resp_status === 'revoked' ? item.resp_status : 'unknown';
        const cachedAt = typeof item.cached_at === 'string' ? Date.parse(item.cached_at) : NaN;
        this.entries.set(key, {
          subject: typeof item.subject === 'string' ? item.subject : '',
          der,
          status,
          cachedAt: Number.isFinite(cachedAt) ? cachedAt : this.now(),
          thisUpdate: NaN,
          expiresAt: NaN,
          // Re-validated against the certificate and its issuer at first use.
          verified: false,
        });
      } catch (err) {
        this.log.error(`Unable to decompress OCSP response for key [${key}]: ${(err as Error).message}`);
        this.dirty = true;
      }
    }
  }

  /** Writes `cache.json` atomically (temp file, fsync, rename) if anything changed. */
  async save(): Promise<void> {
    if (!this.enabled || !this.options.file || !this.dirty) return;
    if (this.saving) return this.saving;
    this.saving = this.doSave(this.options.file).finally(() => (this.saving = undefined));
    return this.saving;
  }

  private async doSave(file: string): Promise<void> {
    this.log.debug('OCSP peer cache is dirty, saving');
    this.log.debug(`Saving OCSP peer cache [${file}]`);
    this.dirty = false;
    const out: Record<string, unknown> = {};
    for (const [k, e] of this.entries) {
      out[k] = {
        subject: e.subject,
        cached_at: formatRfc3339(Math.floor(e.cachedAt / 1000) * 1000),
        resp_status: e.status,
        resp_expires: Number.isFinite(e.expiresAt) ? formatRfc3339(e.expiresAt) : '0001-01-01T00:00:00Z',
        resp: s2Encode(e.der).toString('base64'),
      };
    }
    const data = JSON.stringify(out, null, ' ');
    const dir = dirname(file);
    const tmp = join(dir, `ocsprc-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
      this.log.debug(`Saved OCSP peer cache successfully (${Buffer.byteLength(data)} bytes)`);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      this.dirty = true;
      this.log.error(`Unable to save OCSP peer cache: ${(err as Error).message}`);
    }
  }

  private get maxEntries(): number {
    return this.options.maxEntries ?? 100_000;
  }

  put(key: string, subject: string, v: VerifiedOcspResponse): void {
    if (!this.enabled) return;
    this.log.debug(`Caching OCSP response for [${subject}], key [${key}]`);
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    this.entries.set(key, {
      subject,
      der: v.der,
      status: v.status,
      cachedAt: this.now(),
      thisUpdate: v.thisUpdate,
      expiresAt: v.expiresAt,
      verified: true,
    });
    this.dirty = true;
  }

  /** Deletes unless preserve_revoked keeps a revoked entry. */
  private drop(key: string, e: CacheEntry): void {
    if (e.status === 'revoked' && this.options.preserveRevoked) {
      this.log.debug(`Revoked OCSP response for key [${key}] preserved by cache policy`);
      return;
    }
    this.log.debug(`Deleting OCSP peer cached response for key [${key}]`);
    this.entries.delete(key);
    this.dirty = true;
  }

  /**
   * A usable cached answer for `cert`, or a miss saying whether a (possibly expired, but
   * authentic) revocation is on record. Entries loaded from disk are validated here, with the
   * certificate and its issuer, before their first use.
   */
  lookup(
    key: string,
    cert: CertificateInfo,
    issuer: CertificateInfo,
    policy: PeerPolicy,
    log: PeerLogger,
  ): { hit: true; status: CertStatusName } | { hit: false; cachedRevocation: boolean } {
    if (!this.enabled || !this.online) return { hit: false, cachedRevocation: false };
    if (!log.quiet) log.debug(`Checking OCSP peer cache for [${cert.subject}], key [${key}]`);
    const e = this.entries.get(key);
    if (!e) {
      this.misses++;
      if (!log.quiet) log.debug(`OCSP peer cache miss for key [${key}]`);
      return { hit: false, cachedRevocation: false };
    }
    const now = this.now();
    if (!e.verified) {
      const opts = { leaf: cert, issuer, clockSkewMs: policy.clockSkewMs, maxAgeWithoutNextUpdateMs: policy.ttlWhenNextUpdateUnsetMs };
      try {
        const v = verifyOcspResponse(e.der, { ...opts, now });
        Object.assign(e, { status: v.status, thisUpdate: v.thisUpdate, expiresAt: v.expiresAt, verified: true });
      } catch (err) {
        // Expired but authentic (checked as of its own thisUpdate): still evidence of a revocation.
        let authentic: VerifiedOcspResponse | undefined;
        if (err instanceof OcspError && CURRENCY_CODES.has(err.code)) {
          try {
            const at = parseOcspResponse(e.der).responses[0]?.thisUpdate;
            if (at !== undefined) authentic = verifyOcspResponse(e.der, { ...opts, now: at });
          } catch {
            authentic = undefined;
          }
        }
        if (!authentic) {
          if (!log.quiet) log.debug(`Invalid cached OCSP response for [${cert.subject}] with fingerprint [${key}]`);
          this.entries.delete(key);
          this.dirty = true;
          this.misses++;
          return { hit: false, cachedRevocation: false };
        }
        Object.assign(e, { status: authentic.status, thisUpdate: authentic.thisUpdate, expiresAt: Math.min(authentic.expiresAt, now), verified: true });
      }
    }
    if (now < e.expiresAt) {
      this.hits++;
      if (!log.quiet) log.debug(`OCSP peer cache hit for key [${key}]`);
      if (!log.quiet) log.debug(`Cached OCSP response is current, status [${e.status}]`);
      return { hit: true, status: e.status };
    }
    if (!log.quiet) log.debug(`Cached OCSP response is expired, status [${e.status}]`);
    const cachedRevocation = e.status === 'revoked';
    this.drop(key, e);
    this.misses++;
    return { hit: false, cachedRevocation };
  }

  /** Drops every entry (tests, `ocsp_cache` changes). */
  clear(): void {
    if (this.entries.size > 0) this.dirty = true;
    this.entries.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// The checker

type FetchOutcome =
  | { kind: 'response'; v: VerifiedOcspResponse }
  | { kind: 'unreachable'; error: OcspError }
  | { kind: 'invalid'; error: OcspError };

export interface PeerCheckerOptions {
  cache: PeerResponseCache;
  /** Server-level log (responder traffic); per-check lines go to the logger given to `check`. */
  logger?: OcspLogger;
  now?: () => number;
  /** Responder requests in flight at most (server-wide). Default 32. */
  maxConcurrent?: number;
  /** Requests waiting for a slot at most; beyond that a link counts as unreachable. Default 10 000. */
  maxQueued?: number;
}

/** Counters (monotonic) for /ocspz and /metrics. */
export interface PeerCheckCounters {
  /** Checks by result. */
  admitted: number;
  refused: number;
  warnOnlyAdmitted: number;
  /** Link answers by outcome (cache and responder together). */
  links: Record<LinkOutcome, number>;
  /** Responder requests made (one per single flight). */
  responderRequests: number;
  /** Checks that joined a request already in flight for the same certificate. */
  singleFlightJoins: number;
}

export interface PeerRejection {
  time: number;
  kind: string;
  subject: string;
  fingerprint: string;
  reason: string;
  link_subject?: string;
}

const PARSED_CACHE_MAX = 4096;

/**
 * Fingerprints of the DER buffers seen (the gate hands over the same cached chain arrays for a
 * peer seen before, so a warm check hashes nothing; a WeakMap forgets them with the chains).
 */
const FINGERPRINTS = new WeakMap<Buffer, string>();

function cachedFingerprint(der: Buffer): string {
  let f = FINGERPRINTS.get(der);
  if (f === undefined) FINGERPRINTS.set(der, (f = fingerprintOf(der)));
  return f;
}

export class OcspPeerChecker {
  cache: PeerResponseCache;
  private readonly log: OcspLogger;
  private readonly now: () => number;
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private readonly inflight = new Map<string, Promise<FetchOutcome>>();
  private readonly parsed = new Map<string, CertificateInfo>();
  private active = 0;
  private readonly queue: (() => void)[] = [];
  readonly counters: PeerCheckCounters = {
    admitted: 0,
    refused: 0,
    warnOnlyAdmitted: 0,
    links: { good: 0, revoked: 0, unknown: 0, unreachable: 0, invalid: 0 },
    responderRequests: 0,
    singleFlightJoins: 0,
  };
  readonly rejections: PeerRejection[] = [];
  /** Checks waiting for a responder right now. */
  pending = 0;

  constructor(opts: PeerCheckerOptions) {
    this.cache = opts.cache;
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.maxConcurrent = opts.maxConcurrent ?? 32;
    this.maxQueued = opts.maxQueued ?? 10_000;
  }

  get inflightRequests(): number {
    return this.inflight.size;
  }

  private parse(der: Buffer, fp: string): CertificateInfo {
    let c = this.parsed.get(fp);
    if (!c) {
      c = parseCertificate(der);
      if (this.parsed.size >= PARSED_CACHE_MAX) this.parsed.delete(this.parsed.keys().next().value as string);
      this.parsed.set(fp, c);
    }
    return c;
  }

  /**
   * Checks a verified chain (DER, leaf first, trust anchor last). Returns the verdict at once when
   * every link is answered from memory, else a Promise. Never throws.
   */
  check(chain: readonly Buffer[], policy: PeerPolicy, log: PeerLogger, kind = 'Client'): PeerVerdict | Promise<PeerVerdict> {
    try {
      return this.checkInner(chain, policy, log, kind);
    } catch (err) {
      // Unparseable certificates: refuse (they passed TLS verification, so this is unexpected).
      log.error(`OCSP peer check failed: ${(err as Error).message}`);
      const fp = chain[0] ? fingerprintOf(chain[0]) : '';
      return this.finish({ admitted: false, warnOnly: false, peerSubject: '', peerFingerprint: fp, links: [], reason: REASON_PARSE }, kind, log);
    }
  }

  private checkInner(chain: readonly Buffer[], policy: PeerPolicy, log: PeerLogger, kind: string): PeerVerdict | Promise<PeerVerdict> {
    if (chain.length === 0) {
      log.error('Peer certificate is nil, rejecting OCSP peer');
      return this.finish({ admitted: false, warnOnly: false, peerSubject: '', peerFingerprint: '', links: [], reason: 'Empty chainlink found' }, kind, log);
    }
    const fps = chain.map(cachedFingerprint);
    const certs = chain.map((d, i) => this.parse(d, fps[i]!));
    const base = { peerSubject: certs[0]!.subject, peerFingerprint: fps[0]! };
    if (!log.quiet) log.debug(`Peer OCSP enabled: 1 TLS ${kind === 'Client' ? 'client' : kind.toLowerCase()} chain(s) will be evaluated`);
    if (!log.quiet) log.debug(`Chain [0]: ${chain.length} total link(s)`);
    if (chain.length === 1) {
      if (!log.quiet) log.debug('Chain [0] is self-signed, thus peer is valid');
      return this.finish({ admitted: true, warnOnly: false, ...base, links: [] }, kind, log);
    }
    const eligible: number[] = [];
    for (let i = 0; i < certs.length - 1; i++) if (httpUrls(certs[i]!).length > 0) eligible.push(i);
    if (eligible.length === 0) {
      if (!log.quiet) log.debug('Chain [0] has no OCSP eligible links, thus peer is valid');
      return this.finish({ admitted: true, warnOnly: false, ...base, links: [] }, kind, log);
    }
    if (!log.quiet) log.debug(`Chain [0] has ${eligible.length} OCSP eligible link(s)`);
    const results: (LinkReport | Promise<LinkReport>)[] = eligible.map((i) => this.link(fps[i]!, certs[i]!, certs[i + 1]!, policy, log));
    if (results.every((r) => !(r instanceof Promise))) return this.verdict(results as LinkReport[], policy, base, kind, log);
    this.pending++;
    return Promise.all(results).then(
      (links) => {
        this.pending--;
        return this.verdict(links, policy, base, kind, log);
      },
      (err: unknown) => {
        this.pending--;
        log.error(`OCSP peer check failed: ${(err as Error).message}`);
        return this.finish({ admitted: false, warnOnly: false, ...base, links: [], reason: REASON_FETCH }, kind, log);
      },
    );
  }

  private verdict(
    links: LinkReport[],
    policy: PeerPolicy,
    base: { peerSubject: string; peerFingerprint: string },
    kind: string,
    log: PeerLogger,
  ): PeerVerdict {
    const bad = links.find((l) => !l.ok);
    const warned = links.find((l) => l.reason !== undefined);
    if (!bad) {
      if (!log.quiet) log.debug('Chain [0] is OCSP valid for all eligible links, thus peer is valid');
      const warnOnly = policy.warnOnly && warned !== undefined;
      return this.finish(
        { admitted: true, warnOnly, ...base, links, ...(warnOnly ? { reason: warned!.reason, reasonSubject: warned!.subject } : {}) },
        kind,
        log,
      );
    }
    if (!log.quiet) log.debug('No OCSP valid chains, thus peer is invalid');
    return this.finish({ admitted: false, warnOnly: false, ...base, links, reason: bad.reason, reasonSubject: bad.subject }, kind, log);
  }

  private finish(v: PeerVerdict, kind: string, _log: PeerLogger): PeerVerdict {
    if (v.admitted) {
      this.counters.admitted++;
      if (v.warnOnly) this.counters.warnOnlyAdmitted++;
    } else {
      this.counters.refused++;
      this.rejections.push({
        time: this.now(),
        kind,
        subject: v.peerSubject,
        fingerprint: v.peerFingerprint,
        reason: v.reason ?? 'client not OCSP valid',
        ...(v.reasonSubject ? { link_subject: v.reasonSubject } : {}),
      });
      if (this.rejections.length > 32) this.rejections.shift();
    }
    return v;
  }

  /** One link: cache, else the (shared) responder request; then the policy. */
  private link(key: string, cert: CertificateInfo, issuer: CertificateInfo, policy: PeerPolicy, log: PeerLogger): LinkReport | Promise<LinkReport> {
    const c = this.cache.lookup(key, cert, issuer, policy, log);
    if (c.hit) return this.judge(key, cert, { kind: 'response', status: c.status }, false, 'cache', policy, log);
    let flight = this.inflight.get(key);
    if (flight) this.counters.singleFlightJoins++;
    else {
      flight = this.fetch(key, cert, issuer, policy).finally(() => this.inflight.delete(key));
      this.inflight.set(key, flight);
    }
    return flight.then((o) =>
      this.judge(key, cert, o.kind === 'response' ? { kind: 'response', status: o.v.status } : o, c.cachedRevocation, 'responder', policy, log),
    );
  }

  private async acquire(): Promise<() => void> {
    if (this.active >= this.maxConcurrent) {
      if (this.queue.length >= this.maxQueued) throw new OcspFetchError('ERR_OCSP_ABORTED', 'too many OCSP peer checks waiting for a responder');
      await new Promise<void>((r) => this.queue.push(r));
    } else this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    };
  }

  private async fetch(key: string, cert: CertificateInfo, issuer: CertificateInfo, policy: PeerPolicy): Promise<FetchOutcome> {
    let release: (() => void) | undefined;
    try {
      release = await this.acquire();
      this.counters.responderRequests++;
      const urls = httpUrls(cert);
      for (const u of urls) this.log.debug(`Trying OCSP responder url [${u}]`);
      const r = await fetchOcspResponse({
        urls,
        request: buildOcspRequest(certIdFor(cert, issuer)),
        timeoutMs: policy.caTimeoutMs,
        // ca_timeout per responder URL in all (the POST → GET fallback shares it), as nats-server.
        signal: AbortSignal.timeout(policy.caTimeoutMs * Math.max(1, urls.length)),
        logger: this.log,
        accept: (der) =>
          verifyOcspResponse(der, {
            leaf: cert,
            issuer,
            now: this.now(),
            clockSkewMs: policy.clockSkewMs,
            maxAgeWithoutNextUpdateMs: policy.ttlWhenNextUpdateUnsetMs,
          }),
      });
      this.cache.put(key, cert.subject, r.value);
      return { kind: 'response', v: r.value };
    } catch (err) {
      const e = err instanceof OcspError ? err : new OcspFetchError('ERR_OCSP_NETWORK', String(err));
      // A responder that answered 2xx with something refused is an invalid answer, not an outage.
      const answered = e instanceof OcspFetchError && e.attempts.some((a) => a.httpStatus !== undefined && a.httpStatus >= 200 && a.httpStatus < 300 && a.error);
      const validation = !(e instanceof OcspFetchError) || (e.code !== 'ERR_OCSP_EXHAUSTED' && e.code !== 'ERR_OCSP_NO_RESPONDERS' && e.code !== 'ERR_OCSP_TIMEOUT' && e.code !== 'ERR_OCSP_NETWORK' && e.code !== 'ERR_OCSP_HTTP_STATUS' && e.code !== 'ERR_OCSP_ABORTED' && e.code !== 'ERR_OCSP_TOO_LARGE' && e.code !== 'ERR_OCSP_BAD_URL');
      return { kind: answered || validation ? 'invalid' : 'unreachable', error: e };
    } finally {
      release?.();
    }
  }

  private judge(
    key: string,
    cert: CertificateInfo,
    o: { kind: 'response'; status: CertStatusName } | { kind: 'unreachable' | 'invalid'; error: OcspError },
    cachedRevocation: boolean,
    source: 'cache' | 'responder',
    policy: PeerPolicy,
    log: PeerLogger,
  ): LinkReport {
    const subj = cert.subject;
    const rep = (outcome: LinkOutcome, ok: boolean, reason?: string, detail?: string): LinkReport => {
      this.counters.links[outcome]++;
      return { subject: subj, fingerprint: key, outcome, source, ok, ...(reason ? { reason } : {}), ...(detail ? { detail } : {}) };
    };
    const warnOnly = (): boolean => {
      if (!policy.warnOnly) return false;
      log.warn(`OCSP verify fail for [${subj}] but WarnOnly is true so allowing`);
      return true;
    };
    if (o.kind === 'response') {
      if (o.status === 'good' || (o.status === 'unknown' && policy.unknownIsGood)) {
        if (!log.quiet) log.debug(`OCSP verify pass for [${subj}]`);
        return rep(o.status, true);
      }
      log.warn(`OCSP verify fail for [${subj}] with CA status [${o.status}]`);
      return rep(o.status, warnOnly(), `Invalid OCSP response status: ${o.status}`);
    }
    if (o.kind === 'unreachable') {
      log.warn(`Attempt to obtain OCSP response from CA responder for [${subj}] failed: ${o.error.message}`);
      if (warnOnly()) return rep('unreachable', true, REASON_FETCH, o.error.message);
      if (policy.allowWhenCaUnreachable) {
        if (!cachedRevocation) {
          log.warn(`Failed to obtain OCSP CA response for [${subj}] but AllowWhenCAUnreachable set; no cached revocation so allowing`);
          return rep('unreachable', true, undefined, o.error.message);
        }
        log.warn(`Failed to obtain OCSP CA response for [${subj}] but AllowWhenCAUnreachable set; cached revocation exists so rejecting`);
      }
      return rep('unreachable', false, REASON_FETCH, o.error.message);
    }
    const code = (o.error.cause instanceof OcspError ? o.error.cause.code : undefined) ?? o.error.code;
    let reason: string;
    if (DELEGATION_CODES.has(code)) {
      reason = `Invalid OCSP response delegation: ${subj}`;
      log.warn(`${reason} (${o.error.message})`);
    } else if (CURRENCY_CODES.has(code)) {
      reason = REASON_WINDOW;
      log.warn(`New OCSP CA response obtained for [${subj}] but not current (${o.error.message})`);
    } else {
      reason = REASON_PARSE;
      log.error(`Could not parse OCSP CA response for [${subj}]: ${o.error.message}`);
    }
    return rep('invalid', warnOnly(), reason, o.error.message);
  }
}

/** The certificate's OCSP responder URLs that are http(s), in AIA order. */
export function httpUrls(cert: CertificateInfo): string[] {
  return cert.ocspUrls.filter((u) => {
    try {
      const p = new URL(u).protocol;
      return p === 'http:' || p === 'https:';
    } catch {
      return false;
    }
  });
}
