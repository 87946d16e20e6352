// Strict validation of an OCSP response for one certificate (RFC 6960 §3.2 and §4.2.2.2), done
// before anything is stapled or cached. nats-server checks much less for its own staple (no CertID
// match, no delegate EKU check, zero skew); every check here that fails says which one it was.

import { KeyObject, constants, createHash, verify as cryptoVerify } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Name } from '@peculiar/asn1-x509';
import { RsaPssParams, toBuffer } from './asn1.js';
import { OID_KP_OCSP_SIGNING, parseCertificate, isIssuedBy, type CertificateInfo } from './certificate.js';
import { OcspError, OcspValidationError } from './errors.js';
import { formatDuration, formatGoTime } from './format.js';
import { certIdFor } from './request.js';
import { parseOcspResponse, type CertStatusName, type ParsedOcspResponse } from './response.js';

export interface VerifyOptions {
  /** The certificate the response must be about. */
  leaf: CertificateInfo;
  /** Its issuer: signs the response itself or issues the delegated responder certificate. */
  issuer: CertificateInfo;
  /** Milliseconds since the epoch. Default Date.now(). */
  now?: number;
  /**
   * Tolerance for a thisUpdate slightly in the future and for the delegated signer's validity.
   * Never applied to nextUpdate: a response is never used past its nextUpdate. Default 60 s.
   */
  clockSkewMs?: number;
  /** How long a response without nextUpdate is usable after its thisUpdate. Default 1 h. */
  maxAgeWithoutNextUpdateMs?: number;
}

export interface VerifiedOcspResponse {
  /** The exact DER that was verified (what gets stapled and cached). */
  der: Buffer;
  status: CertStatusName;
  revocationTime?: number;
  revocationReason?: number;
  thisUpdate: number;
  nextUpdate?: number;
  producedAt: number;
  /**
   * The end of usability: nextUpdate (or thisUpdate + maxAgeWithoutNextUpdateMs when absent),
   * no later than the delegated signer certificate's notAfter.
   */
  expiresAt: number;
  signer: 'issuer' | 'delegate';
  /** Subject of the certificate whose key signed the response. */
  signerSubject: string;
}

export const DEFAULT_CLOCK_SKEW_MS = 60_000;
export const DEFAULT_MAX_AGE_WITHOUT_NEXT_UPDATE_MS = 3_600_000;

function fail(code: ConstructorParameters<typeof OcspValidationError>[0], message: string): never {
  throw new OcspValidationError(code, message);
}

/**
 * Parses and validates `response` for `opts.leaf`. Returns the facts needed to staple it; throws
 * an OcspValidationError (code = failed check) otherwise. Revoked and unknown are valid responses
 * (the caller decides what they mean); only their authenticity and currency are checked here.
 */
export function verifyOcspResponse(
  response: Uint8Array | ParsedOcspResponse,
  opts: VerifyOptions,
): VerifiedOcspResponse {
  try {
    return verifyInner(response, opts);
  } catch (err) {
    if (err instanceof OcspError) throw err;
    // Anything unexpected from a dependency on hostile input is still a typed rejection.
    throw new OcspValidationError('ERR_OCSP_MALFORMED', `malformed OCSP response: ${(err as Error)?.message ?? err}`, {
      cause: err,
    });
  }
}

