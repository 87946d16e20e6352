// Error classes of the OCSP engine. Every error the engine throws or reports is an OcspError with a
// stable `code` (for programs) and a readable message. Where nats-server has an exact text for the
// same situation the message is that text, because operators grep for it.

/** Stable error codes. Never renamed; new ones may be added. */
export type OcspErrorCode =
  // certificate and issuer handling
  | 'ERR_OCSP_NO_CERTIFICATE'
  | 'ERR_OCSP_CERT_PARSE'
  | 'ERR_OCSP_CA_PARSE'
  | 'ERR_OCSP_NO_ISSUER'
  | 'ERR_OCSP_ISSUER_NOT_CA'
  // talking to responders
  | 'ERR_OCSP_NO_RESPONDERS'
  | 'ERR_OCSP_BAD_URL'
  | 'ERR_OCSP_HTTP_STATUS'
  | 'ERR_OCSP_TIMEOUT'
  | 'ERR_OCSP_TOO_LARGE'
  | 'ERR_OCSP_NETWORK'
  | 'ERR_OCSP_ABORTED'
  | 'ERR_OCSP_EXHAUSTED'
  // the response itself (parse and strict validation)
  | 'ERR_OCSP_MALFORMED'
  | 'ERR_OCSP_UNSUCCESSFUL'
  | 'ERR_OCSP_NOT_BASIC'
  | 'ERR_OCSP_RESPONSE_COUNT'
  | 'ERR_OCSP_CERTID_HASH'
  | 'ERR_OCSP_CERTID_ISSUER'
  | 'ERR_OCSP_CERTID_SERIAL'
  | 'ERR_OCSP_CRITICAL_EXTENSION'
  | 'ERR_OCSP_UNSUPPORTED_ALGORITHM'
  | 'ERR_OCSP_BAD_SIGNATURE'
  | 'ERR_OCSP_RESPONDER_ID'
  | 'ERR_OCSP_SIGNER_NOT_ISSUED_BY_CA'
  | 'ERR_OCSP_SIGNER_NO_EKU'
  | 'ERR_OCSP_SIGNER_VALIDITY'
  | 'ERR_OCSP_THIS_UPDATE_FUTURE'
  | 'ERR_OCSP_NEXT_UPDATE_PAST'
  | 'ERR_OCSP_NEXT_BEFORE_THIS'
  | 'ERR_OCSP_STALE'
  // disk cache
  | 'ERR_OCSP_STORE_DIR'
  | 'ERR_OCSP_STORE_WRITE'
  // start-up gate of a stapler
  | 'ERR_OCSP_STARTUP_FETCH'
  | 'ERR_OCSP_STARTUP_STATUS'
  | 'ERR_OCSP_CLOSED'
  | 'ERR_OCSP_INVALID_OPTION';

export class OcspError extends Error {
  readonly code: OcspErrorCode;
  constructor(code: OcspErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The certificate, its chain or the CA bundle cannot be used (parse errors, no issuer, ...). */
export class OcspCertificateError extends OcspError {}

/** One HTTP attempt against one responder URL. */
export interface OcspAttempt {
  url: string;
  method: 'POST' | 'GET';
  /** HTTP status code, when a response head arrived. */
  httpStatus?: number;
  durationMs: number;
  /** Why the attempt did not produce an accepted response; absent on success. */
  error?: OcspError;
}

/** Responders could not give us an acceptable response (network, HTTP status, size, timeouts). */
export class OcspFetchError extends OcspError {
  /** Every attempt made, in order (POST and GET per URL). */
  readonly attempts: OcspAttempt[];
  /** The HTTP status, for ERR_OCSP_HTTP_STATUS. */
  readonly httpStatus?: number;
  constructor(
    code: OcspErrorCode,
    message: string,
    attempts: OcspAttempt[] = [],
    options?: { cause?: unknown; httpStatus?: number },
  ) {
    super(code, message, options);
    this.attempts = attempts;
    if (options?.httpStatus !== undefined) this.httpStatus = options.httpStatus;
  }
}

/**
 * A response was received but refused: malformed, not successful, for another certificate, badly
 * signed, signed by an unauthorised key, or not current. `code` says which check failed.
 */
export class OcspValidationError extends OcspError {}

/** The disk cache directory cannot be used, or a write failed. */
export class OcspStoreError extends OcspError {}

/**
 * `createStapler` refused: the situations in which nats-server refuses to start. The message is
 * nats-server's start-up error text; `cause` holds the underlying OcspError.
 */
export class OcspStartupError extends OcspError {
  readonly certPath: string;
  constructor(code: OcspErrorCode, message: string, certPath: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.certPath = certPath;
  }
}
