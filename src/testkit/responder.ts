/**
 * A programmable OCSP responder for tests and demos.
 *
 * It parses real OCSP requests (POST body, or the URL-encoded base64 of a GET path, raw base64 as
 * nats-server sends it also works), answers with responses signed by the issuer or by a delegated
 * responder certificate (embedded in the response), and can be told to misbehave in every way a
 * stapling engine must survive: HTTP errors, slow or silent servers, huge or garbage bodies,
 * non-successful OCSP statuses, wrong signers, wrong CertIDs, bad times and broken signatures.
 *
 *   const r = await startResponder({ issuer: pki.root });        // or start first, setIssuer() later
 *   r.setStatus(pki.serverRevoked.serialHex, 'revoked');
 *   r.setFault({ type: 'http-status', status: 503 });             // r.setFault(null) to heal
 *   r.requests.total; await r.close();
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync, sign as cryptoSign, constants, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString, BitString } from '@peculiar/asn1-schema';
import {
  CertID,
  CertStatus,
  KeyHash,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
  id_pkix_ocsp_basic,
} from '@peculiar/asn1-ocsp';
import { AlgorithmIdentifier, CRLReason, Certificate, Name } from '@peculiar/asn1-x509';
import { BasicResponseView, RsaPssParams, TbsCertificateView, toBuffer } from '../ocsp/asn1.js';
import { parseOcspRequest, HASH_OIDS, type CertIdValues } from '../ocsp/request.js';

export interface ResponderKeyPair {
  certPem: string;
  keyPem: string;
}

export type ResponderStatus = 'good' | 'revoked' | 'unknown';

export type OcspErrorStatusName = 'malformedRequest' | 'internalError' | 'tryLater' | 'sigRequired' | 'unauthorized';

/** Ways to misbehave. Parameterless ones may also be given as their `type` string. */
export type ResponderFault =
  /** Answer with this HTTP status (and a short text body). */
  | { type: 'http-status'; status: number }
  /** Answer normally after `ms`. */
  | { type: 'delay'; ms: number }
  /** Accept the request and never answer. */
  | { type: 'hang' }
  /** Send a valid response one byte per `intervalMs` (default 1000). */
  | { type: 'drip'; intervalMs?: number }
  /** 200 with random bytes. */
  | { type: 'garbage' }
  /** 200 with an HTML page (a captive portal or a proxy error page). */
  | { type: 'html' }
  /** 200 with the first half of a valid response. */
  | { type: 'truncated' }
  /** 200 with `bytes` (default 100 MiB) of zeros; `contentLength: true` announces the size. */
  | { type: 'huge'; bytes?: number; contentLength?: boolean }
  /** A non-successful OCSPResponseStatus (unsigned, no responseBytes). */
  | { type: 'ocsp-status'; status: OcspErrorStatusName }
  /** Sign with another certificate's key and embed that certificate (no EKU, other CA, ...). */
  | { type: 'wrong-signer'; signer: ResponderKeyPair; embed?: boolean }
  /** Sign with a throwaway key while claiming to be the normal signer. */
  | { type: 'wrong-key' }
  /** Answer for another serial number. */
  | { type: 'wrong-serial' }
  /** Answer with other issuer name/key hashes. */
  | { type: 'wrong-issuer' }
  /** Omit nextUpdate. */
  | { type: 'no-next-update' }
  /** thisUpdate `ms` (default 1 h) in the future. */
  | { type: 'future-this-update'; ms?: number }
  /** thisUpdate 2 h ago, nextUpdate 1 h ago. */
  | { type: 'expired' }
  /** Flip a bit of the signature. */
  | { type: 'bad-signature' }
  /** Refuse POST (HTTP 400). */
  | { type: 'only-get' }
  /** Refuse GET (HTTP 400). */
  | { type: 'only-post' }
  /** 302 to `location`. */
  | { type: 'redirect'; location: string };

