// Small ASN.1 "views" on top of @peculiar/asn1-schema that the published schemas do not offer:
// raw (exact DER) access to certificate names and keys, the TLS Feature extension, a BasicOCSPResponse
// whose signed part and certificates stay raw bytes, and RSASSA-PSS parameters.
// The schema decorators are applied by plain function calls (no TypeScript decorator syntax).

import { AsnConvert, AsnProp, AsnPropTypes, AsnType, AsnTypeTypes, BitString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';

/** TBSCertificate with the fields we hash kept as their exact DER encoding. */
export class TbsCertificateView {
  version = 0;
  serialNumber: ArrayBuffer = new ArrayBuffer(0);
  signature: ArrayBuffer = new ArrayBuffer(0);
  issuer: ArrayBuffer = new ArrayBuffer(0);
  validity: ArrayBuffer = new ArrayBuffer(0);
  subject: ArrayBuffer = new ArrayBuffer(0);
  subjectPublicKeyInfo: ArrayBuffer = new ArrayBuffer(0);
  issuerUniqueID?: ArrayBuffer;
  subjectUniqueID?: ArrayBuffer;
  extensions?: ArrayBuffer;
}
AsnType({ type: AsnTypeTypes.Sequence })(TbsCertificateView);
AsnProp({ type: AsnPropTypes.Integer, context: 0, defaultValue: 0 })(TbsCertificateView.prototype, 'version');
for (const k of ['serialNumber', 'signature', 'issuer', 'validity', 'subject', 'subjectPublicKeyInfo'] as const) {
  AsnProp({ type: AsnPropTypes.Any })(TbsCertificateView.prototype, k);
}
AsnProp({ type: AsnPropTypes.BitString, context: 1, implicit: true, optional: true })(
  TbsCertificateView.prototype,
  'issuerUniqueID',
);
AsnProp({ type: AsnPropTypes.BitString, context: 2, implicit: true, optional: true })(
  TbsCertificateView.prototype,
  'subjectUniqueID',
);
AsnProp({ type: AsnPropTypes.Any, context: 3, optional: true })(TbsCertificateView.prototype, 'extensions');

/** RFC 7633 `Features ::= SEQUENCE OF INTEGER` (the TLS Feature extension value). */
export class TlsFeatures extends Array<number> {}
AsnType({ type: AsnTypeTypes.Sequence, itemType: AsnPropTypes.Integer })(TlsFeatures);

/** BasicOCSPResponse with the signed data and the certificates kept as exact DER bytes. */
export class BasicResponseView {
  tbsResponseData: ArrayBuffer = new ArrayBuffer(0);
  signatureAlgorithm = new AlgorithmIdentifier();
  signature = new BitString();
  certs?: ArrayBuffer[];
}
AsnType({ type: AsnTypeTypes.Sequence })(BasicResponseView);
AsnProp({ type: AsnPropTypes.Any })(BasicResponseView.prototype, 'tbsResponseData');
AsnProp({ type: AlgorithmIdentifier })(BasicResponseView.prototype, 'signatureAlgorithm');
AsnProp({ type: BitString })(BasicResponseView.prototype, 'signature');
AsnProp({ type: AsnPropTypes.Any, repeated: 'sequence', context: 0, optional: true })(
  BasicResponseView.prototype,
  'certs',
);

/** RFC 4055 RSASSA-PSS-params. Absent fields take the RFC defaults (SHA-1, MGF1-SHA-1, 20). */
export class RsaPssParams {
  hashAlgorithm?: AlgorithmIdentifier;
  maskGenAlgorithm?: AlgorithmIdentifier;
  saltLength = 20;
  trailerField = 1;
}
AsnType({ type: AsnTypeTypes.Sequence })(RsaPssParams);
AsnProp({ type: AlgorithmIdentifier, context: 0, optional: true })(RsaPssParams.prototype, 'hashAlgorithm');
AsnProp({ type: AlgorithmIdentifier, context: 1, optional: true })(RsaPssParams.prototype, 'maskGenAlgorithm');
AsnProp({ type: AsnPropTypes.Integer, context: 2, defaultValue: 20 })(RsaPssParams.prototype, 'saltLength');
AsnProp({ type: AsnPropTypes.Integer, context: 3, defaultValue: 1 })(RsaPssParams.prototype, 'trailerField');

export function toBuffer(ab: ArrayBuffer | ArrayBufferView): Buffer {
  if (ArrayBuffer.isView(ab)) return Buffer.from(ab.buffer, ab.byteOffset, ab.byteLength);
  return Buffer.from(ab);
}

/**
 * Parses `der` as `type` and insists that it was the exact DER encoding (no trailing bytes, no
 * alternative length forms): the value re-serialised must equal the input byte for byte.
 * Only use it on views whose leaves are kept raw or whose encoding is canonical.
 */
export function parseExact<T>(der: Uint8Array | ArrayBuffer, type: new () => T): T {
  const input = der instanceof ArrayBuffer ? Buffer.from(der) : toBuffer(der);
  const value = AsnConvert.parse(input, type);
  const again = toBuffer(AsnConvert.serialize(value));
  if (!again.equals(input)) throw new Error('not a canonical DER encoding');
  return value;
}
