// Read-only descriptions of certificates and OCSP responses for the `tsnats ocsp` operator CLI,
// built on the engine's own parsers (parseCertificate, parseOcspResponse). Nothing here decides
// whether a response may be used: that is verifyOcspResponse's job and the CLI always calls it.
// Everything returned is JSON-friendly (snake_case, ISO 8601 times, lowercase hex).

import { AsnConvert } from '@peculiar/asn1-schema';
import { Name } from '@peculiar/asn1-x509';
import {
  parseCertificate,
  parseOcspResponse,
  type CertificateInfo,
  type ParsedOcspResponse,
  type SingleResponseInfo,
} from '../ocsp/index.js';
import { goNameString } from '../ocsp/certificate.js';

/** RFC 5280 CRLReason names by code. */
export const CRL_REASONS: Record<number, string> = {
  0: 'unspecified',
  1: 'keyCompromise',
  2: 'cACompromise',
  3: 'affiliationChanged',
  4: 'superseded',
  5: 'cessationOfOperation',
  6: 'certificateHold',
  8: 'removeFromCRL',
  9: 'privilegeWithdrawn',
  10: 'aACompromise',
};

export function crlReasonName(code: number | undefined): string | null {
  if (code === undefined) return null;
  return CRL_REASONS[code] ?? `reason ${code}`;
}

const EKU_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
  '2.5.29.37.0': 'anyExtendedKeyUsage',
};

/** Extended key usages by name (unknown OIDs as themselves), or null when the extension is absent. */
export function ekuNames(ekus: readonly string[] | undefined): string[] | null {
  return ekus === undefined ? null : ekus.map((o) => EKU_NAMES[o] ?? o);
}

const SIGNATURE_ALGORITHMS: Record<string, string> = {
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.14': 'sha224WithRSAEncryption',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.1': 'ecdsa-with-SHA224',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};

export function signatureAlgorithmName(oid: string): string {
  return SIGNATURE_ALGORITHMS[oid] ?? oid;
}

export function iso(t: number | undefined | null): string | null {
  return t === undefined || t === null || !Number.isFinite(t) ? null : new Date(t).toISOString();
}

/** Serial hex without leading zero bytes (as openssl and the engine's messages print it). */
export function serialText(serial: Buffer): string {
  return serial.toString('hex').replace(/^(00)+(?=.)/, '') || '0';
}

// ---------------------------------------------------------------------------------------------

export interface CertificateDescription {
  subject: string;
  issuer: string;
  serial: string;
  sha256: string;
  not_before: string | null;
  not_after: string | null;
  must_staple: boolean;
  is_ca: boolean;
  ocsp_urls: string[];
  /** Extended key usages by name; null when the certificate has no EKU extension. */
  eku: string[] | null;
}

function nameOfDer(der: Buffer): string {
  try {
    return goNameString(AsnConvert.parse(der, Name));
  } catch {
    return `#${der.toString('hex')}`;
  }
}

export function describeCertificate(c: CertificateInfo): CertificateDescription {
  return {
    subject: c.subject,
    issuer: nameOfDer(c.issuerNameDer),
    serial: c.serialHex,
    sha256: c.sha256,
    not_before: iso(c.notBefore),
    not_after: iso(c.notAfter),
    must_staple: c.mustStaple,
    is_ca: c.isCA,
    ocsp_urls: [...c.ocspUrls],
    eku: ekuNames(c.extKeyUsage),
  };
}

// ---------------------------------------------------------------------------------------------

export interface ResponderIdDescription {
  type: 'by_name' | 'by_key';
  /** Distinguished name (by_name) or lowercase hex SHA-1 of the responder's public key (by_key). */
  value: string;
}

export interface SingleResponseDescription {
  cert_id: {
    hash_algorithm: string;
    issuer_name_hash: string;
    issuer_key_hash: string;
    serial: string;
  };
  status: 'good' | 'revoked' | 'unknown';
  revocation_time: string | null;
  revocation_reason: string | null;
  this_update: string | null;
  next_update: string | null;
  critical_extensions: string[];
}

export interface EmbeddedCertificateDescription extends CertificateDescription {
  /** Set when the certificate cannot be parsed. */
  error?: string;
}

export interface ResponseDescription {
  response_status: 'successful';
  response_type: 'basic';
  size: number;
  responder_id: ResponderIdDescription;
  produced_at: string | null;
  signature_algorithm: string;
  responses: SingleResponseDescription[];
  certificates: EmbeddedCertificateDescription[];
  critical_extensions: string[];
}

export function describeResponderId(p: ParsedOcspResponse): ResponderIdDescription {
  if (p.responderId.byKey) return { type: 'by_key', value: p.responderId.byKey.toString('hex') };
  return { type: 'by_name', value: p.responderId.byName ? nameOfDer(p.responderId.byName) : '' };
}

export function describeSingle(s: SingleResponseInfo): SingleResponseDescription {
  return {
    cert_id: {
      hash_algorithm: s.certId.hash ?? s.certId.hashOid,
      issuer_name_hash: s.certId.issuerNameHash.toString('hex'),
      issuer_key_hash: s.certId.issuerKeyHash.toString('hex'),
      serial: serialText(s.certId.serial),
    },
    status: s.status,
    revocation_time: iso(s.revocationTime),
    revocation_reason: crlReasonName(s.revocationReason),
    this_update: iso(s.thisUpdate),
    next_update: iso(s.nextUpdate),
    critical_extensions: [...s.criticalExtensions],
  };
}

export function describeEmbedded(der: Buffer): EmbeddedCertificateDescription {
  try {
    return describeCertificate(parseCertificate(der));
  } catch (err) {
    return {
      subject: '',
      issuer: '',
      serial: '',
      sha256: '',
      not_before: null,
      not_after: null,
      must_staple: false,
      is_ca: false,
      ocsp_urls: [],
      eku: null,
      error: err instanceof Error ? err.message : String(err),
    };
  }
}

/** Describes an already parsed response. */
export function describeParsed(p: ParsedOcspResponse): ResponseDescription {
  return {
    response_status: 'successful',
    response_type: 'basic',
    size: p.der.length,
    responder_id: describeResponderId(p),
    produced_at: iso(p.producedAt),
    signature_algorithm: signatureAlgorithmName(p.signatureAlgorithm.oid),
    responses: p.responses.map(describeSingle),
    certificates: p.certs.map(describeEmbedded),
    critical_extensions: [...p.criticalExtensions],
  };
}

/**
 * Decodes a DER OCSPResponse with the engine's parser and describes it. Throws the engine's
 * OcspValidationError when it is not a successful basic OCSP response (ERR_OCSP_MALFORMED,
 * ERR_OCSP_UNSUCCESSFUL with `ocsp: error from server: try later`, ERR_OCSP_NOT_BASIC).
 * Describing is not validating: use verifyOcspResponse for that.
 */
export function describeOcspResponse(der: Uint8Array): ResponseDescription {
  return describeParsed(parseOcspResponse(der));
}

/** The certificate whose key signed `p`, when it is one of the embedded ones (by subject). */
export function embeddedSignerBySubject(p: ParsedOcspResponse, subject: string): CertificateInfo | undefined {
  for (const der of p.certs) {
    try {
      const c = parseCertificate(der);
      if (c.subject === subject) return c;
    } catch {
      // not this one
    }
  }
  return undefined;
}