/** Faults without required parameters, accepted as plain strings by setFault. */
export type ResponderFaultName =
  | 'hang'
  | 'drip'
  | 'garbage'
  | 'html'
  | 'truncated'
  | 'huge'
  | 'wrong-key'
  | 'wrong-serial'
  | 'wrong-issuer'
  | 'no-next-update'
  | 'future-this-update'
  | 'expired'
  | 'bad-signature'
  | 'only-get'
  | 'only-post';

export interface StartResponderOptions {
  /** The CA whose certificates this responder answers for (may be set later with setIssuer). */
  issuer?: ResponderKeyPair;
  /** Delegated responder certificate + key (EKU OCSPSigning, issued by `issuer`). */
  signer?: ResponderKeyPair;
  /** Embed the signer's certificate in responses. Default true when a delegated signer is used. */
  embedSigner?: boolean;
  /** ResponderID by key hash instead of by name. Default false. */
  responderIdByKey?: boolean;
  /** RSA keys: sign with RSASSA-PSS (SHA-256) instead of PKCS#1 v1.5. Default false. */
  rsaPss?: boolean;
  /** Status of serials not set with setStatus. Default 'good'. */
  defaultStatus?: ResponderStatus;
  host?: string;
  port?: number;
  /** Clock for thisUpdate/nextUpdate/producedAt. Default Date.now. */
  now?: () => number;
}

export interface ResponderRequests {
  total: number;
  post: number;
  get: number;
  /** Requests per serial (lowercase hex without leading zeros). */
  bySerial: Record<string, number>;
}

export interface TestResponder {
  url: string;
  port: number;
  setIssuer(issuer: ResponderKeyPair, signer?: ResponderKeyPair | null): void;
  setSigner(signer: ResponderKeyPair | null, embed?: boolean): void;
  setStatus(serialHex: string, status: ResponderStatus, revocation?: { time?: Date; reason?: number }): void;
  setDefault(status: ResponderStatus): void;
  /** thisUpdate = now + thisUpdateOffsetMs (default 0); nextUpdate = thisUpdate + nextUpdateMs (default 1 h; null = omitted). */
  setValidity(v: { thisUpdateOffsetMs?: number; nextUpdateMs?: number | null }): void;
  setFault(fault: ResponderFault | ResponderFaultName | null): void;
  readonly requests: ResponderRequests;
  resetRequests(): void;
  close(): Promise<void>;
}

interface Signer {
  cert: X509Certificate;
  der: Buffer;
  key: KeyObject;
  subjectDer: Buffer;
  spkBits: Buffer;
}

function loadSigner(kp: ResponderKeyPair): Signer {
  const cert = new X509Certificate(kp.certPem);
  const der = cert.raw;
  const asn = AsnConvert.parse(der, Certificate);
  const view = AsnConvert.parse((asn as Certificate & { tbsCertificateRaw: ArrayBuffer }).tbsCertificateRaw, TbsCertificateView);
  return {
    cert,
    der,
    key: createPrivateKey(kp.keyPem),
    subjectDer: toBuffer(view.subject),
    spkBits: toBuffer(asn.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey),
  };
}

export function normalizeSerialHex(hex: string): string {
  return hex.toLowerCase().replace(/[^0-9a-f]/g, '').replace(/^0+(?=.)/, '');
}

const OCSP_ERROR_STATUS: Record<OcspErrorStatusName, OCSPResponseStatus> = {
  malformedRequest: OCSPResponseStatus.malformedRequest,
  internalError: OCSPResponseStatus.internalError,
  tryLater: OCSPResponseStatus.tryLater,
  sigRequired: OCSPResponseStatus.sigRequired,
  unauthorized: OCSPResponseStatus.unauthorized,
};

