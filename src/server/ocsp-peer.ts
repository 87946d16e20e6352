// OCSP checking of peers' certificates in the running server (docs/ocsp-peer.md): the gate a TLS
// connection passes after its handshake and before anything it sends is read, the response cache
// (`ocsp_cache`), and what monitoring shows (/varz, /ocspz `peer`, /metrics). Loaded lazily by the
// `ocsp-peer` hook (ocsp-peer-hook.ts) only when `ocsp_peer` is on.

import { createHash, type X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import { Counter, Gauge } from 'prom-client';
import { DEFAULT_OCSP_CACHE_LOCAL_STORE, defaultOcspCache } from '../config/ocsp-peer.js';
import type { OcspPeerOptions, ServerOptions } from '../config/types.js';
import { formatRfc3339 } from '../ocsp/format.js';
import { parseCertificate } from '../ocsp/certificate.js';
import { OcspPeerChecker, PeerResponseCache, type PeerCacheOptions, type PeerPolicy, type PeerVerdict } from '../ocsp/peer.js';
import type { OcspPeerGate, PeerConnLogger, PeerRecheckTarget } from './ocsp-peer-hook.js';
import { getServerObservability } from './observability.js';
import type { Server } from './server.js';
import { ClosedReason } from './client.js';

const noop = (): void => undefined;

/**
 * How often connected peers are re-checked. A re-check is answered from the cache until the
 * response expires, so a revocation closes the session at most this long after the cached
 * response's nextUpdate (or cache_ttl_when_next_update_unset) has passed.
 */
export const RECHECK_INTERVAL_MS = 30_000;

/** The policy of one `ocsp_peer` block. */
export function policyOf(p: OcspPeerOptions): PeerPolicy {
  return {
    caTimeoutMs: p.caTimeoutMs,
    clockSkewMs: p.allowedClockSkewMs,
    ttlWhenNextUpdateUnsetMs: p.cacheTtlWhenNextUpdateUnsetMs,
    warnOnly: p.warnOnly,
    unknownIsGood: p.unknownIsGood,
    allowWhenCaUnreachable: p.allowWhenCaUnreachable,
  };
}

/** Where `cache.json` lives: `local_store`, else `<store_dir>/_rc_`, else `_rc_` (process CWD, as nats-server). */
export function cacheOptionsOf(o: ServerOptions): PeerCacheOptions {
  const c = o.ocspCache ?? defaultOcspCache();
  const dir = c.localStore ?? (o.storeDir ? join(o.storeDir, DEFAULT_OCSP_CACHE_LOCAL_STORE) : DEFAULT_OCSP_CACHE_LOCAL_STORE);
  return { type: c.type, file: join(dir, 'cache.json'), preserveRevoked: c.preserveRevoked, saveIntervalMs: c.saveIntervalMs };
}

const CHAIN_CACHE_MAX = 4096;

/** The chain Node built for a server socket's peer (~0.1 ms per certificate: cached by leaf). */
function fullChain(sock: TLSSocket): Buffer[] {
  const out: Buffer[] = [];
  let c = sock.getPeerCertificate(true) as DetailedPeerCertificate | undefined;
  while (c && c.raw && out.length < 16) {
    out.push(c.raw);
    const next = c.issuerCertificate;
    if (!next || next === c || !next.raw || next.raw.equals(c.raw)) break;
    c = next;
  }
  return out;
}

/**
 * The chain from a server socket's FIRST `getPeerX509Certificate()` (the leaf, linked through
 * `issuerCertificate` to every certificate the peer sent), completed from `anchors` up to a
 * self-issued certificate. Each link is the certificate that issued the previous one and whose key
 * verifies its signature (OpenSSL already verified this path; this finds it again, without the
 * ~20 µs detailed certificate object Node builds otherwise).
 */
function chainFromX509(leaf: X509Certificate, anchors: readonly X509Certificate[]): Buffer[] {
  const pool: X509Certificate[] = [];
  for (let c = leaf.issuerCertificate; c && pool.length < 16; c = c.issuerCertificate) pool.push(c);
  pool.push(...anchors);
  const out = [leaf.raw];
  const used = new Set<X509Certificate>([leaf]);
  let cur = leaf;
  while (out.length < 16 && !cur.checkIssued(cur)) {
    const next = pool.find((p) => !used.has(p) && cur.checkIssued(p) && cur.verify(p.publicKey));
    if (!next) break;
    out.push(next.raw);
    used.add(next);
    cur = next;
  }
  return out;
}

const KIND_NAME = { client: 'Client', websocket: 'Client', leafnode: 'Leafnode', leafnode_remote: 'Leafnode' } as const;

interface Admitted {
  chain: Buffer[];
  kind: keyof typeof KIND_NAME;
  /** The block's options given to check() (leaf blocks). */
  options?: OcspPeerOptions;
}

class Gate implements OcspPeerGate {
  private readonly server: Server;
  readonly checker: OcspPeerChecker;
  private cacheKey: string;
  /** Admitted connections → their chain, for the periodic re-check. */
  private readonly admitted = new WeakMap<object, Admitted>();
  private recheckTimer: NodeJS.Timeout | undefined;
  /** Leaf SHA-256 → its verified chain (cleared on reload: ca_file may change). */
  private readonly chains = new Map<string, Buffer[]>();

  private constructor(server: Server, cache: PeerResponseCache, cacheKey: string) {
    this.server = server;
    this.cacheKey = cacheKey;
    this.checker = new OcspPeerChecker({ cache, logger: server.logger });
  }

  static async create(server: Server, options: ServerOptions): Promise<Gate> {
    const log = server.logger;
    log.debug('Plugging TLS OCSP peer for [Client]');
    const co = cacheOptionsOf(options);
    const cache = new PeerResponseCache(co, log);
    await cache.start();
    log.notice(`OCSP peer cache online, type [${co.type}]`);
    const g = new Gate(server, cache, JSON.stringify(co));
    await registerMetrics(server);
    g.recheckTimer = setInterval(() => void g.recheck(), RECHECK_INTERVAL_MS);
    g.recheckTimer.unref();
    return g;
  }

  /**
   * The verified chain: Node's (leaf, the issuers the peer sent, then `ca_file` up to the anchor),
   * remembered per leaf certificate, so a peer seen before costs one abbreviated certificate read
   * (Node's full chain object costs ~0.1 ms per certificate). A leaf names its issuer and is signed
   * by its key, so the chain above a given leaf does not change (see docs/ocsp-peer.md).
   */
  peerChain(sock: TLSSocket, first?: { leaf: X509Certificate; anchors: () => readonly X509Certificate[] }): Buffer[] {
    const raw = first ? first.leaf.raw : (sock.getPeerCertificate(false) as PeerCertificate | undefined)?.raw;
    if (!raw) return [];
    const key = createHash('sha256').update(raw).digest('base64');
    let chain = this.chains.get(key);
    if (!chain) {
      chain = first ? chainFromX509(first.leaf, first.anchors()) : fullChain(sock);
      if (chain.length === 0) return chain;
      if (this.chains.size >= CHAIN_CACHE_MAX) this.chains.delete(this.chains.keys().next().value as string);
      this.chains.set(key, chain);
    }
    return chain;
  }

  check(chain: Buffer[], kind: keyof typeof KIND_NAME, conn: PeerConnLogger, options?: OcspPeerOptions): boolean | Promise<boolean> {
    const p = options ?? this.server.options.tls?.ocspPeer;
    if (!p?.verify) return true;
    const log: PeerConnLogger & { quiet?: boolean } = this.server.logger.debugEnabled
      ? conn
      : {
          debug: noop,
          warn: (m: string) => conn.warn(m),
          error: (m: string) => conn.error(m),
          ...(conn.handshakeError ? { handshakeError: (m: string) => conn.handshakeError!(m) } : {}),
          quiet: true,
        };
    const v = this.checker.check(chain, policyOf(p), log, KIND_NAME[kind]);
    const remember = (ok: boolean): boolean => {
      if (ok) this.admitted.set(conn, { chain, kind, ...(options ? { options } : {}) });
      return ok;
    };
    if (v instanceof Promise) return v.then((x) => remember(this.done(x, kind, log, chain)));
    return remember(this.done(v, kind, log, chain));
  }

  async recheck(): Promise<number> {
    const quiet = { debug: noop, warn: noop, error: noop, quiet: true };
    const jobs: Promise<number>[] = [];
    const targets: [object, PeerRecheckTarget][] = [];
    for (const c of this.server.clients.values()) {
      targets.push([c, { get closed() { return c.isClosed; }, error: (m) => c.error(m), revoke: () => c.close(ClosedReason.Revocation) }]);
    }
    // Leaf node connections (hub and remote sides) checked with the leaf blocks' ocsp_peer.
    for (const l of this.server.leafnodes?.conns ?? []) targets.push([l, l]);
    for (const [key, c] of targets) {
      const entry = this.admitted.get(key);
      if (!entry || c.closed) continue;
      const p = this.currentOptions(entry);
      if (!p?.verify) continue;
      jobs.push(
        Promise.resolve(this.checker.check(entry.chain, policyOf(p), quiet, KIND_NAME[entry.kind])).then((v) => {
          // Only a definitive answer closes a session; an unreachable responder does not.
          const bad = v.links.find((l) => !l.ok && (l.outcome === 'revoked' || l.outcome === 'unknown'));
          if (v.admitted || !bad || c.closed) return 0;
          c.error(`OCSP peer certificate [${bad.subject}] is now ${bad.outcome}: closing connection`);
          c.revoke();
          return 1;
        }),
      );
    }
    const closed = (await Promise.all(jobs)).reduce((a, b) => a + b, 0);
    if (closed > 0) this.server.flushPending();
    return closed;
  }

  /** The client and websocket blocks' options as they are now (reload); other blocks' as given at admission. */
  private currentOptions(e: Admitted): OcspPeerOptions | undefined {
    const o = this.server.options;
    if (e.kind === 'client') return o.tls?.ocspPeer;
    if (e.kind === 'websocket') return o.websocket?.tls?.ocspPeer;
    return e.options;
  }

  adopt(log: PeerConnLogger, conn: object): void {
    const e = this.admitted.get(log);
    if (!e) return;
    this.admitted.delete(log);
    this.admitted.set(conn, e);
  }

  private done(v: PeerVerdict, kind: keyof typeof KIND_NAME, log: PeerConnLogger, chain: readonly Buffer[]): boolean {
    if (v.admitted) return true;
    const who = kind === 'leafnode_remote' ? 'server' : 'client';
    const prefix = kind === 'leafnode' || kind === 'leafnode_remote' ? 'TLS leafnode handshake error' : 'TLS handshake error';
    if (log.handshakeError) log.handshakeError(`${who} not OCSP valid`);
    else log.error(`${prefix}: ${who} not OCSP valid`);
    if (v.reason) log.debug(`OCSP peer [${v.peerSubject}] rejected: ${v.reason}${v.reasonSubject && v.reasonSubject !== v.peerSubject ? ` (link [${v.reasonSubject}])` : ''}`);
    // The $SYS advisories (nats-server 2.10): the failing link, then the rejected peer.
    const ev = this.server.events;
    if (ev) {
      if (chain.length === 0) this.server.logger.error('Peer certificate is nil, cannot send OCSP peer reject event');
      else {
        try {
          const peer = certInfo(chain, 0);
          const bad = v.links.find((l) => !l.ok);
          const at = bad ? chain.findIndex((d) => createHash('sha256').update(d).digest('base64') === bad.fingerprint) : -1;
          if (bad && at >= 0) ev.ocspPeerLinkInvalid(certInfo(chain, at), peer, bad.reason ?? v.reason ?? '');
          ev.ocspPeerReject(KIND_NAME[kind], peer, `${who} not OCSP valid`);
        } catch (e) {
          this.server.logger.error(`OCSP peer advisory not sent: ${(e as Error).message}`);
        }
      }
    }
    return false;
  }

  varzCache(): Record<string, unknown> | undefined {
    const c = this.checker.cache;
    if (!c.enabled) return undefined;
    // nats-server leaves zero counts out (omitempty).
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(c.stats())) if (v !== 0 && v !== '') out[k] = v;
    return out;
  }

  ocspz(): Record<string, unknown> {
    const c = this.checker.cache;
    const k = this.checker.counters;
    return {
      verify: true,
      policy: policyJson(this.server.options.tls?.ocspPeer),
      websocket_policy: policyJson(this.server.options.websocket?.tls?.ocspPeer),
      cache: { ...c.stats(), ...(c.enabled ? { file: c.options.file, preserve_revoked: c.options.preserveRevoked } : {}) },
      checks: { admitted: k.admitted, refused: k.refused, warn_only_admitted: k.warnOnlyAdmitted },
      link_outcomes: { ...k.links },
      responder_requests: k.responderRequests,
      single_flight_joins: k.singleFlightJoins,
      requests_in_flight: this.checker.inflightRequests,
      checks_pending: this.checker.pending,
      recent_rejections: this.checker.rejections
        .slice()
        .reverse()
        .map((r) => ({ ...r, time: formatRfc3339(r.time) })),
    };
  }

  async reconfigure(options: ServerOptions): Promise<void> {
    this.chains.clear();
    const co = cacheOptionsOf(options);
    const key = JSON.stringify(co);
    if (key === this.cacheKey) return;
    const log = this.server.logger;
    const old = this.checker.cache;
    await old.stop();
    const cache = new PeerResponseCache(co, log);
    await cache.start();
    cache.hits = old.hits;
    cache.misses = old.misses;
    this.checker.cache = cache;
    this.cacheKey = key;
    log.notice('Reloaded OCSP peer cache');
    log.notice(`OCSP peer cache online, type [${co.type}]`);
  }

  async close(): Promise<void> {
    if (this.recheckTimer) clearInterval(this.recheckTimer);
    this.recheckTimer = undefined;
    await this.checker.cache.stop();
  }
}

