// The one table of wire errors (`-ERR '<text>'\r\n`). No other file may spell an -ERR text.
//
// Texts are protocol facts and match nats-server exactly (checked live against nats-server 2.9.10
// where reachable from a client: see test/protocol/nats-server-errors.test.ts). `closes` says whether
// nats-server closes the connection after sending the error.
//
// Strings on the wire are handled in the "latin1 domain" throughout tsnats: one JS char per wire byte
// (see protocol/parser.ts). The formatted errors below take such strings and return Buffers that
// reproduce the client's bytes exactly, quoted the way Go's `%q` quotes them.

import type { ProtocolViolation } from './handler.js';

export interface WireError {
  /** The text between the quotes, e.g. `Unknown Protocol Operation`. */
  readonly text: string;
  /** nats-server closes the connection after sending it. */
  readonly closes: boolean;
  /** The pre-encoded frame `-ERR '<text>'\r\n`. Shared: never write into it. */
  readonly frame: Buffer;
}

/** Frames `-ERR '<text>'\r\n` (text in the latin1 domain: one char per byte). */
export function errFrame(text: string): Buffer {
  return Buffer.from(`-ERR '${text}'\r\n`, 'latin1');
}

function def(text: string, closes: boolean): WireError {
  return Object.freeze({ text, closes, frame: errFrame(text) });
}

// --- connection-closing errors -------------------------------------------------------------------

/** Parser state error: unknown verb, empty line, bad payload terminator, op/space mismatch. */
export const ERR_UNKNOWN_OP = def('Unknown Protocol Operation', true);
/** Authentication failed, or a first op other than CONNECT when auth is required. */
export const ERR_AUTH_VIOLATION = def('Authorization Violation', true);
/** `auth_timeout` expired before a valid CONNECT. */
export const ERR_AUTH_TIMEOUT = def('Authentication Timeout', true);
/** User JWT expired. */
export const ERR_USER_AUTH_EXPIRED = def('User Authentication Expired', true);
/** User JWT revoked by an account update (operator mode). */
export const ERR_USER_AUTH_REVOKED = def('User Authentication Revoked', true);
/** Account JWT expired. */
export const ERR_ACCOUNT_AUTH_EXPIRED = def('Account Authentication Expired', true);
/** CONNECT `protocol` neither 0 nor 1. */
export const ERR_INVALID_CLIENT_PROTOCOL = def('invalid client protocol', true);
/** CONNECT `no_responders:true` without `headers:true`. */
export const ERR_NO_RESPONDERS_REQUIRES_HEADERS = def('no responders requires headers support', true);
/** Control line arguments longer than `max_control_line`. */
export const ERR_MAX_CONTROL_LINE = def('maximum control line exceeded', true);
/** PUB/HPUB size larger than `max_payload`. */
export const ERR_MAX_PAYLOAD = def('Maximum Payload Violation', true);
/** TLS required but the handshake did not happen in time. */
export const ERR_TLS_REQUIRED = def('Secure Connection - TLS Required', true);
/** `ping_max` PINGs went unanswered. */
export const ERR_STALE_CONNECTION = def('Stale Connection', true);
/** `max_connections` reached (sent after INFO). */
export const ERR_MAX_CONNECTIONS = def('maximum connections exceeded', true);
/** Account connection limit reached. */
export const ERR_MAX_ACCOUNT_CONNECTIONS = def('maximum account active connections exceeded', true);
/** TLS connection rate limit (`tls.connection_rate_limit`). */
export const ERR_CONNECTION_THROTTLING = def('Connection throttling is active. Please try again later.', true);
/** A client (CONNECT with `lang`) on the cluster port. */
export const ERR_ROUTE_PORT = def('attempted to connect to route port', true);
/** A client (CONNECT with `lang`) on the leafnode port. */
export const ERR_LEAF_PORT = def('attempted to connect to leaf node port', true);
/** Internal failure to bind the connection to its account. */
export const ERR_FAILED_ACCOUNT_REGISTRATION = def('Failed Account Registration', true);

// --- errors after which the connection stays -----------------------------------------------------

/** SUB with a malformed subject. */
export const ERR_INVALID_SUBJECT = def('Invalid Subject', false);
/** `pedantic` client publishing to a subject with wildcards (the message is still processed). */
export const ERR_INVALID_PUBLISH_SUBJECT = def('Invalid Publish Subject', false);
/** `max_subscriptions` reached. */
export const ERR_MAX_SUBSCRIPTIONS = def('maximum subscriptions exceeded', false);

/** Every constant error above, for iteration (tests, docs). */
export const WIRE_ERRORS: readonly WireError[] = Object.freeze([
  ERR_UNKNOWN_OP,
  ERR_AUTH_VIOLATION,
  ERR_AUTH_TIMEOUT,
  ERR_USER_AUTH_EXPIRED,
  ERR_USER_AUTH_REVOKED,
  ERR_ACCOUNT_AUTH_EXPIRED,
  ERR_INVALID_CLIENT_PROTOCOL,
  ERR_NO_RESPONDERS_REQUIRES_HEADERS,
  ERR_MAX_CONTROL_LINE,
  ERR_MAX_PAYLOAD,
  ERR_TLS_REQUIRED,
  ERR_STALE_CONNECTION,
  ERR_MAX_CONNECTIONS,
  ERR_MAX_ACCOUNT_CONNECTIONS,
  ERR_CONNECTION_THROTTLING,
  ERR_ROUTE_PORT,
  ERR_LEAF_PORT,
  ERR_FAILED_ACCOUNT_REGISTRATION,
  ERR_INVALID_SUBJECT,
  ERR_INVALID_PUBLISH_SUBJECT,
  ERR_MAX_SUBSCRIPTIONS,
]);