function signWith(key: KeyObject, data: Buffer, rsaPss: boolean): { alg: AlgorithmIdentifier; sig: Buffer } {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') {
    if (rsaPss) {
      const sha256 = new AlgorithmIdentifier({ algorithm: HASH_OIDS.sha256, parameters: null });
      const params = new RsaPssParams();
      params.hashAlgorithm = sha256;
      params.maskGenAlgorithm = new AlgorithmIdentifier({
        algorithm: '1.2.840.113549.1.1.8',
        parameters: AsnConvert.serialize(sha256),
      });
      params.saltLength = 32;
      return {
        alg: new AlgorithmIdentifier({ algorithm: '1.2.840.113549.1.1.10', parameters: AsnConvert.serialize(params) }),
        sig: cryptoSign('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
      };
    }
    return {
      alg: new AlgorithmIdentifier({ algorithm: '1.2.840.113549.1.1.11', parameters: null }),
      sig: cryptoSign('sha256', data, key),
    };
  }
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const [hash, oid] =
      curve === 'secp384r1' ? ['sha384', '1.2.840.10045.4.3.3'] : curve === 'secp521r1' ? ['sha512', '1.2.840.10045.4.3.4'] : ['sha256', '1.2.840.10045.4.3.2'];
    return { alg: new AlgorithmIdentifier({ algorithm: oid }), sig: cryptoSign(hash, data, { key, dsaEncoding: 'der' }) };
  }
  if (type === 'ed25519') return { alg: new AlgorithmIdentifier({ algorithm: '1.3.101.112' }), sig: cryptoSign(null, data, key) };
  throw new Error(`test responder: unsupported key type ${type}`);
}

function toAb(b: Buffer): ArrayBuffer {
  const out = new ArrayBuffer(b.length);
  new Uint8Array(out).set(b);
  return out;
}

function errorResponse(status: OCSPResponseStatus): Buffer {
  return toBuffer(AsnConvert.serialize(new OCSPResponse({ responseStatus: status })));
}

