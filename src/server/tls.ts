// The one place that owns TLS for the server: the secure contexts built from `tls {}`, and the
// `tls.Server` instances behind every TLS endpoint:
//
//   - `clientServer`: a tls.Server that never listens. Client sockets are accepted in plaintext
//     (INFO first, as nats-server does) and upgraded in place with
//     `new tls.TLSSocket(raw, { isServer: true, server: clientServer, secureContext, ... })`.
//     Passing the real tls.Server is what makes OCSP stapling work on upgraded sockets: Node only
//     enables the certificate callback when `server.listenerCount('OCSPRequest') > 0` at the time
//     the TLSSocket is created, and then emits 'OCSPRequest' on that server.
//   - `monitorServer`: the HTTPS monitoring listener (an https.Server is a tls.Server), built from
//     the same certificates (client certificates are never requested there, as nats-server).
//
// Stapling attaches with `stapler.attach(server)` for each of `servers()`. On reload the same
// server objects are kept and their contexts replaced (`setSecureContext`), so listeners stay
// attached; `onChange` callbacks tell integrations that certificates may have changed.
//
// Handshake cost (see docs/benchmarks.md, "TLS connects"): nothing here runs per handshake beyond
// what Node itself does for a TLSSocket. In particular a socket's `sni_context` is left unset
// unless a reload happens while its handshake is in flight (see `update`): once set, Node
// re-applies that context to the SSL (certificate, key, a copy of the CA name list) in the SNI
// callback of every handshake whose client sends SNI, and again in the certificate callback when
// stapling; unset, the SNI callback returns at once and the server does not acknowledge the name,
// as nats-server (Go crypto/tls) does not.

import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { TlsOptions } from '../config/types.js';

/** One certificate/key pair as loaded from disk. */
export interface LoadedCert {
  certFile: string;
  keyFile: string;
  certPem: Buffer;
  keyPem: Buffer;
  /** Leaf certificate (first PEM block of the file). */
  leaf: X509Certificate;
  /** DNS names and IPs this certificate serves (SAN, else CN), for SNI selection. */
  names: string[];
  context: tls.SecureContext;
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file or directory' : err.message;
    throw new Error(`error parsing ${what}: open ${path}: ${why}`);
  }
}

function certNames(leaf: X509Certificate): string[] {
  const names: string[] = [];
  for (const part of (leaf.subjectAltName ?? '').split(/,\s*/)) {
    if (part.startsWith('DNS:')) names.push(part.slice(4).toLowerCase());
    else if (part.startsWith('IP Address:')) names.push(part.slice(11));
  }
  if (names.length === 0) {
    const cn = /(?:^|\n)CN=([^\n]*)/.exec(leaf.subject);
    if (cn) names.push(cn[1]!.toLowerCase());
  }
  return names;
}

function nameMatches(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  if (pattern.startsWith('*.')) {
    const dot = host.indexOf('.');
    return dot > 0 && host.slice(dot + 1) === pattern.slice(2);
  }
  return false;
}

/** node:tls options shared by every context built from `tls {}`. */
function baseContextOptions(o: TlsOptions, ca: Buffer | undefined): tls.SecureContextOptions {
  const opts: tls.SecureContextOptions = {};
  if (ca) opts.ca = ca;
  if (o.minVersion) opts.minVersion = o.minVersion;
  if (o.cipherSuites && o.cipherSuites.length > 0) {
    // TLS 1.3 suites are configured separately by OpenSSL; node:tls takes both in `ciphers`.
    opts.ciphers = o.cipherSuites.join(':');
  }
  if (o.curvePreferences && o.curvePreferences.length > 0) opts.ecdhCurve = o.curvePreferences.join(':');
  return opts;
}

/**
 * A certificate slot given explicitly to `TlsConfig` instead of `o.certs`/`o.certFile`: with
 * `certPem`/`keyPem` the files are not read (a reload that keeps the certificate already in service,
 * see the OCSP stapling hook's safe rotation).
 */
export interface CertSource {
  certFile: string;
  keyFile: string;
  certPem?: Buffer;
  keyPem?: Buffer;
}

