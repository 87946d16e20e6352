/**
 * A real `openssl ocsp` responder for tests, behind a small Node HTTP front on 127.0.0.1.
 *
 * Why a front: `openssl ocsp -port` binds every interface and has no bind-address option, so
 * instead each OCSP request (POST body, or GET `/<url-encoded base64>`) is written to a file and
 * answered by a one-shot
 *
 *   openssl ocsp -index <index> -CA <ca.pem> -rsigner <signer.pem> -rkey <signer-key.pem>
 *                -reqin req.der -respout resp.der [-nmin N] [-ndays N]
 *
 * whose resp.der is sent back with `Content-Type: application/ocsp-response`. Because openssl
 * re-reads the index on every request, `revoke()` / `setGood()` / `setUnknown()` take effect on
 * the very next request.
 *
 * nextUpdate: openssl writes a nextUpdate only when `-nmin` and/or `-ndays` is given (it is
 * thisUpdate + ndays + nmin); with neither it is omitted. `-nmin` must be a positive integer,
 * so the shortest validity openssl can produce is one minute (use the programmable responder in
 * `src/testkit/responder.ts` for second-scale lifetimes).
 *
 * Order of operations: the PKI's certificates must carry the responder URL in their AIA, and the
 * responder needs the PKI to answer, so start the front first, then create the PKI, then attach:
 *
 *   const r = await startOpensslResponder();
 *   const pki = await createTestPki({ ocspUrl: r.url });
 *   r.attach(pki);                       // every CA-issued cert of the PKI starts as "good"
 *   r.revoke(pki.serverRevoked);
 *   ...
 *   await r.close(); await pki.cleanup();
 *
 * (`startOpensslResponder({ pki })` does the same in one go for an existing PKI and listens on the
 * port in `pki.ocspUrl`: that is how a test restarts a responder at the same URL after `close()`.)
 *
 * Several CAs: the issuer of each request (matched by the CertID's issuerKeyHash) selects the CA,
 * its own index file and its signer. With `signer: 'delegate'` (default) the root's responses are
 * signed by `pki.responder`, the intermediate's by `pki.intermediateResponder`, any other CA's by
 * the CA itself; with `signer: 'ca'` always by the issuing CA. A request for an issuer that is
 * not a CA of the PKI is answered by the root's configuration, i.e. status `unknown`. CAs issued
 * after attach() are picked up on the next request; their leaves start out unknown.
 * Before `attach()`, requests get an OCSP `tryLater` response.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { OCSPRequest } from '@peculiar/asn1-ocsp';
import { Certificate } from '@peculiar/asn1-x509';
import type { IssuedCert, TestPki } from '../../src/testkit/pki.js';
import { runOpenssl } from './openssl.js';

export type RevocationReason =
  | 'unspecified'
  | 'keyCompromise'
  | 'CACompromise'
  | 'affiliationChanged'
  | 'superseded'
  | 'cessationOfOperation'
  | 'certificateHold'
  | 'removeFromCRL';

export interface OpensslResponderOptions {
  /** Attach this PKI right away (and, unless `port` is given, listen on the port of `pki.ocspUrl`). */
  pki?: TestPki;
  /** Port on 127.0.0.1. Default 0 (any), or the port of `pki.ocspUrl` when `pki` is given. */
  port?: number;
  /** Minutes until nextUpdate (`-nmin`, positive integer). Default 60. 0 = no nextUpdate (unless `ndays`). */
  nmin?: number;
  /** Days until nextUpdate (`-ndays`), added to `nmin`. Default none. */
  ndays?: number;
  /** Who signs: the CA's delegated OCSP signer (default) or the issuing CA itself. */
  signer?: 'delegate' | 'ca';
  /** Sign every response with this certificate (and its key) regardless of issuer, e.g. `pki.responderNoEku`. */
  rsigner?: IssuedCert;
  /** Extra `openssl ocsp` arguments, e.g. `['-badsig']`, `['-resp_no_certs']`, `['-resp_key_id']`. */
  extraArgs?: string[];
  /** HTTP methods to accept (others get HTTP 405). Default both. */
  methods?: ('GET' | 'POST')[];
  /** On attach, mark every CA-issued certificate of the PKI good. Default true. */
  markAllGood?: boolean;
}