function verifyInner(response: Uint8Array | ParsedOcspResponse, opts: VerifyOptions): VerifiedOcspResponse {
  const now = opts.now ?? Date.now();
  const skew = opts.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  const maxAge = opts.maxAgeWithoutNextUpdateMs ?? DEFAULT_MAX_AGE_WITHOUT_NEXT_UPDATE_MS;
  const { leaf, issuer } = opts;
  const parsed = response instanceof Uint8Array ? parseOcspResponse(response) : response;

  if (parsed.criticalExtensions.length > 0) {
    fail('ERR_OCSP_CRITICAL_EXTENSION', `OCSP response has unsupported critical extension ${parsed.criticalExtensions[0]}`);
  }
  // Exactly one answer, as Go peers (routes, gateways) require of a staple.
  if (parsed.responses.length !== 1) {
    fail('ERR_OCSP_RESPONSE_COUNT', `OCSP response contains bad number of responses: ${parsed.responses.length} (want 1)`);
  }
  const single = parsed.responses[0]!;

  // 1. It is about exactly this certificate.
  const hash = single.certId.hash;
  if (!hash) fail('ERR_OCSP_CERTID_HASH', `OCSP response CertID uses unsupported hash algorithm ${single.certId.hashOid}`);
  const ours = certIdFor(leaf, issuer, hash);
  if (!ours.issuerNameHash.equals(single.certId.issuerNameHash) || !ours.issuerKeyHash.equals(single.certId.issuerKeyHash)) {
    const which = !ours.issuerNameHash.equals(single.certId.issuerNameHash) ? 'issuerNameHash' : 'issuerKeyHash';
    fail('ERR_OCSP_CERTID_ISSUER', `OCSP response is for a certificate of another issuer (${which} mismatch)`);
  }
  if (normSerial(ours.serial) !== normSerial(single.certId.serial)) {
    fail(
      'ERR_OCSP_CERTID_SERIAL',
      `OCSP response is for serial ${normSerial(single.certId.serial)}, not ${normSerial(ours.serial)}`,
    );
  }
  if (single.criticalExtensions.length > 0) {
    fail('ERR_OCSP_CRITICAL_EXTENSION', `OCSP single response has unsupported critical extension ${single.criticalExtensions[0]}`);
  }

  // 2. Signed by the issuer or by a responder the issuer authorised (RFC 6960 §4.2.2.2).
  let signer: CertificateInfo;
  let delegated = false;
  if (responderIdMatches(parsed, issuer)) {
    signer = issuer;
  } else {
    let embedded: CertificateInfo[];
    try {
      embedded = parsed.certs.map((c) => parseCertificate(c));
    } catch (err) {
      throw new OcspValidationError('ERR_OCSP_MALFORMED', `malformed OCSP response: bad embedded certificate: ${(err as Error).message}`);
    }
    const match = embedded.find((c) => responderIdMatches(parsed, c));
    if (!match) {
      fail('ERR_OCSP_RESPONDER_ID', `OCSP response signer (${describeResponderId(parsed)}) is neither the issuer nor an embedded certificate`);
    }
    signer = match;
    delegated = true;
  }
  if (!signatureValid(parsed, signer.x509.publicKey)) {
    fail('ERR_OCSP_BAD_SIGNATURE', `OCSP response signature is invalid (signer '${signer.subject}', algorithm ${parsed.signatureAlgorithm.oid})`);
  }
  if (delegated) {
    if (!isIssuedBy(signer, issuer)) {
      fail('ERR_OCSP_SIGNER_NOT_ISSUED_BY_CA', `OCSP response signer '${signer.subject}' was not issued by the certificate's issuer '${issuer.subject}'`);
    }
    if (!signer.extKeyUsage?.includes(OID_KP_OCSP_SIGNING)) {
      fail(
        'ERR_OCSP_SIGNER_NO_EKU',
        `OCSP response signer '${signer.subject}' missing authorization by CA to act as OCSP signer (no id-kp-OCSPSigning extended key usage)`,
      );
    }
    if (now + skew < signer.notBefore || now - skew > signer.notAfter) {
      fail(
        'ERR_OCSP_SIGNER_VALIDITY',
        `OCSP response signer '${signer.subject}' is not valid now (valid ${formatGoTime(signer.notBefore)} to ${formatGoTime(signer.notAfter)})`,
      );
    }
  }

  // 3. Current: never before thisUpdate (beyond the skew), never at or after nextUpdate.
  if (single.thisUpdate > now + skew) {
    fail('ERR_OCSP_THIS_UPDATE_FUTURE', `invalid ocsp ThisUpdate, is future time: ${formatGoTime(single.thisUpdate)}`);
  }
  let expiresAt: number;
  if (single.nextUpdate !== undefined) {
    if (single.nextUpdate < single.thisUpdate) {
      fail('ERR_OCSP_NEXT_BEFORE_THIS', `invalid ocsp NextUpdate ${formatGoTime(single.nextUpdate)} is before ThisUpdate ${formatGoTime(single.thisUpdate)}`);
    }
    if (single.nextUpdate <= now) {
      fail('ERR_OCSP_NEXT_UPDATE_PAST', `invalid ocsp NextUpdate, is past time: ${formatGoTime(single.nextUpdate)}`);
    }
    expiresAt = single.nextUpdate;
  } else {
    expiresAt = single.thisUpdate + maxAge;
    if (expiresAt <= now) {
      fail(
        'ERR_OCSP_STALE',
        `OCSP response without NextUpdate is older than ${formatDuration(maxAge)} (ThisUpdate ${formatGoTime(single.thisUpdate)})`,
      );
    }
  }
  if (delegated) expiresAt = Math.min(expiresAt, signer.notAfter);

  return {
    der: parsed.der,
    status: single.status,
    revocationTime: single.revocationTime,
    revocationReason: single.revocationReason,
    thisUpdate: single.thisUpdate,
    nextUpdate: single.nextUpdate,
    producedAt: parsed.producedAt,
    expiresAt,
    signer: delegated ? 'delegate' : 'issuer',
    signerSubject: signer.subject,
  };
}

