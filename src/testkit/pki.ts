/**
 * Throwaway PKI for OCSP stapling tests and demos.
 *
 * Generates a small certificate hierarchy in pure JavaScript (`@peculiar/x509` + Node's WebCrypto;
 * no `openssl` binary needed) and writes every certificate, key and bundle under one directory:
 *
 *   root ──┬─ responder              delegated OCSP signer (EKU OCSPSigning + id-pkix-ocsp-nocheck)
 *          ├─ responderNoEku         signs nothing legitimately: no OCSPSigning EKU
 *          ├─ serverMustStaple       serverAuth, Must-Staple, AIA OCSP
 *          ├─ server                 serverAuth, AIA OCSP
 *          ├─ serverMustStapleNoAia  serverAuth, Must-Staple
 *          ├─ serverNoAia            serverAuth
 *          ├─ serverRevoked          serverAuth, Must-Staple, AIA OCSP (tests mark it revoked)
 *          ├─ client                 clientAuth, CN=client, email SAN, AIA OCSP
 *          └─ intermediate (CA) ─┬─ serverViaIntermediate   Must-Staple, AIA OCSP
 *                                └─ intermediateResponder   delegated OCSP signer of the intermediate
 *   otherRoot                     an unrelated self-signed CA
 *
 * Files for a certificate called `name`: `<dir>/<name>.pem` (certificate), `<dir>/<name>-key.pem`
 * (PKCS#8 key, mode 0600) and `<dir>/<name>-bundle.pem` (certificate + its issuer, the nats-server
 * `cert_file` bundle style; a self-signed CA's bundle is just itself).
 *
 * Defaults: EC P-256 keys (RSA 2048 on request), SHA-256 signatures, 16-byte random positive
 * serial numbers, validity now − 1 h … now + 1 day.
 *
 * Usage:
 *   const pki = await createTestPki({ ocspUrl: 'http://127.0.0.1:8888' });
 *   tls.createServer({ cert: pki.serverMustStaple.certPem, key: pki.serverMustStaple.keyPem });
 *   const extra = await pki.issue('another', { mustStaple: true });
 *   await pki.cleanup();
 */