export interface OpensslRequestLogEntry {
  method: string;
  /** Name of the CA the request was routed to (undefined if it could not be parsed). */
  issuer?: string;
  /** Requested serial numbers, lowercase hex. */
  serials: string[];
  httpStatus: number;
}

export interface OpensslResponder {
  /** `http://127.0.0.1:<port>` (no trailing slash); put it in the PKI's AIA. */
  readonly url: string;
  readonly port: number;
  /** Number of OCSP requests received (GET + POST, including refused ones). */
  readonly requests: number;
  readonly requestLog: readonly OpensslRequestLogEntry[];
  readonly pki: TestPki | undefined;
  /** Start answering for `pki` (its CAs, index files and signers). Only once. */
  attach(pki: TestPki): void;
  /** Mark `cert` revoked (index line `R`); effective on the next request. */
  revoke(cert: IssuedCert, opts?: { reason?: RevocationReason; time?: Date }): void;
  /** Mark `cert` good (index line `V`). */
  setGood(cert: IssuedCert): void;
  /** Forget `cert`: the responder answers `unknown` for it. */
  setUnknown(cert: IssuedCert): void;
  statusOf(cert: IssuedCert): 'good' | 'revoked' | 'unknown';
  /** Stop listening, wait for in-flight openssl runs, remove the work directory. */
  close(): Promise<void>;
}

/** OCSPResponse with only a responseStatus (RFC 6960 §4.2.1): malformedRequest(1), internalError(2), tryLater(3). */
const bareOcspResponse = (status: 1 | 2 | 3) => Buffer.from([0x30, 0x03, 0x0a, 0x01, status]);