/**
 * What the connection does for each parser violation: the -ERR to send first (none for
 * `bad_args`, as nats-server closes those silently) — the connection always closes.
 */
export const VIOLATION_ERRORS: Readonly<Record<ProtocolViolation, WireError | null>> = Object.freeze({
  unknown_op: ERR_UNKNOWN_OP,
  max_control_line: ERR_MAX_CONTROL_LINE,
  max_payload: ERR_MAX_PAYLOAD,
  auth_violation: ERR_AUTH_VIOLATION,
  bad_args: null,
});

/** Route CONNECT from another cluster (closes the route): nats-server's rejection text, sent as is. */
export function errClusterNameMismatch(theirs: string, ours: string): WireError {
  return def(`Rejecting connection, cluster name "${theirs}" does not match "${ours}"`, true);
}

// --- formatted errors (connection stays) ---------------------------------------------------------
// All of them quote with Go's %q (verified live: `"` -> `\"`, `\` -> `\\`, control and invalid
// UTF-8 bytes -> `\xNN`, valid printable UTF-8 kept as is).

/** `Permissions Violation for Publish to "<subject>"` */
export function errPermPublish(subject: string): Buffer {
  return errFrame(`Permissions Violation for Publish to ${goQuote(subject)}`);
}

/** `Permissions Violation for Publish with Reply of "<reply>"` */
export function errPermPublishReply(reply: string): Buffer {
  return errFrame(`Permissions Violation for Publish with Reply of ${goQuote(reply)}`);
}

/** `Permissions Violation for Subscription to "<subject>"` [+ ` using queue "<queue>"`] */
export function errPermSubscribe(subject: string, queue?: string): Buffer {
  const q = queue === undefined || queue === '' ? '' : ` using queue ${goQuote(queue)}`;
  return errFrame(`Permissions Violation for Subscription to ${goQuote(subject)}${q}`);
}

/** `Permissions Violation for Subscription to "<subject>" (sid "<sid>")`: removed by a reload (the connection stays). */
export function errPermSubscribeReload(subject: string, sid: string): WireError {
  const text = `Permissions Violation for Subscription to ${goQuote(subject)} (sid ${goQuote(sid)})`;
  return { text, closes: false, frame: errFrame(text) };
}

/** `Permissions Violation for Subscription to "<subject>", too many tokens` (max_sub_tokens) */
export function errPermSubscribeTooManyTokens(subject: string): Buffer {
  return errFrame(`Permissions Violation for Subscription to ${goQuote(subject)}, too many tokens`);
}

// --- Go %q ---------------------------------------------------------------------------------------

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const HEX = '0123456789abcdef';

function hex(n: number, width: number): string {
  let s = '';
  for (let i = width - 1; i >= 0; i--) s += HEX[(n >>> (i * 4)) & 15];
  return s;
}

/**
 * Go's `strconv.Quote` (what `%q` prints) over a latin1-domain string (one char per byte); returns a
 * latin1-domain string, so valid printable UTF-8 sequences are kept byte for byte.
 */
export function goQuote(s: string): string {
  let out = '"';
  const n = s.length;
  let i = 0;
  while (i < n) {
    const b = s.charCodeAt(i) & 0xff;
    if (b < 0x80) {
      i++;
      if (b === 0x22) out += '\\"';
      else if (b === 0x5c) out += '\\\\';
      else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
      else if (b === 0x07) out += '\\a';
      else if (b === 0x08) out += '\\b';
      else if (b === 0x0c) out += '\\f';
      else if (b === 0x0a) out += '\\n';
      else if (b === 0x0d) out += '\\r';
      else if (b === 0x09) out += '\\t';
      else if (b === 0x0b) out += '\\v';
      else out += '\\x' + hex(b, 2);
      continue;
    }
    // Decode one UTF-8 sequence; anything invalid is a single `\xNN` byte, as in Go.
    let len = 0;
    let cp = 0;
    let min = 0;
    if (b >= 0xc2 && b <= 0xdf) (len = 2), (cp = b & 0x1f), (min = 0x80);
    else if (b >= 0xe0 && b <= 0xef) (len = 3), (cp = b & 0x0f), (min = 0x800);
    else if (b >= 0xf0 && b <= 0xf4) (len = 4), (cp = b & 0x07), (min = 0x10000);
    let ok = len > 0 && i + len <= n;
    for (let k = 1; ok && k < len; k++) {
      const c = s.charCodeAt(i + k) & 0xff;
      if ((c & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
    if (!ok) {
      out += '\\x' + hex(b, 2);
      i++;
      continue;
    }
    if (PRINTABLE.test(String.fromCodePoint(cp))) out += s.slice(i, i + len);
    else if (cp < 0x10000) out += '\\u' + hex(cp, 4);
    else out += '\\U' + hex(cp, 8);
    i += len;
  }
  return out + '"';
}
