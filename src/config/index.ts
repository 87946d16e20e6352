// Public API of the configuration module: the NATS configuration file format
// (lexer, parser, options) and nats-server compatible command-line flags.

export { ConfigError, CONFIG_ERROR_CODE, formatPosition, isConfigError, type Position } from './errors.js';
export { Lexer, tokenize, MAX_NESTING_DEPTH, type Token, type TokenType } from './lexer.js';
export {
  parseConfig,
  parseConfigFile,
  getEntry,
  toPlain,
  parseIntegerText,
  type ArrayNode,
  type BoolNode,
  type ConfigNode,
  type DatetimeNode,
  type FloatNode,
  type IntegerNode,
  type MapEntry,
  type MapNode,
  type ParseOptions,
  type PlainValue,
  type StringNode,
} from './parser.js';
export {
  defaultOptions,
  optionsFromConfig,
  parseConfigText,
  loadConfigFile,
  configDigest,
  parseGoDuration,
  formatGoDuration,
  isValidSubject,
  CIPHER_SUITES,
  CURVES,
  UNSUPPORTED_OPTIONS,
  DEFAULT_PORT,
  DEFAULT_HOST,
  DEFAULT_TLS_TIMEOUT_MS,
  DEFAULT_TLS_HANDSHAKE_FIRST_FALLBACK_MS,
  type LoadOptions,
  type LoadedConfig,
} from './options.js';
export {
  parseFlags,
  applyOverrides,
  usage,
  tlsUsage,
  SIGNAL_NAMES,
  type AuthFlagOverrides,
  type FlagOverrides,
  type ParsedFlags,
  type SignalName,
  type SignalRequest,
  type TlsFlagOverrides,
} from './flags.js';
export type * from './types.js';