const HASH_BY_OID: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** `Date` → index.txt time (UTCTime `YYMMDDHHMMSSZ` up to 2049, GeneralizedTime after). */
function indexTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const y = d.getUTCFullYear();
  const year = y < 2050 ? p(y % 100) : String(y);
  return `${year}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
}

/** BN_bn2hex style: uppercase, whole bytes, no leading zero bytes (how `openssl ocsp` looks serials up). */
function indexSerial(serialHex: string): string {
  let h = serialHex.toLowerCase();
  if (h.length % 2) h = `0${h}`;
  while (h.length > 2 && h.startsWith('00')) h = h.slice(2);
  return h.toUpperCase();
}

interface Entry {
  cert: IssuedCert;
  status: 'V' | 'R';
  revoked?: { time: Date; reason?: RevocationReason };
}

interface CaRoute {
  ca: IssuedCert;
  signer: IssuedCert;
  indexFile: string;
  keyHashes: Map<string, string>; // hash alg → hex of hash(subjectPublicKey)
  entries: Map<string, Entry>; // by index serial
}

/** Start the HTTP front on 127.0.0.1 (see the module comment for the attach order). */
export async function startOpensslResponder(opts: OpensslResponderOptions = {}): Promise<OpensslResponder> {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('startOpensslResponder: the openssl CLI is not available');
  }
  const nmin = opts.nmin ?? 60;
  if (!Number.isInteger(nmin) || nmin < 0) throw new Error('startOpensslResponder: nmin must be a non-negative integer');
  if (opts.ndays !== undefined && (!Number.isInteger(opts.ndays) || opts.ndays <= 0)) {
    throw new Error('startOpensslResponder: ndays must be a positive integer');
  }
  const methods = new Set(opts.methods ?? ['GET', 'POST']);
  let port = opts.port ?? 0;
  if (opts.port === undefined && opts.pki) {
    const u = new URL(opts.pki.ocspUrl);
    if (u.hostname === '127.0.0.1' && u.port) port = Number(u.port);
  }

  const workDir = mkdtempSync(join(tmpdir(), 'tsnats-openssl-ocsp-'));
  let pki: TestPki | undefined;
  const routes = new Map<string, CaRoute>(); // by CA name
  let requests = 0;
  let seq = 0;
  const requestLog: OpensslRequestLogEntry[] = [];
  const inflight = new Set<Promise<void>>();

  const routeOf = (cert: IssuedCert): CaRoute => {
    if (!pki) throw new Error('OpensslResponder: attach(pki) first');
    if (pki.get(cert.name) !== cert) throw new Error(`OpensslResponder: ${cert.name} is not part of the attached PKI`);
    ensureRoutes(pki);
    const r = cert.issuerName === cert.name ? undefined : routes.get(cert.issuerName);
    if (!r) throw new Error(`OpensslResponder: ${cert.name} is self-signed, not issued by a CA of the attached PKI`);
    return r;
  };

  const writeIndex = (r: CaRoute) => {
    const lines: string[] = [];
    for (const [serial, e] of r.entries) {
      const rev = e.status === 'R' && e.revoked ? indexTime(e.revoked.time) + (e.revoked.reason ? `,${e.revoked.reason}` : '') : '';
      lines.push([e.status, indexTime(e.cert.notAfter), rev, serial, 'unknown', e.cert.subjectOneline].join('\t'));
    }
    const tmp = `${r.indexFile}.tmp`;
    writeFileSync(tmp, lines.length ? `${lines.join('\n')}\n` : '');
    renameSync(tmp, r.indexFile); // atomic: a concurrent openssl run sees the old or the new file
  };

  const signerFor = (ca: IssuedCert, p: TestPki): IssuedCert => {
    if (opts.rsigner) return opts.rsigner;
    if (opts.signer === 'ca') return ca;
    if (ca.name === p.root.name) return p.responder;
    if (ca.name === p.intermediate.name) return p.intermediateResponder;
    return ca;
  };

  /** Add a route (index file + signer) for every CA of the PKI that has none yet (CAs may be issued after attach). */
  const ensureRoutes = (p: TestPki) => {
    for (const ca of p.all()) {
      if (!ca.isCA || routes.has(ca.name)) continue;
      const spk = Buffer.from(AsnConvert.parse(ca.der, Certificate).tbsCertificate.subjectPublicKeyInfo.subjectPublicKey);
      const keyHashes = new Map<string, string>();
      for (const alg of Object.values(HASH_BY_OID)) keyHashes.set(alg, createHash(alg).update(spk).digest('hex'));
      const route: CaRoute = { ca, signer: signerFor(ca, p), indexFile: join(workDir, `index-${ca.name}.txt`), keyHashes, entries: new Map() };
      routes.set(ca.name, route);
      writeIndex(route);
    }
  };

  const attach = (p: TestPki) => {
    if (pki) throw new Error('OpensslResponder: a PKI is already attached');
    pki = p;
    ensureRoutes(p);
    if (opts.markAllGood !== false) {
      for (const c of p.all()) {
        const r = routes.get(c.issuerName);
        if (r && c.issuerName !== c.name) r.entries.set(indexSerial(c.serialHex), { cert: c, status: 'V' });
      }
    }
    for (const r of routes.values()) writeIndex(r);
  };
  if (opts.pki) attach(opts.pki);

  /** CA route for a DER OCSPRequest (by the first CertID's issuerKeyHash), plus its serials. */
  const routeRequest = (der: Buffer): { route?: CaRoute; serials: string[] } => {
    const req = AsnConvert.parse(der, OCSPRequest);
    const list = req.tbsRequest.requestList;
    const serials = list.map((r) => Buffer.from(r.reqCert.serialNumber).toString('hex').replace(/^(00)+(?=..)/, ''));
    const first = list[0]?.reqCert;
    if (!first) return { serials };
    const alg = HASH_BY_OID[first.hashAlgorithm.algorithm];
    const keyHash = Buffer.from(first.issuerKeyHash.buffer).toString('hex');
    for (const r of routes.values()) if (alg && r.keyHashes.get(alg) === keyHash) return { route: r, serials };
    return { serials };
  };

  const answer = async (method: string, der: Buffer): Promise<{ status: number; body: Buffer; type: string; entry: OpensslRequestLogEntry }> => {
    const entry: OpensslRequestLogEntry = { method, serials: [], httpStatus: 200 };
    const ocsp = (body: Buffer) => ({ status: 200, body, type: 'application/ocsp-response', entry });
    if (!pki) return ocsp(bareOcspResponse(3));
    ensureRoutes(pki);
    let route: CaRoute | undefined;
    try {
      const r = routeRequest(der);
      entry.serials = r.serials;
      route = r.route;
    } catch {
      return ocsp(bareOcspResponse(1));
    }
    route ??= routes.get(pki.root.name)!; // unknown issuer: openssl answers "unknown"
    entry.issuer = route.ca.name;
    const n = ++seq;
    const reqFile = join(workDir, `req-${n}.der`);
    const respFile = join(workDir, `resp-${n}.der`);
    try {
      await writeFile(reqFile, der);
      const args = ['ocsp', '-index', route.indexFile, '-CA', route.ca.certFile, '-rsigner', route.signer.certFile];
      args.push('-rkey', route.signer.keyFile, '-reqin', reqFile, '-respout', respFile);
      if (nmin > 0) args.push('-nmin', String(nmin));
      if (opts.ndays !== undefined) args.push('-ndays', String(opts.ndays));
      args.push(...(opts.extraArgs ?? []));
      const res = await runOpenssl(args);
      const body = res.code === 0 ? await readFile(respFile).catch(() => undefined) : undefined;
      if (!body || body.length === 0) {
        entry.httpStatus = 500;
        return { status: 500, body: Buffer.from(`openssl ocsp failed (${res.code}): ${res.stderr}`), type: 'text/plain', entry };
      }
      return ocsp(body);
    } finally {
      await rm(reqFile, { force: true });
      await rm(respFile, { force: true });
    }
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const method = req.method ?? '';
    const reply = (status: number, body: Buffer | string, type = 'text/plain') => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (method !== 'GET' && method !== 'POST') return reply(405, 'method not allowed');
    requests++;
    if (!methods.has(method)) {
      requestLog.push({ method, serials: [], httpStatus: 405 });
      return reply(405, 'method not allowed');
    }
    let der: Buffer;
    if (method === 'POST') {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of req as AsyncIterable<Buffer>) {
        size += c.length;
        if (size > 64 * 1024) {
          requestLog.push({ method, serials: [], httpStatus: 413 });
          return reply(413, 'request too large');
        }
        chunks.push(c);
      }
      der = Buffer.concat(chunks);
    } else {
      // RFC 6960 A.1: GET {url}/{url-encoding of base64 of DER}; accept raw (unescaped) base64 too.
      const path = (req.url ?? '/').replace(/^\/+/, '');
      let b64: string;
      try {
        b64 = decodeURIComponent(path);
      } catch {
        b64 = path;
      }
      der = Buffer.from(b64, 'base64');
    }
    if (der.length === 0) {
      requestLog.push({ method, serials: [], httpStatus: 400 });
      return reply(400, 'empty OCSP request');
    }
    const a = await answer(method, der);
    requestLog.push(a.entry);
    reply(a.status, a.body, a.type);
  };

  const server = http.createServer((req, res) => {
    const p = handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(String(err));
      } else res.destroy();
    });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => {
      rmSync(workDir, { recursive: true, force: true });
      reject(e);
    });
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const boundPort = (server.address() as AddressInfo).port;
  let closed = false;

  const setEntry = (cert: IssuedCert, e: Omit<Entry, 'cert'> | undefined) => {
    const r = routeOf(cert);
    const serial = indexSerial(cert.serialHex);
    if (e) r.entries.set(serial, { cert, ...e });
    else r.entries.delete(serial);
    writeIndex(r);
  };

  return {
    url: `http://127.0.0.1:${boundPort}`,
    port: boundPort,
    get requests() {
      return requests;
    },
    requestLog,
    get pki() {
      return pki;
    },
    attach,
    revoke(cert, o = {}) {
      setEntry(cert, { status: 'R', revoked: { time: o.time ?? new Date(), ...(o.reason ? { reason: o.reason } : {}) } });
    },
    setGood(cert) {
      setEntry(cert, { status: 'V' });
    },
    setUnknown(cert) {
      setEntry(cert, undefined);
    },
    statusOf(cert) {
      const e = routeOf(cert).entries.get(indexSerial(cert.serialHex));
      return !e ? 'unknown' : e.status === 'V' ? 'good' : 'revoked';
    },
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.allSettled([...inflight]);
      await rm(workDir, { recursive: true, force: true });
    },
  };
}