import { webcrypto, createHash } from 'node:crypto';
import { mkdtemp, mkdir, writeFile, chmod, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @peculiar/x509 uses tsyringe, which needs the Reflect metadata API loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

const crypto = webcrypto;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export interface IssuedCert {
  /** Name given at issue time; also the file name stem. */
  name: string;
  /** Subject DN as given (RFC 4514 style, e.g. `CN=client`). */
  subject: string;
  /** Serial number: lowercase hex of the DER INTEGER content (always positive, 16 bytes, no padding byte needed). */
  serialHex: string;
  certPem: string;
  /** PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  keyPem: string;
  /** DER of the certificate. */
  der: Buffer;
  certFile: string;
  keyFile: string;
  /** Certificate + issuer certificate (for a self-signed CA: the certificate alone). */
  bundleFile: string;
  // --- extensions to the original interface ---
  /** `name` of the issuing certificate (its own name for a self-signed CA). */
  issuerName: string;
  /** Issuer DN as given (equals `subject` for a self-signed CA). */
  issuerSubject: string;
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  keyType: 'ec' | 'rsa';
  /** The same DN in OpenSSL's one-line form (`/CN=client`), as used in `index.txt`. */
  subjectOneline: string;
}

export interface IssueOptions {
  /** Issuing CA. Default: the PKI's root. Ignored when `selfSigned`. */
  issuer?: IssuedCert;
  /** Add the TLS Feature extension `status_request` (OCSP Must-Staple). Default false. */
  mustStaple?: boolean;
  /**
   * OCSP responder URLs for the Authority Information Access extension. Default: `[pki.ocspUrl]`
   * for every certificate that is not self-signed; `[]` omits the extension.
   */
  ocspUrls?: string[];
  /** Extended key usages. Default: `['serverAuth', 'clientAuth']` for end-entity certs, none for CAs. */
  eku?: ('serverAuth' | 'clientAuth' | 'ocspSigning')[];
  /** Make a CA certificate (basicConstraints CA:TRUE, keyCertSign + cRLSign). Default false. */
  ca?: boolean;
  /**
   * SAN entries. If none of dnsNames/ips/emails is given for an end-entity cert, the SAN is
   * `DNS:localhost, IP:127.0.0.1`. An explicitly empty list stays empty.
   */
  dnsNames?: string[];
  ips?: string[];
  emails?: string[];
  /** Default now − 1 hour. */
  notBefore?: Date;
  /** Default now + 1 day. */
  notAfter?: Date;
  /** Default: the PKI's key type (EC P-256 unless the PKI was created with `keyType: 'rsa'`). */
  keyType?: 'ec' | 'rsa';
  /** Add id-pkix-ocsp-nocheck. Default: true iff `eku` contains `ocspSigning`. */
  ocspNoCheck?: boolean;
  /** Subject DN (RFC 4514 style). Default `CN=<name>, O=tsnats testkit`. */
  subject?: string;
  // --- extensions to the original interface ---
  /** Create a new self-signed CA (implies `ca: true`, no AIA). Default false. */
  selfSigned?: boolean;
  /** basicConstraints pathLenConstraint for CAs. Default: unlimited. */
  pathLength?: number;
}

export interface TestPki {
  dir: string;
  /** Baked into the AIA extension of the certificates that have one. */
  ocspUrl: string;
  /** Self-signed CA (CA:TRUE, keyCertSign, cRLSign). */
  root: IssuedCert;
  /** Path of the root certificate PEM. */
  caFile: string;
  /** Delegated OCSP signer issued by root: EKU id-kp-OCSPSigning, id-pkix-ocsp-nocheck. */
  responder: IssuedCert;
  /** Issued by root, EKU clientAuth only (no OCSPSigning): must be refused as an OCSP signer. */
  responderNoEku: IssuedCert;
  /** serverAuth, SAN localhost + 127.0.0.1, Must-Staple, AIA OCSP. */
  serverMustStaple: IssuedCert;
  /** serverAuth with AIA, no Must-Staple. */
  server: IssuedCert;
  serverMustStapleNoAia: IssuedCert;
  serverNoAia: IssuedCert;
  /** Must-Staple + AIA; meant to be marked revoked by tests. */
  serverRevoked: IssuedCert;
  /** clientAuth, subject exactly `CN=client`, email SAN client@example.com, AIA OCSP. */
  client: IssuedCert;
  /** CA issued by root, with AIA OCSP (so peer checks can query its status). */
  intermediate: IssuedCert;
  /** Must-Staple + AIA, issued by intermediate; bundleFile = leaf + intermediate. */
  serverViaIntermediate: IssuedCert;
  /** Delegated OCSP signer issued by the intermediate (EKU OCSPSigning + nocheck). */
  intermediateResponder: IssuedCert;
  /** An unrelated self-signed CA. */
  otherRoot: IssuedCert;
  /** Issue another certificate (end-entity by default, issued by root). Names must be unique. */
  issue(name: string, opts?: IssueOptions): Promise<IssuedCert>;
  /** Every certificate issued so far, in issue order. */
  all(): IssuedCert[];
  /** Look a certificate up by name. */
  get(name: string): IssuedCert | undefined;
  /** The issuer of `cert` (itself for a self-signed CA). */
  issuerOf(cert: IssuedCert): IssuedCert;
  /** Removes `dir` recursively. */
  cleanup(): Promise<void>;
}

export interface CreateTestPkiOptions {
  ocspUrl: string;
  /** Directory for the files; created if missing. Default: a fresh `mkdtemp` under the OS temp dir. */
  dir?: string;
  /** Default 'ec' (P-256). */
  keyType?: 'ec' | 'rsa';
}

// ---------------------------------------------------------------------------------------------
// Small helpers (also used by the OCSP code and tests)
// ---------------------------------------------------------------------------------------------

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** DER of the first PEM block in `pem` (any label). Throws if there is none. */
export function pemToDer(pem: string): Buffer {
  const all = pemToDerAll(pem);
  if (all.length === 0) throw new Error('pemToDer: no PEM block found');
  return all[0]!;
}

/** DER of every PEM block in `pem`, in order. */
export function pemToDerAll(pem: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of pem.matchAll(PEM_RE)) out.push(Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64'));
  return out;
}

/** PEM-encode `der` with the given label (default `CERTIFICATE`), 64-column lines, trailing newline. */
export function derToPem(der: Uint8Array | ArrayBuffer, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Lowercase hex SHA-256 of `der`. */
export function sha256Hex(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// OIDs and fixed extension encodings
// ---------------------------------------------------------------------------------------------

/** id-pe-tlsfeature (RFC 7633). */
export const OID_TLS_FEATURE = '1.3.6.1.5.5.7.1.24';
/** id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1). */
export const OID_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';
/** TLS Feature value `SEQUENCE { INTEGER 5 }` (status_request), i.e. Must-Staple. */
const TLS_FEATURE_STATUS_REQUEST = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05]);
/** ASN.1 NULL, the value of id-pkix-ocsp-nocheck. */
const ASN1_NULL = new Uint8Array([0x05, 0x00]);

const EKU_OIDS = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
} as const;

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