/** Everything built from one `tls {}` block. Immutable; a reload builds a new one. */
export class TlsConfig {
  readonly options: TlsOptions;
  readonly certs: LoadedCert[];
  readonly ca: Buffer | undefined;
  /** Options for tls.createServer / https.createServer / setSecureContext (default certificate). */
  readonly serverOptions: tls.TlsOptions;
  readonly pinned: Set<string> | null;
  /** SNI selection among several certificates (undefined with one): one function per configuration. */
  readonly sniCallback: ((name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => void) | undefined;

  /** `sources` (optional) replaces the certificates named in `o`, in order. */
  constructor(o: TlsOptions, sources?: readonly CertSource[]) {
    this.options = o;
    const pairs: readonly CertSource[] =
      sources ?? (o.certs.length > 0 ? o.certs : o.certFile ? [{ certFile: o.certFile, keyFile: o.keyFile ?? '' }] : []);
    if (pairs.length === 0) throw new Error('missing certificate: tls requires cert_file and key_file');
    this.ca = o.caFile ? readFile(o.caFile, 'ca_file') : undefined;
    const base = baseContextOptions(o, this.ca);
    this.certs = pairs.map((p) => {
      const certPem = p.certPem ?? readFile(p.certFile, 'cert_file');
      const keyPem = p.keyPem ?? readFile(p.keyFile, 'key_file');
      let leaf: X509Certificate;
      let context: tls.SecureContext;
      try {
        leaf = new X509Certificate(certPem);
        context = tls.createSecureContext({ ...base, cert: certPem, key: keyPem });
      } catch (e) {
        throw new Error(`error parsing X509 certificate/key pair: ${(e as Error).message}`);
      }
      return { certFile: p.certFile, keyFile: p.keyFile, certPem, keyPem, leaf, names: certNames(leaf), context };
    });
    const first = this.certs[0]!;
    this.serverOptions = { ...base, cert: first.certPem, key: first.keyPem };
    this.pinned = o.pinnedCerts && o.pinnedCerts.length > 0 ? new Set(o.pinnedCerts.map((s) => s.toLowerCase())) : null;
    this.sniCallback = this.certs.length > 1 ? (name, cb) => cb(null, this.contextFor(name)) : undefined;
  }

  get defaultContext(): tls.SecureContext {
    return this.certs[0]!.context;
  }

  /** The context for an SNI name (multiple `certs`); the first certificate otherwise. */
  contextFor(servername: string | undefined): tls.SecureContext {
    if (servername && this.certs.length > 1) {
      const host = servername.toLowerCase();
      for (const c of this.certs) if (c.names.some((n) => nameMatches(n, host))) return c.context;
    }
    return this.defaultContext;
  }

  private anchorCache: X509Certificate[] | undefined;

  /**
   * The certificates peers' chains end in: `ca_file`'s, else Node's root store (parsed on first
   * use; `ocsp_peer` builds a peer's chain from them, see src/server/ocsp-peer.ts).
   */
  get anchors(): X509Certificate[] {
    if (this.anchorCache) return this.anchorCache;
    const pems = this.ca ? (this.ca.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) : tls.rootCertificates;
    const out: X509Certificate[] = [];
    for (const pem of pems) {
      try {
        out.push(new X509Certificate(pem));
      } catch {
        // Not a certificate Node can read: it cannot anchor a chain either.
      }
    }
    return (this.anchorCache = out);
  }

  /** Is the peer certificate allowed by `pinned_certs` (SHA-256 of the SPKI, hex)? */
  isPinned(peer: X509Certificate | undefined): boolean {
    if (this.pinned === null) return true;
    if (!peer) return false;
    const spki = peer.publicKey.export({ type: 'spki', format: 'der' });
    return this.pinned.has(createHash('sha256').update(spki).digest('hex'));
  }
}

export type TlsChangeListener = (tls: TlsManager) => void | Promise<void>;

export class TlsManager {
  private cfg: TlsConfig;
  /** Never listens: the `server` of every upgraded client socket (OCSP attach point). */
  readonly clientServer: tls.Server;
  private monitor: HttpsServer | undefined;
  private readonly listeners: TlsChangeListener[] = [];
  /**
   * Upgraded sockets whose handshake is not over yet (removed by `handshakeDone`), with the native
   * context each serves: a reload pins them to it (see `update`).
   */
  private readonly inHandshake = new Map<tls.TLSSocket, unknown>();

  /** From the options, or from a configuration already built (reload). */
  constructor(o: TlsOptions | TlsConfig) {
    this.cfg = o instanceof TlsConfig ? o : new TlsConfig(o);
    this.clientServer = tls.createServer(this.cfg.serverOptions);
  }

