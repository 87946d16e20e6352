// What the byte-level protocol parser reports. The client connection implements this.
//
// Strings: subject, reply, queue and sid are decoded `latin1` (one JS char per wire byte), so any
// byte sequence round-trips exactly when encoded back with `latin1` (protocol/encode.ts does).
// CONNECT/INFO JSON and -ERR text are decoded as UTF-8.

/** Why the parser stopped. Each maps to nats-server's reaction (see protocol/errors.ts). */
export type ProtocolViolation =
  | 'unknown_op' // ERR_UNKNOWN_OP, close
  | 'max_control_line' // ERR_MAX_CONTROL_LINE, close
  | 'max_payload' // ERR_MAX_PAYLOAD, close
  | 'auth_violation' // ERR_AUTH_VIOLATION, close (only when parser.expectConnect is set)
  | 'bad_args'; // close without -ERR (arity, bad size, hdr > total, HPUB when parser.headers is false)
// (errors.ts VIOLATION_ERRORS maps each kind to its WireError.)

export interface ProtocolHandler {
  /** CONNECT's argument as sent (nats-server closes without -ERR if it is not valid JSON). */
  onConnect(json: string): void;
  /**
   * PUB (headerSize = -1) or HPUB, called once the trailing CRLF has arrived. The payload is
   * `data[start, end)`: exactly the announced number of bytes (headers + body for HPUB). The parser
   * never writes into `data` afterwards, so a view of it may be retained (e.g. queued for a
   * subscriber's writev); that retains the chunk given to `parse()` — unless the parser's
   * `chunksReused` is set, in which case `data` is valid during the call only. Passing the range rather than a view spares an allocation per message when nothing
   * needs the payload (no subscriber) or when it is copied anyway.
   *
   * `subject` is the same string object as in the previous call when its bytes are the same, so
   * a handler may memoize on it with `===` (a pointer comparison in that case).
   */
  onPub(subject: string, reply: string | undefined, headerSize: number, data: Buffer, start: number, end: number): void;
  onSub(subject: string, queue: string | undefined, sid: string): void;
  /**
   * `max` is undefined when absent and -1 when it is not a valid size (nats-server then
   * unsubscribes immediately, as for any `max <= delivered`).
   */
  onUnsub(sid: string, max: number | undefined): void;
  onPing(): void;
  onPong(): void;
  /** INFO from a client: nats-server ignores valid JSON and closes (no -ERR) on invalid JSON. */
  onInfo(json: string): void;
  onOk(): void;
  /** `-ERR` from the client, its argument as sent (quotes included); nats-server closes. */
  onErr(text: string): void;
  /**
   * The parser has stopped and ignores all further input. `detail` is a short human-readable
   * reason for logs (never sent on the wire).
   */
  onViolation(kind: ProtocolViolation, detail?: string): void;
}