interface Internal {
  cert: IssuedCert;
  keys: CryptoKeyPair;
  x: x509.X509Certificate;
}

async function generateKeys(keyType: 'ec' | 'rsa'): Promise<CryptoKeyPair> {
  if (keyType === 'rsa') {
    return (await crypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
  }
  return (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** 16 random bytes whose first byte is 0x01..0x7f: positive, minimal DER, exactly 16 content bytes. */
function randomSerialHex(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[0] = b[0]! & 0x7f || 0x01;
  return Buffer.from(b).toString('hex');
}

/** `CN=a, O=b` → `/CN=a/O=b` (OpenSSL `X509_NAME_oneline` style, as in a CA `index.txt`). */
function onelineOf(name: x509.Name): string {
  const parts: string[] = [];
  for (const rdn of name.toJSON()) {
    for (const [type, values] of Object.entries(rdn)) {
      for (const v of values) parts.push(`/${type}=${v.replace(/\//g, '\\/')}`);
    }
  }
  return parts.join('');
}

class Pki implements TestPki {
  readonly dir: string;
  readonly ocspUrl: string;
  private readonly keyType: 'ec' | 'rsa';
  private readonly byName = new Map<string, Internal>();
  private readonly pending = new Set<string>();

  // Filled in by init(); definite-assignment asserted because createTestPki() awaits init().
  root!: IssuedCert;
  caFile!: string;
  responder!: IssuedCert;
  responderNoEku!: IssuedCert;
  serverMustStaple!: IssuedCert;
  server!: IssuedCert;
  serverMustStapleNoAia!: IssuedCert;
  serverNoAia!: IssuedCert;
  serverRevoked!: IssuedCert;
  client!: IssuedCert;
  intermediate!: IssuedCert;
  serverViaIntermediate!: IssuedCert;
  intermediateResponder!: IssuedCert;
  otherRoot!: IssuedCert;

  constructor(dir: string, ocspUrl: string, keyType: 'ec' | 'rsa') {
    this.dir = dir;
    this.ocspUrl = ocspUrl;
    this.keyType = keyType;
  }

  async init(): Promise<void> {
    const noAia: string[] = [];
    [this.root, this.otherRoot] = await Promise.all([
      this.issue('root', { selfSigned: true, subject: 'CN=tsnats testkit root CA, O=tsnats testkit' }),
      this.issue('otherRoot', { selfSigned: true, subject: 'CN=tsnats testkit other root CA, O=tsnats testkit' }),
    ]);
    this.caFile = this.root.certFile;
    const root = this.root;
    [
      this.responder,
      this.responderNoEku,
      this.serverMustStaple,
      this.server,
      this.serverMustStapleNoAia,
      this.serverNoAia,
      this.serverRevoked,
      this.client,
      this.intermediate,
    ] = await Promise.all([
      this.issue('responder', { issuer: root, eku: ['ocspSigning'], ocspNoCheck: true, ocspUrls: noAia, dnsNames: [], ips: [] }),
      this.issue('responderNoEku', { issuer: root, eku: ['clientAuth'], ocspNoCheck: false, ocspUrls: noAia, dnsNames: [], ips: [] }),
      this.issue('serverMustStaple', { issuer: root, eku: ['serverAuth'], mustStaple: true }),
      this.issue('server', { issuer: root, eku: ['serverAuth'] }),
      this.issue('serverMustStapleNoAia', { issuer: root, eku: ['serverAuth'], mustStaple: true, ocspUrls: noAia }),
      this.issue('serverNoAia', { issuer: root, eku: ['serverAuth'], ocspUrls: noAia }),
      this.issue('serverRevoked', { issuer: root, eku: ['serverAuth'], mustStaple: true }),
      this.issue('client', { issuer: root, eku: ['clientAuth'], subject: 'CN=client', emails: ['client@example.com'] }),
      this.issue('intermediate', { issuer: root, ca: true, subject: 'CN=tsnats testkit intermediate CA, O=tsnats testkit' }),
    ]);
    [this.serverViaIntermediate, this.intermediateResponder] = await Promise.all([
      this.issue('serverViaIntermediate', { issuer: this.intermediate, eku: ['serverAuth'], mustStaple: true }),
      this.issue('intermediateResponder', {
        issuer: this.intermediate,
        eku: ['ocspSigning'],
        ocspNoCheck: true,
        ocspUrls: noAia,
        dnsNames: [],
        ips: [],
      }),
    ]);
  }

  all(): IssuedCert[] {
    return [...this.byName.values()].map((i) => i.cert);
  }

  get(name: string): IssuedCert | undefined {
    return this.byName.get(name)?.cert;
  }

  issuerOf(cert: IssuedCert): IssuedCert {
    const i = this.byName.get(cert.issuerName);
    if (!i) throw new Error(`issuer ${cert.issuerName} of ${cert.name} is not part of this PKI`);
    return i.cert;
  }

  async issue(name: string, opts: IssueOptions = {}): Promise<IssuedCert> {
    if (!NAME_RE.test(name)) throw new Error(`invalid certificate name ${JSON.stringify(name)}: use [A-Za-z0-9._-]`);
    if (this.byName.has(name) || this.pending.has(name)) throw new Error(`certificate name ${JSON.stringify(name)} already used`);
    this.pending.add(name);
    try {
      const internal = await this.generate(name, opts);
      this.byName.set(name, internal);
      return internal.cert;
    } finally {
      this.pending.delete(name);
    }
  }

  async cleanup(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  private async generate(name: string, opts: IssueOptions): Promise<Internal> {
    const selfSigned = opts.selfSigned === true;
    const isCA = selfSigned || opts.ca === true;
    const keyType = opts.keyType ?? this.keyType;
    let issuer: Internal | undefined;
    if (!selfSigned) {
      const want = opts.issuer ?? this.root;
      if (!want) throw new Error('issue: no issuer (the PKI root is not created yet)');
      issuer = this.byName.get(want.name);
      if (!issuer || issuer.cert !== want) throw new Error(`issue: issuer ${want.name} is not part of this PKI`);
      if (!issuer.cert.isCA) throw new Error(`issue: issuer ${want.name} is not a CA`);
    }
    const subject = opts.subject ?? `CN=${name}, O=tsnats testkit`;
    const now = Date.now();
    const notBefore = opts.notBefore ?? new Date(now - HOUR);
    const notAfter = opts.notAfter ?? new Date(now + DAY);
    const eku = opts.eku ?? (isCA ? [] : ['serverAuth', 'clientAuth']);
    const ocspUrls = opts.ocspUrls ?? (selfSigned ? [] : [this.ocspUrl]);
    const ocspNoCheck = opts.ocspNoCheck ?? eku.includes('ocspSigning');
    const sanGiven = opts.dnsNames !== undefined || opts.ips !== undefined || opts.emails !== undefined;
    const dnsNames = opts.dnsNames ?? (sanGiven || isCA ? [] : ['localhost']);
    const ips = opts.ips ?? (sanGiven || isCA ? [] : ['127.0.0.1']);
    const emails = opts.emails ?? [];

    const keys = await generateKeys(keyType);
    const signingKey = selfSigned ? keys.privateKey : issuer!.keys.privateKey;
    const issuerPublicKey = selfSigned ? keys.publicKey : issuer!.keys.publicKey;

    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(isCA, isCA ? opts.pathLength : undefined, true),
      new x509.KeyUsagesExtension(
        isCA
          ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature
          : keyType === 'rsa'
            ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
            : x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
    ];
    if (!selfSigned) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuerPublicKey, false, crypto));
    if (eku.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(eku.map((e) => EKU_OIDS[e]), false));
    const san = [
      ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
      ...ips.map((value) => ({ type: 'ip' as const, value })),
      ...emails.map((value) => ({ type: 'email' as const, value })),
    ];
    if (san.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(san, false));
    if (ocspUrls.length > 0) {
      extensions.push(new x509.AuthorityInfoAccessExtension({ ocsp: [...ocspUrls] }, false));
    }
    if (opts.mustStaple) extensions.push(new x509.Extension(OID_TLS_FEATURE, false, TLS_FEATURE_STATUS_REQUEST));
    if (ocspNoCheck) extensions.push(new x509.Extension(OID_OCSP_NOCHECK, false, ASN1_NULL));

    const serialHex = randomSerialHex();
    const issuerSubject = selfSigned ? subject : issuer!.cert.subject;
    const x = await x509.X509CertificateGenerator.create(
      {
        serialNumber: serialHex,
        subject,
        issuer: selfSigned ? subject : issuer!.x.subjectName,
        notBefore,
        notAfter,
        publicKey: keys.publicKey,
        signingKey,
        extensions,
      },
      crypto,
    );

    const der = Buffer.from(x.rawData);
    const certPem = derToPem(der);
    const keyPem = derToPem(await crypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
    const certFile = join(this.dir, `${name}.pem`);
    const keyFile = join(this.dir, `${name}-key.pem`);
    const bundleFile = join(this.dir, `${name}-bundle.pem`);
    await writeFile(certFile, certPem);
    await writeFile(keyFile, keyPem, { mode: 0o600 });
    await chmod(keyFile, 0o600);
    await writeFile(bundleFile, selfSigned ? certPem : certPem + issuer!.cert.certPem);

    const cert: IssuedCert = {
      name,
      subject,
      serialHex: x.serialNumber.toLowerCase(),
      certPem,
      keyPem,
      der,
      certFile,
      keyFile,
      bundleFile,
      issuerName: selfSigned ? name : issuer!.cert.name,
      issuerSubject,
      notBefore: x.notBefore,
      notAfter: x.notAfter,
      isCA,
      keyType,
      subjectOneline: onelineOf(x.subjectName),
    };
    return { cert, keys, x };
  }
}

/**
 * Create the standard test PKI (see the module comment). `ocspUrl` goes into the AIA extension of
 * the certificates that have one, so the responder's address must be known first (start its HTTP
 * front, then create the PKI, then attach the PKI to the responder).
 */
export async function createTestPki(opts: CreateTestPkiOptions): Promise<TestPki> {
  if (!opts || typeof opts.ocspUrl !== 'string' || opts.ocspUrl === '') throw new Error('createTestPki: ocspUrl is required');
  let dir: string;
  if (opts.dir) {
    dir = opts.dir;
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } else {
    dir = await mkdtemp(join(tmpdir(), 'tsnats-pki-'));
  }
  const pki = new Pki(dir, opts.ocspUrl, opts.keyType ?? 'ec');
  try {
    await pki.init();
  } catch (err) {
    if (!opts.dir) await pki.cleanup().catch(() => undefined);
    throw err;
  }
  return pki;
}
