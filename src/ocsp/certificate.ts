// Certificates as the OCSP engine needs them: PEM/DER chain parsing, Must-Staple detection (RFC 7633
// TLS Feature containing status_request), AIA OCSP URLs, and finding the issuer of a leaf.

import { X509Certificate, createHash } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityInfoAccessSyntax,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Name,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_pe_authorityInfoAccess,
} from '@peculiar/asn1-x509';
import { TbsCertificateView, TlsFeatures, toBuffer } from './asn1.js';
import { OcspCertificateError } from './errors.js';

export const OID_TLS_FEATURE = '1.3.6.1.5.5.7.1.24';
export const OID_AD_OCSP = '1.3.6.1.5.5.7.48.1';
export const OID_KP_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';
export const OID_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';
/** TLS Feature value for status_request (RFC 6066 / RFC 7633). */
const TLS_FEATURE_STATUS_REQUEST = 5;

/** Everything the engine needs to know about one certificate. */
export interface CertificateInfo {
  der: Buffer;
  x509: X509Certificate;
  /** Subject in Go's `pkix.Name.String()` form (`CN=a,O=b`), as nats-server prints it. */
  subject: string;
  /** Lowercase hex of the serial number's DER INTEGER content bytes. */
  serialHex: string;
  /** Serial number DER INTEGER content bytes (what a CertID carries). */
  serial: Buffer;
  /** Lowercase hex SHA-256 of the DER: the disk cache file name. */
  sha256: string;
  /** TLS Feature extension present and containing status_request. */
  mustStaple: boolean;
  /** AIA id-ad-ocsp URIs in certificate order. */
  ocspUrls: string[];
  /** basicConstraints cA. */
  isCA: boolean;
  notBefore: number;
  notAfter: number;
  /** Extended key usages, or undefined when the extension is absent. */
  extKeyUsage?: string[];
  /** Exact DER of the issuer Name (hashed into a CertID). */
  issuerNameDer: Buffer;
  /** Exact DER of the subject Name (compared with an OCSP ResponderID byName). */
  subjectNameDer: Buffer;
  /** Content of the subjectPublicKey BIT STRING (hashed into a CertID / ResponderID byKey). */
  publicKeyBits: Buffer;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

interface PemBlock {
  label: string;
  der: Buffer;
}

function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    out.push({ label: m[1]!, der: Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64') });
  }
  return out;
}

function isPem(input: string | Buffer): boolean {
  const s = typeof input === 'string' ? input : input.subarray(0, Math.min(input.length, 1 << 16)).toString('latin1');
  return s.includes('-----BEGIN ');
}

/** Parses one DER certificate. Throws OcspCertificateError `error parsing certificate: ...`. */
export function parseCertificate(der: Buffer | Uint8Array): CertificateInfo {
  const buf = Buffer.from(der);
  try {
    const x509 = new X509Certificate(buf);
    const asn = AsnConvert.parse(buf, Certificate);
    const tbsRaw = (asn as Certificate & { tbsCertificateRaw?: ArrayBuffer }).tbsCertificateRaw;
    if (!tbsRaw) throw new Error('missing tbsCertificate');
    const view = AsnConvert.parse(tbsRaw, TbsCertificateView);
    const tbs = asn.tbsCertificate;
    let mustStaple = false;
    let sawTlsFeature = false;
    let ocspUrls: string[] = [];
    let isCA = false;
    let extKeyUsage: string[] | undefined;
    for (const ext of tbs.extensions ?? []) {
      const value = ext.extnValue.buffer;
      if (ext.extnID === OID_TLS_FEATURE && !sawTlsFeature) {
        // As nats-server: only the first TLS Feature extension counts; a bad encoding means "no".
        sawTlsFeature = true;
        mustStaple = hasStatusRequest(value);
      } else if (ext.extnID === id_pe_authorityInfoAccess) {
        const aia = AsnConvert.parse(value, AuthorityInfoAccessSyntax);
        ocspUrls = Array.from(aia)
          .filter((a) => a.accessMethod === OID_AD_OCSP && typeof a.accessLocation.uniformResourceIdentifier === 'string')
          .map((a) => a.accessLocation.uniformResourceIdentifier!);
      } else if (ext.extnID === id_ce_basicConstraints) {
        isCA = AsnConvert.parse(value, BasicConstraints).cA === true;
      } else if (ext.extnID === id_ce_extKeyUsage) {
        extKeyUsage = [...AsnConvert.parse(value, ExtendedKeyUsage)];
      }
    }
    const serial = toBuffer(tbs.serialNumber);
    return {
      der: buf,
      x509,
      subject: goNameString(tbs.subject),
      serialHex: serial.toString('hex'),
      serial,
      sha256: createHash('sha256').update(buf).digest('hex'),
      mustStaple,
      ocspUrls,
      isCA,
      notBefore: tbs.validity.notBefore.getTime().getTime(),
      notAfter: tbs.validity.notAfter.getTime().getTime(),
      extKeyUsage,
      issuerNameDer: toBuffer(view.issuer),
      subjectNameDer: toBuffer(view.subject),
      publicKeyBits: toBuffer(tbs.subjectPublicKeyInfo.subjectPublicKey),
    };
  } catch (err) {
    if (err instanceof OcspCertificateError) throw err;
    throw new OcspCertificateError('ERR_OCSP_CERT_PARSE', `error parsing certificate: ${errText(err)}`, { cause: err });
  }
}

/** True iff the TLS Feature extension value is a SEQUENCE OF INTEGER containing 5. */
export function hasStatusRequest(extnValue: ArrayBuffer | Uint8Array): boolean {
  try {
    const input = extnValue instanceof ArrayBuffer ? Buffer.from(extnValue) : toBuffer(extnValue);
    const features = AsnConvert.parse(input, TlsFeatures);
    // Reject trailing bytes, as Go's asn1.Unmarshal does.
    if (!toBuffer(AsnConvert.serialize(features)).equals(input)) return false;
    return features.some((f) => Number(f) === TLS_FEATURE_STATUS_REQUEST);
  } catch {
    return false;
  }
}

/**
 * Parses a certificate file's content: a PEM chain (leaf first; non-certificate blocks such as a
 * private key are skipped) or a single DER certificate. Errors: `no certificate found`,
 * `error parsing certificate: ...`.
 */
export function parseCertificateChain(input: string | Buffer): CertificateInfo[] {
  let ders: Buffer[];
  if (isPem(input)) {
    ders = pemBlocks(typeof input === 'string' ? input : input.toString('latin1'))
      .filter((b) => b.label === 'CERTIFICATE' || b.label === 'TRUSTED CERTIFICATE')
      .map((b) => b.der);
  } else if (typeof input !== 'string' && input.length > 0) {
    ders = [input];
  } else {
    ders = [];
  }
  if (ders.length === 0) throw new OcspCertificateError('ERR_OCSP_NO_CERTIFICATE', 'no certificate found');
  return ders.map((d) => parseCertificate(d));
}

/**
 * Parses a CA bundle (`ca_file` content; several PEM texts may be given). Any non-certificate
 * block or unparsable certificate fails with `failed to parse ca_file: ...`.
 */
export function parseCaBundle(input: string | Buffer | readonly (string | Buffer)[]): CertificateInfo[] {
  const parts = Array.isArray(input) ? (input as readonly (string | Buffer)[]) : [input as string | Buffer];
  const out: CertificateInfo[] = [];
  for (const part of parts) {
    try {
      if (!isPem(part)) {
        if (typeof part !== 'string' && part.length > 0) {
          out.push(parseCertificate(part));
          continue;
        }
        throw new Error('no PEM certificates found');
      }
      for (const block of pemBlocks(typeof part === 'string' ? part : part.toString('latin1'))) {
        if (block.label !== 'CERTIFICATE' && block.label !== 'TRUSTED CERTIFICATE') {
          throw new Error(`unexpected PEM certificate type: ${block.label}`);
        }
        out.push(parseCertificate(block.der));
      }
    } catch (err) {
      throw new OcspCertificateError('ERR_OCSP_CA_PARSE', `failed to parse ca_file: ${errText(err)}`, { cause: err });
    }
  }
  return out;
}

/** True iff `issuer` signed `cert` (names chain and the signature verifies with its key). */
export function isIssuedBy(cert: CertificateInfo, issuer: CertificateInfo): boolean {
  try {
    return cert.issuerNameDer.equals(issuer.subjectNameDer) && cert.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
}

let systemRoots: CertificateInfo[] | undefined;
function systemRootCerts(): CertificateInfo[] {
  if (!systemRoots) {
    systemRoots = [];
    for (const pem of rootCertificates) {
      try {
        systemRoots.push(...parseCertificateChain(pem));
      } catch {
        // skip roots Node ships that we cannot parse
      }
    }
  }
  return systemRoots;
}

/**
 * Finds the certificate that issued `chain[0]` (the leaf), as nats-server does it but better:
 * - with a second certificate in the chain (the cert file bundle), that certificate must have signed
 *   the leaf, else `no issuers found`;
 * - otherwise the issuer is taken from the CA bundle (`ca_file`; any order, intermediates allowed,
 *   no EKU requirement), or from Node's bundled root store when no CA bundle is given.
 * The issuer must be a CA: `<subject> invalid ca basic constraints: is not ca`.
 */
export function findIssuer(
  chain: readonly CertificateInfo[],
  caCerts?: readonly CertificateInfo[],
  now: number = Date.now(),
): CertificateInfo {
  const leaf = chain[0];
  if (!leaf) throw new OcspCertificateError('ERR_OCSP_NO_CERTIFICATE', 'no certificate found');
  let issuer: CertificateInfo | undefined;
  if (chain.length >= 2) {
    if (isIssuedBy(leaf, chain[1]!)) issuer = chain[1];
  } else {
    const pool = caCerts && caCerts.length > 0 ? caCerts : systemRootCerts();
    const candidates = pool.filter((c) => isIssuedBy(leaf, c));
    // Prefer a CA that is valid now, then any CA, then whatever signed it (reported as not a CA).
    issuer =
      candidates.find((c) => c.isCA && c.notBefore <= now && now <= c.notAfter) ??
      candidates.find((c) => c.isCA) ??
      candidates[0];
  }
  if (!issuer) throw new OcspCertificateError('ERR_OCSP_NO_ISSUER', 'no issuers found');
  if (!issuer.isCA) {
    throw new OcspCertificateError('ERR_OCSP_ISSUER_NOT_CA', `${issuer.subject} invalid ca basic constraints: is not ca`);
  }
  return issuer;
}

// ---------------------------------------------------------------------------------------------
// Go's pkix.Name.String(): RDNs in reverse order, RFC 2253 escaping, short names for common types.

const SHORT_NAMES: Record<string, string> = {
  '2.5.4.6': 'C',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.3': 'CN',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.17': 'POSTALCODE',
};

function escapeRdnValue(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    const special = ',+"\\<>;'.includes(c) || (i === 0 && (c === ' ' || c === '#')) || (i === v.length - 1 && c === ' ');
    out += special ? '\\' + c : c;
  }
  return out;
}

export function goNameString(name: Name): string {
  const rdns: string[] = [];
  for (let i = name.length - 1; i >= 0; i--) {
    const parts: string[] = [];
    for (const atv of name[i]!) {
      const short = SHORT_NAMES[atv.type];
      if (short && atv.value.anyValue === undefined) {
        parts.push(`${short}=${escapeRdnValue(atv.value.toString())}`);
      } else {
        const raw = atv.value.anyValue ? toBuffer(atv.value.anyValue) : toBuffer(AsnConvert.serialize(atv.value));
        parts.push(`${atv.type}=#${raw.toString('hex')}`);
      }
    }
    rdns.push(parts.join('+'));
  }
  return rdns.join(',');
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