  get config(): TlsConfig {
    return this.cfg;
  }

  get options(): TlsOptions {
    return this.cfg.options;
  }

  /** Every tls.Server serving this configuration's certificates (client upgrades, HTTPS monitor). */
  servers(): tls.Server[] {
    return this.monitor ? [this.clientServer, this.monitor] : [this.clientServer];
  }

  /** Options for the HTTPS monitoring server (no client certificates requested). */
  monitorOptions(): tls.TlsOptions {
    const certs = this.cfg.certs;
    return {
      ...this.cfg.serverOptions,
      SNICallback: certs.length > 1 ? (name, cb) => cb(null, this.cfg.contextFor(name)) : undefined,
    };
  }

  /** Registers the HTTPS monitoring server so it is listed in servers() and updated on reload. */
  adoptMonitorServer(s: HttpsServer): void {
    this.monitor = s;
  }

  /** Called after every rebuild (reload) of the certificates. */
  onChange(fn: TlsChangeListener): void {
    this.listeners.push(fn);
  }

  /**
   * Replaces the configuration (reload): reads the files again, keeps the same server objects and
   * swaps their contexts. Throws (and keeps the old configuration) if the new one cannot be loaded.
   * Accepts a configuration already built (the server builds it before reload hooks run).
   */
  async update(o: TlsOptions | TlsConfig): Promise<void> {
    const next = o instanceof TlsConfig ? o : new TlsConfig(o);
    // Node emits 'OCSPRequest' with the certificate of `_handle.sni_context` when set (an SNI
    // selection), else of the server's context *at ClientHello time*. A socket upgraded before
    // this swap whose ClientHello comes after it serves the old certificate: pinning its
    // sni_context to the context it serves keeps certificate and staple paired (Node re-applies
    // that same context; an SNI selection replaces it as usual). Only these sockets are pinned:
    // a pinned context is re-applied during the handshake, at a cost (see the top of this file).
    for (const [sock, ctx] of this.inHandshake) {
      const handle = (sock as unknown as { _handle?: { sni_context?: unknown } | null })._handle;
      if (handle && handle.sni_context === undefined) handle.sni_context = ctx;
    }
    this.cfg = next;
    this.clientServer.setSecureContext(next.serverOptions);
    if (this.monitor) this.monitor.setSecureContext(next.serverOptions);
    for (const fn of this.listeners) await fn(this);
  }

  /**
   * Wraps an accepted socket in a server-side TLSSocket bound to `clientServer`. Bytes already
   * buffered in `raw` (e.g. a sniffed first byte put back with unshift) are fed to TLS by Node.
   * The caller reports the end of the handshake (secure, failed or closed) with `handshakeDone`.
   */
  upgrade(raw: Socket): tls.TLSSocket {
    const cfg = this.cfg;
    const verify = cfg.options.verify || cfg.options.verifyAndMap;
    const secureContext = cfg.defaultContext;
    const sock = new tls.TLSSocket(raw, {
      isServer: true,
      server: this.clientServer,
      secureContext,
      SNICallback: cfg.sniCallback,
      requestCert: verify,
      rejectUnauthorized: verify,
    });
    this.inHandshake.set(sock, (secureContext as unknown as { context: unknown }).context);
    return sock;
  }

  /** The handshake of a socket from `upgrade` is over (or never will be): a reload leaves it alone. */
  handshakeDone(sock: tls.TLSSocket): void {
    this.inHandshake.delete(sock);
  }
}

/**
 * Why the client certificate of a hand-wrapped server TLSSocket fails verification, or undefined
 * when it passes. Node computes `authorized` only for sockets a listening tls.Server accepted
 * itself, so an INFO-first upgrade asks the TLS handle directly, as Node's own server does.
 */
export function clientCertificateError(sock: tls.TLSSocket, peer?: X509Certificate): string | undefined {
  const handle = (sock as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } | null })._handle;
  const err = handle?.verifyError?.();
  if (err) return err.code ?? err.message;
  if (!(peer ?? sock.getPeerX509Certificate())) return 'no client certificate';
  return undefined;
}

/** `1.3` from `TLSv1.3` (nats-server's tls_version rendering). */
export function tlsVersionName(protocol: string | null): string {
  if (!protocol) return '';
  return protocol.startsWith('TLSv') ? protocol.slice(4) : protocol;
}