/**
 * nats-server's CertInfo of chain[i]: subject and issuer in Go's RDN form, std base64 SHA-256 of
 * the DER, the DER in base64. The issuer is the next link's subject (the link's own for the anchor).
 */
function certInfo(chain: readonly Buffer[], i: number): { subject: string; issuer: string; fingerprint: string; raw: string } {
  const der = chain[i]!;
  const subject = parseCertificate(der).subject;
  const issuer = i + 1 < chain.length ? parseCertificate(chain[i + 1]!).subject : subject;
  return { subject, issuer, fingerprint: createHash('sha256').update(der).digest('base64'), raw: der.toString('base64') };
}

/** The `ocsp_peer` options as written in the file (durations in seconds). */
function policyJson(p: OcspPeerOptions | undefined): Record<string, unknown> | undefined {
  if (!p) return undefined;
  return {
    verify: p.verify,
    ca_timeout: p.caTimeoutMs / 1000,
    allowed_clockskew: p.allowedClockSkewMs / 1000,
    cache_ttl_when_next_update_unset: p.cacheTtlWhenNextUpdateUnsetMs / 1000,
    warn_only: p.warnOnly,
    unknown_is_good: p.unknownIsGood,
    allow_when_ca_unreachable: p.allowWhenCaUnreachable,
  };
}

