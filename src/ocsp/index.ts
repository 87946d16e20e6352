// tsnats/ocsp — a strict, observable OCSP stapling engine for any Node tls/https/http2 server.
// See docs/ocsp-engine.md. Nothing here depends on the tsnats server.

export {
  createStapler,
  attachStaplers,
  Stapler,
  StapleMemory,
  sharedStapleMemory,
  computeRefreshDelay,
  computeRetryDelay,
  DEFAULT_REFRESH_POLICY,
  type AttachedStaplers,
  type OcspMode,
  type RefreshPolicy,
  type ShutdownEvent,
  type StapleInfo,
  type StapleSource,
  type StapleStatus,
  type StaplerCounters,
  type StaplerEvents,
  type StaplerOptions,
  type StaplerStatus,
  type StaplerTimers,
} from './stapler.js';
export {
  OcspError,
  OcspCertificateError,
  OcspFetchError,
  OcspValidationError,
  OcspStoreError,
  OcspStartupError,
  type OcspAttempt,
  type OcspErrorCode,
} from './errors.js';
export type { OcspLogger } from './logger.js';
// Building blocks, for tools and tests that need one step on its own.
export {
  parseCertificate,
  parseCertificateChain,
  parseCaBundle,
  findIssuer,
  hasStatusRequest,
  type CertificateInfo,
} from './certificate.js';
export {
  buildOcspRequest,
  certIdFor,
  ocspGetUrl,
  parseOcspRequest,
  type CertIdHash,
  type CertIdValues,
} from './request.js';
export { parseOcspResponse, type CertStatusName, type ParsedOcspResponse, type SingleResponseInfo } from './response.js';
export { verifyOcspResponse, type VerifyOptions, type VerifiedOcspResponse } from './verify.js';
export { fetchOcspResponse, type FetchOptions, type FetchResult } from './fetch.js';
export { StapleStore } from './store.js';
export { formatDuration, formatRfc3339, formatGoTime } from './format.js';
