// Parsing of DER OCSPResponse (RFC 6960 §4.2). Parsing only: whether the response may be used is
// decided in verify.ts. The envelope must be exact DER (no trailing bytes, canonical lengths,
// BIT STRING without unused bits); the signed ResponseData is kept as the exact signed bytes.

import { AsnConvert } from '@peculiar/asn1-schema';
import { OCSPResponse, OCSPResponseStatus, ResponseData, id_pkix_ocsp_basic } from '@peculiar/asn1-ocsp';
import { Name } from '@peculiar/asn1-x509';
import { BasicResponseView, parseExact, toBuffer } from './asn1.js';
import { OcspValidationError } from './errors.js';
import { hashByOid, type CertIdHash } from './request.js';

export type CertStatusName = 'good' | 'revoked' | 'unknown';

export interface SingleResponseInfo {
  certId: {
    hashOid: string;
    hash?: CertIdHash;
    issuerNameHash: Buffer;
    issuerKeyHash: Buffer;
    serial: Buffer;
  };
  status: CertStatusName;
  revocationTime?: number;
  /** CRLReason code, when the responder gave one. */
  revocationReason?: number;
  thisUpdate: number;
  nextUpdate?: number;
  /** OIDs of critical singleExtensions (none are understood, so any makes the response unusable). */
  criticalExtensions: string[];
}

export interface ParsedOcspResponse {
  der: Buffer;
  signedData: Buffer;
  signatureAlgorithm: { oid: string; parameters: ArrayBuffer | null | undefined };
  signature: Buffer;
  /** DER of the certificates embedded in the response, in order. */
  certs: Buffer[];
  responderId: { byName?: Buffer; byKey?: Buffer };
  producedAt: number;
  responses: SingleResponseInfo[];
  criticalExtensions: string[];
}

const STATUS_TEXT: Record<number, string> = {
  [OCSPResponseStatus.malformedRequest]: 'malformed',
  [OCSPResponseStatus.internalError]: 'internal error',
  [OCSPResponseStatus.tryLater]: 'try later',
  [OCSPResponseStatus.sigRequired]: 'signature required',
  [OCSPResponseStatus.unauthorized]: 'unauthorized',
};

/** Go's text for a non-successful OCSPResponseStatus: `ocsp: error from server: try later`. */
export function unsuccessfulStatusText(status: number): string {
  return `ocsp: error from server: ${STATUS_TEXT[status] ?? `unknown status ${status}`}`;
}

function malformed(what: string, err?: unknown): OcspValidationError {
  const detail = err instanceof Error ? `: ${err.message}` : '';
  return new OcspValidationError('ERR_OCSP_MALFORMED', `malformed OCSP response: ${what}${detail}`, { cause: err });
}

/**
 * Parses a DER OCSPResponse. Throws OcspValidationError:
 * ERR_OCSP_MALFORMED, ERR_OCSP_UNSUCCESSFUL (tryLater, unauthorized, ...: never stapled),
 * ERR_OCSP_NOT_BASIC.
 */
export function parseOcspResponse(input: Uint8Array): ParsedOcspResponse {
  const der = Buffer.from(input);
  if (der.length === 0) throw malformed('empty body');
  let outer: OCSPResponse;
  try {
    outer = parseExact(der, OCSPResponse);
  } catch (err) {
    throw malformed('not a DER OCSPResponse', err);
  }
  if (outer.responseStatus !== OCSPResponseStatus.successful) {
    throw new OcspValidationError('ERR_OCSP_UNSUCCESSFUL', unsuccessfulStatusText(outer.responseStatus));
  }
  if (!outer.responseBytes) throw malformed('successful response without responseBytes');
  if (outer.responseBytes.responseType !== id_pkix_ocsp_basic) {
    throw new OcspValidationError(
      'ERR_OCSP_NOT_BASIC',
      `unsupported OCSP response type ${outer.responseBytes.responseType} (want id-pkix-ocsp-basic)`,
    );
  }
  let basic: BasicResponseView;
  try {
    basic = parseExact(toBuffer(outer.responseBytes.response.buffer), BasicResponseView);
  } catch (err) {
    throw malformed('not a DER BasicOCSPResponse', err);
  }
  if (basic.signature.unusedBits !== 0) throw malformed('signature BIT STRING has unused bits');
  let data: ResponseData;
  try {
    data = AsnConvert.parse(basic.tbsResponseData, ResponseData);
  } catch (err) {
    throw malformed('bad ResponseData', err);
  }
  try {
    if (data.version !== 0) throw new Error(`unsupported version ${data.version}`);
    const responderId: ParsedOcspResponse['responderId'] = {};
    if (data.responderID.byName) responderId.byName = toBuffer(AsnConvert.serialize(data.responderID.byName as Name));
    else if (data.responderID.byKey) responderId.byKey = toBuffer(data.responderID.byKey.buffer);
    else throw new Error('empty ResponderID');
    const responses = data.responses.map((r): SingleResponseInfo => {
      let status: CertStatusName;
      let revocationTime: number | undefined;
      let revocationReason: number | undefined;
      if (r.certStatus.good !== undefined) status = 'good';
      else if (r.certStatus.revoked !== undefined) {
        status = 'revoked';
        revocationTime = r.certStatus.revoked.revocationTime.getTime();
        if (r.certStatus.revoked.revocationReason !== undefined) revocationReason = Number(r.certStatus.revoked.revocationReason.reason);
      } else if (r.certStatus.unknown !== undefined) status = 'unknown';
      else throw new Error('missing certStatus');
      const thisUpdate = r.thisUpdate.getTime();
      if (!Number.isFinite(thisUpdate)) throw new Error('bad thisUpdate');
      const nextUpdate = r.nextUpdate ? r.nextUpdate.getTime() : undefined;
      if (nextUpdate !== undefined && !Number.isFinite(nextUpdate)) throw new Error('bad nextUpdate');
      return {
        certId: {
          hashOid: r.certID.hashAlgorithm.algorithm,
          hash: hashByOid(r.certID.hashAlgorithm.algorithm),
          issuerNameHash: toBuffer(r.certID.issuerNameHash.buffer),
          issuerKeyHash: toBuffer(r.certID.issuerKeyHash.buffer),
          serial: toBuffer(r.certID.serialNumber),
        },
        status,
        revocationTime,
        revocationReason,
        thisUpdate,
        nextUpdate,
        criticalExtensions: (r.singleExtensions ?? []).filter((e) => e.critical).map((e) => e.extnID),
      };
    });
    const producedAt = data.producedAt.getTime();
    if (!Number.isFinite(producedAt)) throw new Error('bad producedAt');
    return {
      der,
      signedData: toBuffer(basic.tbsResponseData),
      signatureAlgorithm: { oid: basic.signatureAlgorithm.algorithm, parameters: basic.signatureAlgorithm.parameters },
      signature: toBuffer(basic.signature.value),
      certs: (basic.certs ?? []).map((c) => toBuffer(c)),
      responderId,
      producedAt,
      responses,
      criticalExtensions: (data.responseExtensions ?? []).filter((e) => e.critical).map((e) => e.extnID),
    };
  } catch (err) {
    throw malformed('bad ResponseData', err);
  }
}