export async function createOcspPeerGate(server: Server, options: ServerOptions): Promise<OcspPeerGate> {
  return Gate.create(server, options);
}

/** Prometheus series, read from whichever gate is in service (registered once per registry). */
async function registerMetrics(server: Server): Promise<void> {
  // prom-client is loaded with this module anyway: load the server's metrics now (without
  // monitoring there are none).
  const registry = (await getServerObservability(server)?.loadMetrics())?.registry;
  if (!registry || registry.getSingleMetric('tsnats_ocsp_peer_checks_total')) return;
  const registers = [registry];
  const checker = (): OcspPeerChecker | undefined => (server.ocspPeer instanceof Gate ? server.ocspPeer.checker : undefined);
  const seen = { admitted: 0, refused: 0, warn_only_admitted: 0 };
  new Counter({
    name: 'tsnats_ocsp_peer_checks_total',
    help: 'OCSP peer checks of TLS peers by result (admitted, refused, warn_only_admitted: admitted only because of warn_only).',
    labelNames: ['result'],
    registers,
    collect() {
      const k = checker()?.counters;
      if (k) Object.assign(seen, { admitted: k.admitted, refused: k.refused, warn_only_admitted: k.warnOnlyAdmitted });
      this.reset();
      for (const [result, n] of Object.entries(seen)) this.inc({ result }, n);
    },
  });
  new Counter({
    name: 'tsnats_ocsp_peer_link_results_total',
    help: 'Certificates of peer chains checked, by outcome (good, revoked, unknown, unreachable, invalid), from the cache or a responder.',
    labelNames: ['outcome'],
    registers,
    collect() {
      const k = checker()?.counters;
      this.reset();
      if (k) for (const [outcome, n] of Object.entries(k.links)) this.inc({ outcome }, n);
    },
  });
  new Counter({
    name: 'tsnats_ocsp_peer_responder_requests_total',
    help: 'OCSP responder requests made for peer certificates (one per certificate however many peers wait for it).',
    registers,
    collect() {
      this.reset();
      this.inc(checker()?.counters.responderRequests ?? 0);
    },
  });
  new Gauge({
    name: 'tsnats_ocsp_peer_cache_entries',
    help: 'OCSP responses in the peer cache.',
    registers,
    collect() {
      this.set(checker()?.cache.size ?? 0);
    },
  });
  new Counter({
    name: 'tsnats_ocsp_peer_cache_lookups_total',
    help: 'OCSP peer cache lookups by result (hit, miss).',
    labelNames: ['result'],
    registers,
    collect() {
      const c = checker()?.cache;
      this.reset();
      this.inc({ result: 'hit' }, c?.hits ?? 0);
      this.inc({ result: 'miss' }, c?.misses ?? 0);
    },
  });
  new Gauge({
    name: 'tsnats_ocsp_peer_checks_pending',
    help: 'TLS connections held waiting for an OCSP responder.',
    registers,
    collect() {
      this.set(checker()?.pending ?? 0);
    },
  });
}