function normSerial(b: Buffer): string {
  return b.toString('hex').replace(/^(00)+(?=.)/, '') || '0';
}

function normalizedName(der: Buffer): Buffer {
  try {
    return toBuffer(AsnConvert.serialize(AsnConvert.parse(der, Name)));
  } catch {
    return der;
  }
}

function responderIdMatches(parsed: ParsedOcspResponse, cert: CertificateInfo): boolean {
  const id = parsed.responderId;
  if (id.byKey) return createHash('sha1').update(cert.publicKeyBits).digest().equals(id.byKey);
  if (id.byName) return id.byName.equals(normalizedName(cert.subjectNameDer));
  return false;
}

function describeResponderId(parsed: ParsedOcspResponse): string {
  const id = parsed.responderId;
  if (id.byKey) return `byKey ${id.byKey.toString('hex')}`;
  try {
    const name = AsnConvert.parse(id.byName!, Name);
    return `byName ${name.map((rdn) => rdn.map((a) => a.value.toString()).join('+')).reverse().join(',')}`;
  } catch {
    return 'byName';
  }
}

// ---------------------------------------------------------------------------------------------
// Signature algorithms: RSA PKCS#1 v1.5, RSASSA-PSS, ECDSA, Ed25519/Ed448.

const RSA_PKCS1: Record<string, string> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};
const ECDSA: Record<string, string> = {
  '1.2.840.10045.4.1': 'sha1',
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
const OID_RSA_PSS = '1.2.840.113549.1.1.10';
const OID_MGF1 = '1.2.840.113549.1.1.8';
const OID_ED25519 = '1.3.101.112';
const OID_ED448 = '1.3.101.113';
const DIGESTS: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

function unsupported(oid: string, why = ''): never {
  fail('ERR_OCSP_UNSUPPORTED_ALGORITHM', `unsupported OCSP response signature algorithm ${oid}${why ? ` (${why})` : ''}`);
}

function signatureValid(parsed: ParsedOcspResponse, key: KeyObject): boolean {
  const { oid, parameters } = parsed.signatureAlgorithm;
  const keyType = key.asymmetricKeyType;
  const data = parsed.signedData;
  const sig = parsed.signature;
  const attempt = (fn: () => boolean): boolean => {
    try {
      return fn();
    } catch {
      return false;
    }
  };
  if (RSA_PKCS1[oid]) {
    if (parameters !== null && parameters !== undefined) unsupported(oid, 'unexpected parameters');
    if (keyType !== 'rsa') return false;
    return attempt(() => cryptoVerify(RSA_PKCS1[oid]!, data, { key, padding: constants.RSA_PKCS1_PADDING }, sig));
  }
  if (ECDSA[oid]) {
    if (parameters !== undefined) unsupported(oid, 'unexpected parameters');
    if (keyType !== 'ec') return false;
    return attempt(() => cryptoVerify(ECDSA[oid]!, data, { key, dsaEncoding: 'der' }, sig));
  }
  if (oid === OID_ED25519 || oid === OID_ED448) {
    if (parameters !== undefined) unsupported(oid, 'unexpected parameters');
    if (keyType !== (oid === OID_ED25519 ? 'ed25519' : 'ed448')) return false;
    return attempt(() => cryptoVerify(null, data, key, sig));
  }
  if (oid === OID_RSA_PSS) {
    if (!(parameters instanceof ArrayBuffer)) unsupported(oid, 'missing parameters');
    let p: RsaPssParams;
    try {
      p = AsnConvert.parse(parameters, RsaPssParams);
    } catch {
      unsupported(oid, 'bad parameters');
    }
    const hash = DIGESTS[p.hashAlgorithm?.algorithm ?? '1.3.14.3.2.26'];
    if (!hash) unsupported(oid, 'unsupported hash');
    const mgf = p.maskGenAlgorithm;
    if (mgf) {
      if (mgf.algorithm !== OID_MGF1 || !(mgf.parameters instanceof ArrayBuffer)) unsupported(oid, 'unsupported mask generation');
      const mgfHash = AsnConvert.parse(mgf.parameters, AlgorithmIdentifier);
      if (DIGESTS[mgfHash.algorithm] !== hash) unsupported(oid, 'MGF1 hash differs from the message hash');
    } else if (hash !== 'sha1') {
      unsupported(oid, 'MGF1 hash differs from the message hash');
    }
    if (p.trailerField !== 1) unsupported(oid, 'unsupported trailer field');
    if (keyType !== 'rsa' && keyType !== 'rsa-pss') return false;
    return attempt(() =>
      cryptoVerify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: p.saltLength }, sig),
    );
  }
  unsupported(oid);
}
