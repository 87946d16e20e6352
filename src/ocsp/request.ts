// OCSP requests (RFC 6960 §4.1, RFC 5019 profile): one CertID with SHA-1 hashes, no nonce, no
// extensions, unsigned — the request nats-server (Go's ocsp.CreateRequest) sends, byte for byte.

import { createHash } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { CertID, OCSPRequest, Request, TBSRequest } from '@peculiar/asn1-ocsp';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { toBuffer } from './asn1.js';
import type { CertificateInfo } from './certificate.js';

export type CertIdHash = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export const HASH_OIDS: Record<CertIdHash, string> = {
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};

export function hashByOid(oid: string): CertIdHash | undefined {
  return (Object.keys(HASH_OIDS) as CertIdHash[]).find((h) => HASH_OIDS[h] === oid);
}

/** The identity of a certificate in OCSP. */
export interface CertIdValues {
  hash: CertIdHash;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  serial: Buffer;
}

/** CertID of `leaf` (issued by `issuer`) with the given hash (SHA-1 by default, as RFC 5019). */
export function certIdFor(leaf: CertificateInfo, issuer: CertificateInfo, hash: CertIdHash = 'sha1'): CertIdValues {
  return {
    hash,
    // RFC 6960 §4.1.1: hash of the issuer's DN as it appears in the certificate being checked.
    issuerNameHash: createHash(hash).update(leaf.issuerNameDer).digest(),
    issuerKeyHash: createHash(hash).update(issuer.publicKeyBits).digest(),
    serial: leaf.serial,
  };
}

/** DER OCSPRequest for one CertID: SHA-1 (NULL hash parameters, as Go), no nonce, v1 omitted. */
export function buildOcspRequest(id: CertIdValues): Buffer {
  const reqCert = new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: HASH_OIDS[id.hash], parameters: null }),
    issuerNameHash: new OctetString(id.issuerNameHash),
    issuerKeyHash: new OctetString(id.issuerKeyHash),
    serialNumber: toArrayBuffer(id.serial),
  });
  const req = new OCSPRequest({ tbsRequest: new TBSRequest({ requestList: [new Request({ reqCert })] }) });
  return toBuffer(AsnConvert.serialize(req));
}

/**
 * URL of an OCSP GET request (RFC 6960 appendix A.1 / RFC 5019 §5): `<url>/<url-encoded base64>`.
 * Unlike nats-server the base64 text is percent-encoded, so `+`, `/` and `=` survive proxies.
 */
export function ocspGetUrl(responderUrl: string, requestDer: Uint8Array): string {
  const b64 = Buffer.from(requestDer).toString('base64');
  return responderUrl.replace(/\/+$/, '') + '/' + encodeURIComponent(b64);
}

/** Decodes a DER OCSPRequest back into its CertIDs (used by the test responder and tests). */
export function parseOcspRequest(der: Uint8Array): CertIdValues[] {
  const req = AsnConvert.parse(Buffer.from(der), OCSPRequest);
  return req.tbsRequest.requestList.map((r) => {
    const hash = hashByOid(r.reqCert.hashAlgorithm.algorithm);
    if (!hash) throw new Error(`unsupported CertID hash algorithm ${r.reqCert.hashAlgorithm.algorithm}`);
    return {
      hash,
      issuerNameHash: toBuffer(r.reqCert.issuerNameHash.buffer),
      issuerKeyHash: toBuffer(r.reqCert.issuerKeyHash.buffer),
      serial: toBuffer(r.reqCert.serialNumber),
    };
  });
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  const out = new ArrayBuffer(b.length);
  new Uint8Array(out).set(b);
  return out;
}