export async function startResponder(opts: StartResponderOptions = {}): Promise<TestResponder> {
  const now = opts.now ?? Date.now;
  let issuer: Signer | undefined = opts.issuer ? loadSigner(opts.issuer) : undefined;
  let delegate: Signer | undefined = opts.signer ? loadSigner(opts.signer) : undefined;
  let embedSigner = opts.embedSigner ?? true;
  let defaultStatus: ResponderStatus = opts.defaultStatus ?? 'good';
  const statuses = new Map<string, { status: ResponderStatus; time?: Date; reason?: number }>();
  let validity = { thisUpdateOffsetMs: 0, nextUpdateMs: 3_600_000 as number | null };
  let fault: ResponderFault | null = null;
  const requests: ResponderRequests = { total: 0, post: 0, get: 0, bySerial: {} };
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  function buildResponse(ids: CertIdValues[]): Buffer {
    if (!issuer) return errorResponse(OCSPResponseStatus.unauthorized);
    const f = fault;
    const t = Math.floor(now() / 1000) * 1000;
    let thisUpdate = t + Math.round(validity.thisUpdateOffsetMs / 1000) * 1000;
    let nextUpdate: number | undefined = validity.nextUpdateMs === null ? undefined : thisUpdate + validity.nextUpdateMs;
    if (f?.type === 'no-next-update') nextUpdate = undefined;
    if (f?.type === 'future-this-update') {
      thisUpdate = t + (f.ms ?? 3_600_000);
      nextUpdate = thisUpdate + (validity.nextUpdateMs ?? 3_600_000);
    }
    if (f?.type === 'expired') {
      thisUpdate = t - 2 * 3_600_000;
      nextUpdate = t - 3_600_000;
    }
    let signer: Signer = delegate ?? issuer;
    let embed = delegate !== undefined && embedSigner;
    if (f?.type === 'wrong-signer') {
      signer = loadSigner(f.signer);
      embed = f.embed ?? true;
    }
    const responses = ids.map((id) => {
      const serialHex = normalizeSerialHex(id.serial.toString('hex'));
      const nameHash = createHash(id.hash).update(issuer!.subjectDer).digest();
      const keyHash = createHash(id.hash).update(issuer!.spkBits).digest();
      const ours = nameHash.equals(id.issuerNameHash) && keyHash.equals(id.issuerKeyHash);
      const entry = statuses.get(serialHex);
      const status: ResponderStatus = !ours ? 'unknown' : (entry?.status ?? defaultStatus);
      let serial = id.serial;
      let inh = id.issuerNameHash;
      let ikh = id.issuerKeyHash;
      if (f?.type === 'wrong-serial') {
        serial = Buffer.from(serial);
        serial[serial.length - 1] = (serial[serial.length - 1]! ^ 0x01) & 0xff;
      }
      if (f?.type === 'wrong-issuer') {
        inh = Buffer.from(inh);
        inh[0] = inh[0]! ^ 0xff;
        ikh = Buffer.from(ikh);
        ikh[0] = ikh[0]! ^ 0xff;
      }
      const certStatus =
        status === 'good'
          ? new CertStatus({ good: null })
          : status === 'revoked'
            ? new CertStatus({
                revoked: new RevokedInfo({
                  revocationTime: new Date(Math.floor((entry?.time?.getTime() ?? t - 60_000) / 1000) * 1000),
                  ...(entry?.reason !== undefined ? { revocationReason: new CRLReason(entry.reason) } : {}),
                }),
              })
            : new CertStatus({ unknown: null });
      return new SingleResponse({
        certID: new CertID({
          hashAlgorithm: new AlgorithmIdentifier({ algorithm: HASH_OIDS[id.hash], parameters: null }),
          issuerNameHash: new OctetString(inh),
          issuerKeyHash: new OctetString(ikh),
          serialNumber: toAb(serial),
        }),
        certStatus,
        thisUpdate: new Date(thisUpdate),
        ...(nextUpdate !== undefined ? { nextUpdate: new Date(nextUpdate) } : {}),
      });
    });
    const responderID = opts.responderIdByKey
      ? new ResponderID({ byKey: new KeyHash(createHash('sha1').update(signer.spkBits).digest()) })
      : new ResponderID({ byName: AsnConvert.parse(signer.subjectDer, Name) });
    const data = new ResponseData({ responderID, producedAt: new Date(t), responses });
    const tbs = toBuffer(AsnConvert.serialize(data));
    let key = signer.key;
    if (f?.type === 'wrong-key') {
      // Same algorithm family as the claimed signer, so only the signature itself is wrong.
      key =
        signer.key.asymmetricKeyType === 'rsa'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
          : signer.key.asymmetricKeyType === 'ed25519'
            ? generateKeyPairSync('ed25519').privateKey
            : generateKeyPairSync('ec', { namedCurve: signer.key.asymmetricKeyDetails?.namedCurve ?? 'prime256v1' }).privateKey;
    }
    const { alg, sig } = signWith(key, tbs, opts.rsaPss === true);
    if (f?.type === 'bad-signature') sig[sig.length >> 1] = sig[sig.length >> 1]! ^ 0x01;
    const basic = new BasicResponseView();
    basic.tbsResponseData = toAb(tbs);
    basic.signatureAlgorithm = alg;
    basic.signature = new BitString(sig);
    if (embed) basic.certs = [toAb(signer.der)];
    const outer = new OCSPResponse({
      responseStatus: OCSPResponseStatus.successful,
      responseBytes: new ResponseBytes({
        responseType: id_pkix_ocsp_basic,
        response: new OctetString(toBuffer(AsnConvert.serialize(basic))),
      }),
    });
    return toBuffer(AsnConvert.serialize(outer));
  }

  function later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  }

  function send(res: http.ServerResponse, body: Buffer, contentType = 'application/ocsp-response'): void {
    if (res.destroyed) return;
    res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': body.length });
    res.end(body);
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const f = fault;
    const method = req.method ?? '';
    requests.total++;
    if (method === 'POST') requests.post++;
    else if (method === 'GET') requests.get++;
    let der: Buffer | undefined;
    if (method === 'POST') der = body;
    else if (method === 'GET') {
      const path = (req.url ?? '/').replace(/^\/+/, '');
      try {
        der = Buffer.from(decodeURIComponent(path), 'base64');
      } catch {
        der = undefined;
      }
    }
    let ids: CertIdValues[] | undefined;
    try {
      if (der && der.length > 0) ids = parseOcspRequest(der);
    } catch {
      ids = undefined;
    }
    for (const id of ids ?? []) {
      const k = normalizeSerialHex(id.serial.toString('hex'));
      requests.bySerial[k] = (requests.bySerial[k] ?? 0) + 1;
    }
    if ((f?.type === 'only-get' && method === 'POST') || (f?.type === 'only-post' && method === 'GET')) {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end('method not allowed here\n');
      return;
    }
    if (method !== 'POST' && method !== 'GET') {
      res.writeHead(405, { Allow: 'GET, POST' });
      res.end();
      return;
    }
    if (f?.type === 'http-status') {
      res.writeHead(f.status, { 'Content-Type': 'text/plain' });
      res.end(`status ${f.status}\n`);
      return;
    }
    if (f?.type === 'redirect') {
      res.writeHead(302, { Location: f.location });
      res.end();
      return;
    }
    if (f?.type === 'hang') return; // never answer
    if (f?.type === 'html') {
      send(res, Buffer.from('<!DOCTYPE html><html><body><h1>Service temporarily unavailable</h1></body></html>\n'), 'text/html');
      return;
    }
    if (f?.type === 'garbage') {
      const g = Buffer.alloc(200);
      for (let i = 0; i < g.length; i++) g[i] = (i * 131 + 17) & 0xff;
      send(res, g);
      return;
    }
    if (f?.type === 'huge') {
      const total = f.bytes ?? 100 * 1024 * 1024;
      const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/ocsp-response' };
      if (f.contentLength) headers['Content-Length'] = total;
      res.writeHead(200, headers);
      const chunk = Buffer.alloc(64 * 1024);
      let sent = 0;
      const pump = (): void => {
        while (sent < total && !res.destroyed) {
          const n = Math.min(chunk.length, total - sent);
          sent += n;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
            res.once('drain', pump);
            return;
          }
        }
        if (!res.destroyed) res.end();
      };
      pump();
      return;
    }
    if (f?.type === 'ocsp-status') {
      send(res, errorResponse(OCSP_ERROR_STATUS[f.status]));
      return;
    }
    if (!ids || ids.length === 0) {
      send(res, errorResponse(OCSPResponseStatus.malformedRequest));
      return;
    }
    const respond = (): void => {
      if (res.destroyed) return;
      let out: Buffer;
      try {
        out = buildResponse(ids!);
      } catch {
        send(res, errorResponse(OCSPResponseStatus.internalError));
        return;
      }
      const cf = fault;
      if (cf?.type === 'truncated') {
        send(res, out.subarray(0, out.length >> 1));
        return;
      }
      if (cf?.type === 'drip') {
        res.writeHead(200, { 'Content-Type': 'application/ocsp-response', 'Content-Length': out.length });
        let i = 0;
        const step = (): void => {
          if (res.destroyed) return;
          res.write(out.subarray(i, i + 1));
          i++;
          if (i >= out.length) res.end();
          else later(step, cf.intervalMs ?? 1000);
        };
        step();
        return;
      }
      send(res, out);
    };
    if (f?.type === 'delay') later(respond, f.ms);
    else respond();
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) {
        res.writeHead(413);
        res.end();
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    setIssuer(i, s) {
      issuer = loadSigner(i);
      if (s !== undefined) delegate = s ? loadSigner(s) : undefined;
    },
    setSigner(s, embed) {
      delegate = s ? loadSigner(s) : undefined;
      if (embed !== undefined) embedSigner = embed;
    },
    setStatus(serialHex, status, revocation) {
      statuses.set(normalizeSerialHex(serialHex), { status, time: revocation?.time, reason: revocation?.reason });
    },
    setDefault(status) {
      defaultStatus = status;
    },
    setValidity(v) {
      validity = {
        thisUpdateOffsetMs: v.thisUpdateOffsetMs ?? 0,
        nextUpdateMs: v.nextUpdateMs === undefined ? 3_600_000 : v.nextUpdateMs,
      };
    },
    setFault(f) {
      fault = f === null ? null : typeof f === 'string' ? ({ type: f } as ResponderFault) : f;
    },
    requests,
    resetRequests() {
      requests.total = 0;
      requests.post = 0;
      requests.get = 0;
      requests.bySerial = {};
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
