// The wire protocol: bytes -> handler calls (parser), frames (encode), the -ERR table (errors).
export type { ProtocolHandler, ProtocolViolation } from './handler.js';
export { ProtocolParser, DEFAULT_LIMITS, parseSize } from './parser.js';
export type { ParserLimits } from './parser.js';
export * from './encode.js';
export * from './errors.js';
