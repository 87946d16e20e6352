// The client-protocol parser: a byte-at-a-time state machine over Buffers, shaped like nats-server's.
//
// Behaviour (each point checked live against nats-server 2.9.10, see test/protocol):
// - Op names are case-insensitive per character. PING, PONG and +OK are prefixes: the rest of their
//   line is ignored (and not buffered). An empty line or an unknown verb is `unknown_op`.
// - The op name must be followed by a space or tab for PUB, HPUB, SUB, UNSUB and -ERR (`PUB\r\n` is
//   `unknown_op`); CONNECT and INFO take their argument with or without a separator. The first byte
//   after the separator starts the argument whatever it is. Arguments are split on runs of spaces
//   and tabs (SUB/UNSUB also on CR and LF, see splitArgs).
// - A line ends at `\n`. If a `\r` was seen in the argument, the line loses its last byte before the
//   `\n` (nats-server's sticky `drop`): `PUB foo 5\r\n` and `PUB foo 5\n` are the same op.
// - `max_control_line` bounds the argument (from its first byte to the end of line, minus the
//   dropped `\r`): checked when the line ends and, for a line that straddles reads, at the end of
//   every chunk, so an unterminated line never holds more than `maxControlLine + 1` bytes.
// - Arity/size errors are `bad_args` (nats-server closes without -ERR); sizes are 1..9 decimal
//   digits. PUB size or HPUB total above `maxPayload` is `max_payload`, reported at the control line.
// - After exactly `size` payload bytes the next bytes must be `\r\n`, else `unknown_op`; the message
//   is dispatched only then.
//
// Memory: a control line straddling reads is copied into one reusable scratch buffer (allocated on
// first use, grown by doubling, never above `maxControlLine + 1` bytes); a payload that straddles
// reads is copied into one buffer of exactly its size; a payload that lies inside the chunk is
// passed as a range of the chunk. A PUB whose subject has the same bytes as the previous one reuses
// its string, so a run of publishes to one subject allocates nothing in the parser.
//
// Speed: a PUB that lies wholly in the chunk with plain single separators (what every client sends)
// is parsed in one pass by pubInChunk; anything else falls back to the byte states, which handle
// every odd form and report every error.
//
// Not re-entrant: a handler must not call `parse()` from inside a callback.

import type { ProtocolHandler, ProtocolViolation } from './handler.js';

export interface ParserLimits {
  /** Longest control-line argument accepted (nats-server `max_control_line`, default 4096). */
  maxControlLine: number;
  /** Largest PUB size / HPUB total accepted (`max_payload`, default 1 MiB); negative = no limit. */
  maxPayload: number;
}

export const DEFAULT_LIMITS: Readonly<ParserLimits> = Object.freeze({
  maxControlLine: 4096,
  maxPayload: 1024 * 1024,
});

/** nats-server parses sizes of at most 9 digits; anything longer is a bad size. */
const MAX_SIZE_DIGITS = 9;
/** Argument slots kept; further arguments are only counted (every op with more is an error). */
const MAX_ARGS = 5;

const enum S {
  OP_START,
  OP_PLUS,
  OP_PLUS_O,
  OP_PLUS_OK,
  OP_MINUS,
  OP_MINUS_E,
  OP_MINUS_ER,
  OP_MINUS_ERR,
  OP_MINUS_ERR_SPC,
  MINUS_ERR_ARG,
  OP_C,
  OP_CO,
  OP_CON,
  OP_CONN,
  OP_CONNE,
  OP_CONNEC,
  OP_CONNECT,
  CONNECT_ARG,
  OP_I,
  OP_IN,
  OP_INF,
  OP_INFO,
  INFO_ARG,
  OP_P,
  OP_PU,
  OP_PUB,
  OP_PUB_SPC,
  PUB_ARG,
  OP_PI,
  OP_PIN,
  OP_PING,
  OP_PO,
  OP_PON,
  OP_PONG,
  OP_H,
  OP_HP,
  OP_HPU,
  OP_HPUB,
  OP_HPUB_SPC,
  HPUB_ARG,
  OP_S,
  OP_SU,
  OP_SUB,
  OP_SUB_SPC,
  SUB_ARG,
  OP_U,
  OP_UN,
  OP_UNS,
  OP_UNSU,
  OP_UNSUB,
  OP_UNSUB_SPC,
  UNSUB_ARG,
  MSG_PAYLOAD,
  MSG_END_R,
  MSG_END_N,
  DEAD,
}

const SP = 32;
const TAB = 9;
const CR = 13;
const LF = 10;

/**
 * Parses a size the way nats-server does: 1 to 9 ASCII digits, else -1
 * (so `-1`, `+1`, `1a`, `` and `0000000001` are all invalid).
 */
export function parseSize(src: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n <= 0 || n > MAX_SIZE_DIGITS) return -1;
  let v = 0;
  for (let k = start; k < end; k++) {
    const d = src[k]! - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

type Latin1Slicer = { latin1Slice?: (start: number, end: number) => string };
const HAS_LATIN1_SLICE = typeof (Buffer.prototype as unknown as Latin1Slicer).latin1Slice === 'function';
const fcc = String.fromCharCode;

/**
 * Node's Buffer class behind `subarray` (FastBuffer); constructing it directly makes a view without
 * the generic TypedArray species path (the `ws` library does the same).
 */
const FastBuffer = (Buffer as unknown as { [Symbol.species]: new (ab: ArrayBufferLike, off: number, len: number) => Buffer })[
  Symbol.species
];

/** A view of buf[start, end) (cheaper than `subarray`). */
export function view(buf: Buffer, start: number, end: number): Buffer {
  return new FastBuffer(buf.buffer, buf.byteOffset + start, end - start);
}

/**
 * Decodes [s, e) as latin1. Short strings (subjects, sids) are built with String.fromCharCode, which
 * is about twice as fast as a native slice call for them.
 */
export function latin1(b: Buffer, s: number, e: number): string {
  switch (e - s) {
    case 0:
      return '';
    case 1:
      return fcc(b[s]!);
    case 2:
      return fcc(b[s]!, b[s + 1]!);
    case 3:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!);
    case 4:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!);
    case 5:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!);
    case 6:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!);
    case 7:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!);
    case 8:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!);
    case 9:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!);
    case 10:
      return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!);
    case 11:
      return fcc(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!,
        b[s + 10]!,
      );
    case 12:
      return fcc(
        b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!,
        b[s + 10]!, b[s + 11]!,
      );
    default:
      return HAS_LATIN1_SLICE ? (b as unknown as Required<Latin1Slicer>).latin1Slice(s, e) : b.toString('latin1', s, e);
  }
}

export class ProtocolParser {
  private readonly handler: ProtocolHandler;
  private maxControlLine: number;
  private maxPayload: number;

  /**
   * When true, the first byte of the next op must start CONNECT, else `auth_violation` (nats-server
   * sends ERR_AUTH_VIOLATION on the very first byte). Cleared by the parser when it dispatches a
   * CONNECT. Set it on accept when the server requires auth (and no `no_auth_user`).
   */
  expectConnect = false;
  /**
   * Whether HPUB is allowed (CONNECT `headers:true`). When false, an HPUB control line is
   * `bad_args` before its payload is read, as nats-server does. Default true (lenient); the
   * connection may set it from CONNECT inside `onConnect` (it applies to the very next op).
   */
  headers = true;
  /**
   * Set when the caller reuses chunk buffers (e.g. sockets reading into one shared buffer): a
   * payload that waits for its CRLF in the next chunk is then copied rather than viewed, and
   * handlers must copy what they keep of `onPub`'s `data`.
   */
  chunksReused = false;

  private state: S = S.OP_START;
  private halted = false;

  // Control line straddling reads: the raw bytes so far (including any `\r`).
  private scratch: Buffer | null = null;
  private scratchLen = 0;
  private sawCR = false;

  // Argument slots of the current control line.
  private readonly argS = new Int32Array(MAX_ARGS);
  private readonly argE = new Int32Array(MAX_ARGS);

  // The message whose payload or trailing CRLF is pending.
  private pSubject = '';
  private pReply: string | undefined = undefined;
  private pHdr = -1;
  private pSize = 0;
  private pBuf: Buffer | null = null;
  private pLen = 0;

  /** The last PUB/HPUB subject (see subjectAt). */
  private lastSubject = '';

  constructor(handler: ProtocolHandler, limits: Partial<ParserLimits> = {}) {
    this.handler = handler;
    this.maxControlLine = limits.maxControlLine ?? DEFAULT_LIMITS.maxControlLine;
    this.maxPayload = limits.maxPayload ?? DEFAULT_LIMITS.maxPayload;
  }

  /** Changes the limits; they apply from the next control line on. */
  setLimits(limits: Partial<ParserLimits>): void {
    if (limits.maxControlLine !== undefined) this.maxControlLine = limits.maxControlLine;
    if (limits.maxPayload !== undefined) this.maxPayload = limits.maxPayload;
  }

  get limits(): ParserLimits {
    return { maxControlLine: this.maxControlLine, maxPayload: this.maxPayload };
  }

  /**
   * Stops parsing right after the op being dispatched (call it from a handler callback, e.g. when
   * the connection closes). Permanent: later `parse()` calls ignore their input.
   */
  halt(): void {
    this.halted = true;
  }

  /** True once halted or after a violation. */
  get stopped(): boolean {
    return this.halted || this.state === S.DEAD;
  }

  /** Bytes of a straddling control line held in the scratch buffer. */
  get scratchBytes(): number {
    return this.scratchLen;
  }

  /** Bytes of a straddling payload held (copied or viewed) while waiting for the rest/CRLF. */
  get pendingPayloadBytes(): number {
    return this.pBuf === null ? 0 : this.pLen;
  }

  /**
   * Feeds one chunk. Payloads passed to `onPub` are ranges of `buf` (and a pending payload may
   * keep a view of it until the next call), so the caller must not reuse `buf` afterwards unless
   * `chunksReused` is set. If a handler callback throws, the exception propagates and the parser
   * stops for good.
   */
  parse(buf: Buffer): void {
    if (this.halted || this.state === S.DEAD) return;
    try {
      this.run(buf);
    } catch (err) {
      // A handler threw: the position in the stream is lost, so stop for good.
      this.state = S.DEAD;
      this.scratch = null;
      this.scratchLen = 0;
      this.pBuf = null;
      throw err;
    }
  }

  private run(buf: Buffer): void {
    const len = buf.length;
    const h = this.handler;
    let state = this.state;
    let as = 0; // start of the current argument in `buf` (prefix, if any, is in scratch)
    let i = 0;

    for (; i < len; i++) {
      const b = buf[i]!;
      switch (state) {
        case S.OP_START:
          if (this.expectConnect && (b | 0x20) !== 0x63) {
            return this.violate('auth_violation', 'first op is not CONNECT');
          }
          switch (b | 0x20) {
            case 0x70: // p
              // Fast path for the most frequent op: `PUB ` wholly in this chunk.
              if (
                i + 3 < len &&
                (buf[i + 1]! | 0x20) === 0x75 &&
                (buf[i + 2]! | 0x20) === 0x62 &&
                (buf[i + 3] === SP || buf[i + 3] === TAB)
              ) {
                const last = this.pubInChunk(buf, i + 4, len);
                if (last >= 0) {
                  i = last;
                  if (this.halted) return this.save(state);
                  break;
                }
                state = S.OP_PUB_SPC;
                i += 3;
              } else {
                state = S.OP_P;
              }
              break;
            case 0x73: // s
              state = S.OP_S;
              break;
            case 0x75: // u
              state = S.OP_U;
              break;
            case 0x68: // h
              state = S.OP_H;
              break;
            case 0x63: // c
              state = S.OP_C;
              break;
            case 0x69: // i
              state = S.OP_I;
              break;
            default:
              if (b === 0x2b) state = S.OP_PLUS;
              else if (b === 0x2d) state = S.OP_MINUS;
              else return this.unknownOp(b);
          }
          break;

        // ---- PUB / PING / PONG
        case S.OP_P:
          switch (b | 0x20) {
            case 0x75: // u
              state = S.OP_PU;
              break;
            case 0x69: // i
              state = S.OP_PI;
              break;
            case 0x6f: // o
              state = S.OP_PO;
              break;
            default:
              return this.unknownOp(b);
          }
          break;
        case S.OP_PU:
          if ((b | 0x20) === 0x62) state = S.OP_PUB;
          else return this.unknownOp(b);
          break;
        case S.OP_PUB:
          if (b === SP || b === TAB) state = S.OP_PUB_SPC;
          else return this.unknownOp(b);
          break;
        case S.OP_PUB_SPC:
          if (b !== SP && b !== TAB) {
            state = S.PUB_ARG;
            as = i;
          }
          break;
        case S.OP_PI:
          if ((b | 0x20) === 0x6e) state = S.OP_PIN;
          else return this.unknownOp(b);
          break;
        case S.OP_PIN:
          if ((b | 0x20) === 0x67) state = S.OP_PING;
          else return this.unknownOp(b);
          break;
        case S.OP_PING: {
          const j = buf.indexOf(LF, i);
          if (j < 0) {
            i = len;
            break;
          }
          i = j;
          state = S.OP_START;
          h.onPing();
          if (this.halted) return this.save(state);
          break;
        }
        case S.OP_PO:
          if ((b | 0x20) === 0x6e) state = S.OP_PON;
          else return this.unknownOp(b);
          break;
        case S.OP_PON:
          if ((b | 0x20) === 0x67) state = S.OP_PONG;
          else return this.unknownOp(b);
          break;
        case S.OP_PONG: {
          const j = buf.indexOf(LF, i);
          if (j < 0) {
            i = len;
            break;
          }
          i = j;
          state = S.OP_START;
          h.onPong();
          if (this.halted) return this.save(state);
          break;
        }

        // ---- HPUB
        case S.OP_H:
          if ((b | 0x20) === 0x70) state = S.OP_HP;
          else return this.unknownOp(b);
          break;
        case S.OP_HP:
          if ((b | 0x20) === 0x75) state = S.OP_HPU;
          else return this.unknownOp(b);
          break;
        case S.OP_HPU:
          if ((b | 0x20) === 0x62) state = S.OP_HPUB;
          else return this.unknownOp(b);
          break;
        case S.OP_HPUB:
          if (b === SP || b === TAB) state = S.OP_HPUB_SPC;
          else return this.unknownOp(b);
          break;
        case S.OP_HPUB_SPC:
          if (b !== SP && b !== TAB) {
            state = S.HPUB_ARG;
            as = i;
          }
          break;

        // ---- SUB
        case S.OP_S:
          if ((b | 0x20) === 0x75) state = S.OP_SU;
          else return this.unknownOp(b);
          break;
        case S.OP_SU:
          if ((b | 0x20) === 0x62) state = S.OP_SUB;
          else return this.unknownOp(b);
          break;
        case S.OP_SUB:
          if (b === SP || b === TAB) state = S.OP_SUB_SPC;
          else return this.unknownOp(b);
          break;
        case S.OP_SUB_SPC:
          if (b !== SP && b !== TAB) {
            state = S.SUB_ARG;
            as = i;
          }
          break;

        // ---- UNSUB
        case S.OP_U:
          if ((b | 0x20) === 0x6e) state = S.OP_UN;
          else return this.unknownOp(b);
          break;
        case S.OP_UN:
          if ((b | 0x20) === 0x73) state = S.OP_UNS;
          else return this.unknownOp(b);
          break;
        case S.OP_UNS:
          if ((b | 0x20) === 0x75) state = S.OP_UNSU;
          else return this.unknownOp(b);
          break;
        case S.OP_UNSU:
          if ((b | 0x20) === 0x62) state = S.OP_UNSUB;
          else return this.unknownOp(b);
          break;
        case S.OP_UNSUB:
          if (b === SP || b === TAB) state = S.OP_UNSUB_SPC;
          else return this.unknownOp(b);
          break;
        case S.OP_UNSUB_SPC:
          if (b !== SP && b !== TAB) {
            state = S.UNSUB_ARG;
            as = i;
          }
          break;

        // ---- CONNECT
        case S.OP_C:
          if ((b | 0x20) === 0x6f) state = S.OP_CO;
          else return this.unknownOp(b);
          break;
        case S.OP_CO:
          if ((b | 0x20) === 0x6e) state = S.OP_CON;
          else return this.unknownOp(b);
          break;
        case S.OP_CON:
          if ((b | 0x20) === 0x6e) state = S.OP_CONN;
          else return this.unknownOp(b);
          break;
        case S.OP_CONN:
          if ((b | 0x20) === 0x65) state = S.OP_CONNE;
          else return this.unknownOp(b);
          break;
        case S.OP_CONNE:
          if ((b | 0x20) === 0x63) state = S.OP_CONNEC;
          else return this.unknownOp(b);
          break;
        case S.OP_CONNEC:
          if ((b | 0x20) === 0x74) state = S.OP_CONNECT;
          else return this.unknownOp(b);
          break;
        case S.OP_CONNECT:
          if (b !== SP && b !== TAB) {
            state = S.CONNECT_ARG;
            as = i;
          }
          break;

        // ---- INFO
        case S.OP_I:
          if ((b | 0x20) === 0x6e) state = S.OP_IN;
          else return this.unknownOp(b);
          break;
        case S.OP_IN:
          if ((b | 0x20) === 0x66) state = S.OP_INF;
          else return this.unknownOp(b);
          break;
        case S.OP_INF:
          if ((b | 0x20) === 0x6f) state = S.OP_INFO;
          else return this.unknownOp(b);
          break;
        case S.OP_INFO:
          if (b !== SP && b !== TAB) {
            state = S.INFO_ARG;
            as = i;
          }
          break;

        // ---- +OK
        case S.OP_PLUS:
          if ((b | 0x20) === 0x6f) state = S.OP_PLUS_O;
          else return this.unknownOp(b);
          break;
        case S.OP_PLUS_O:
          if ((b | 0x20) === 0x6b) state = S.OP_PLUS_OK;
          else return this.unknownOp(b);
          break;
        case S.OP_PLUS_OK: {
          const j = buf.indexOf(LF, i);
          if (j < 0) {
            i = len;
            break;
          }
          i = j;
          state = S.OP_START;
          h.onOk();
          if (this.halted) return this.save(state);
          break;
        }

        // ---- -ERR
        case S.OP_MINUS:
          if ((b | 0x20) === 0x65) state = S.OP_MINUS_E;
          else return this.unknownOp(b);
          break;
        case S.OP_MINUS_E:
          if ((b | 0x20) === 0x72) state = S.OP_MINUS_ER;
          else return this.unknownOp(b);
          break;
        case S.OP_MINUS_ER:
          if ((b | 0x20) === 0x72) state = S.OP_MINUS_ERR;
          else return this.unknownOp(b);
          break;
        case S.OP_MINUS_ERR:
          if (b === SP || b === TAB) state = S.OP_MINUS_ERR_SPC;
          else return this.unknownOp(b);
          break;
        case S.OP_MINUS_ERR_SPC:
          if (b !== SP && b !== TAB) {
            state = S.MINUS_ERR_ARG;
            as = i;
          }
          break;

        // ---- control-line arguments: find the end of line
        case S.PUB_ARG:
        case S.HPUB_ARG:
        case S.SUB_ARG:
        case S.UNSUB_ARG:
        case S.CONNECT_ARG:
        case S.INFO_ARG:
        case S.MINUS_ERR_ARG: {
          let j = i;
          let cr = this.sawCR;
          for (; j < len; j++) {
            const c = buf[j]!;
            if (c === LF) break;
            if (c === CR) cr = true;
          }
          if (j === len) {
            // The line goes on in the next chunk.
            this.sawCR = cr;
            i = len;
            break;
          }
          // Line complete: the argument is [as, j) of buf, preceded by scratch[0, scratchLen).
          this.sawCR = false;
          let src: Buffer = buf;
          let s = as;
          let e = j;
          if (this.scratchLen > 0) {
            const total = this.scratchLen + j;
            if (total - (cr ? 1 : 0) > this.maxControlLine) {
              return this.violate('max_control_line', `control line of ${total - (cr ? 1 : 0)} bytes`);
            }
            this.ensureScratch(total);
            buf.copy(this.scratch!, this.scratchLen, 0, j);
            src = this.scratch!;
            s = 0;
            e = total;
            this.scratchLen = 0;
          }
          if (cr) e--;
          if (e - s > this.maxControlLine) {
            return this.violate('max_control_line', `control line of ${e - s} bytes`);
          }
          i = j;

          switch (state) {
            case S.PUB_ARG:
            case S.HPUB_ARG: {
              let hdr = -1;
              let size: number;
              const n = this.splitArgs(src, s, e, false);
              const argS = this.argS;
              const argE = this.argE;
              if (state === S.PUB_ARG) {
                if (n !== 2 && n !== 3) return this.violate('bad_args', `PUB with ${n} arguments`);
                size = parseSize(src, argS[n - 1]!, argE[n - 1]!);
                if (size < 0) return this.violate('bad_args', 'PUB with a bad or missing size');
              } else {
                if (!this.headers) return this.violate('bad_args', 'HPUB without headers support');
                if (n !== 3 && n !== 4) return this.violate('bad_args', `HPUB with ${n} arguments`);
                hdr = parseSize(src, argS[n - 2]!, argE[n - 2]!);
                if (hdr < 0) return this.violate('bad_args', 'HPUB with a bad or missing header size');
                size = parseSize(src, argS[n - 1]!, argE[n - 1]!);
                if (size < 0) return this.violate('bad_args', 'HPUB with a bad or missing total size');
                if (hdr > size) return this.violate('bad_args', 'HPUB header size larger than total size');
              }
              if (this.maxPayload >= 0 && size > this.maxPayload) {
                return this.violate('max_payload', `payload of ${size} bytes, max ${this.maxPayload}`);
              }
              const subject = this.subjectAt(src, argS[0]!, argE[0]!);
              const reply = n === (hdr < 0 ? 3 : 4) ? latin1(src, argS[1]!, argE[1]!) : undefined;

              const p = j + 1; // payload start
              const end = p + size;
              if (end + 2 <= len) {
                // Fast path: payload and CRLF are in this chunk; pass a view.
                if (buf[end] !== CR || buf[end + 1] !== LF) {
                  return this.violate('unknown_op', 'payload not followed by CRLF');
                }
                state = S.OP_START;
                i = end + 1;
                h.onPub(subject, reply, hdr, buf, p, end);
                if (this.halted) return this.save(state);
                break;
              }
              this.pSubject = subject;
              this.pReply = reply;
              this.pHdr = hdr;
              this.pSize = size;
              if (end <= len) {
                // Payload here, CRLF (partly) in the next chunk: keep a view (or a copy).
                this.pBuf = this.chunksReused ? Buffer.from(view(buf, p, end)) : view(buf, p, end);
                this.pLen = size;
                state = S.MSG_END_R;
                i = end - 1;
              } else {
                const pb = Buffer.allocUnsafe(size);
                buf.copy(pb, 0, p, len);
                this.pBuf = pb;
                this.pLen = len - p;
                state = S.MSG_PAYLOAD;
                i = len;
              }
              break;
            }

            case S.SUB_ARG: {
              const n = this.splitArgs(src, s, e, true);
              if (n !== 2 && n !== 3) return this.violate('bad_args', `SUB with ${n} arguments`);
              const argS = this.argS;
              const argE = this.argE;
              const subject = latin1(src, argS[0]!, argE[0]!);
              const queue = n === 3 ? latin1(src, argS[1]!, argE[1]!) : undefined;
              const sid = latin1(src, argS[n - 1]!, argE[n - 1]!);
              state = S.OP_START;
              h.onSub(subject, queue, sid);
              if (this.halted) return this.save(state);
              break;
            }

            case S.UNSUB_ARG: {
              const n = this.splitArgs(src, s, e, true);
              if (n !== 1 && n !== 2) return this.violate('bad_args', `UNSUB with ${n} arguments`);
              const sid = latin1(src, this.argS[0]!, this.argE[0]!);
              const max = n === 2 ? parseSize(src, this.argS[1]!, this.argE[1]!) : undefined;
              state = S.OP_START;
              h.onUnsub(sid, max);
              if (this.halted) return this.save(state);
              break;
            }

            case S.CONNECT_ARG: {
              const json = src.toString('utf8', s, e);
              state = S.OP_START;
              this.expectConnect = false;
              h.onConnect(json);
              if (this.halted) return this.save(state);
              break;
            }

            case S.INFO_ARG: {
              const json = src.toString('utf8', s, e);
              state = S.OP_START;
              h.onInfo(json);
              if (this.halted) return this.save(state);
              break;
            }

            default: {
              // MINUS_ERR_ARG
              const text = src.toString('utf8', s, e);
              state = S.OP_START;
              h.onErr(text);
              if (this.halted) return this.save(state);
              break;
            }
          }
          break;
        }

        // ---- payload of PUB/HPUB straddling chunks
        case S.MSG_PAYLOAD: {
          const need = this.pSize - this.pLen;
          const n = len - i < need ? len - i : need;
          buf.copy(this.pBuf!, this.pLen, i, i + n);
          this.pLen += n;
          i += n - 1;
          if (this.pLen === this.pSize) state = S.MSG_END_R;
          break;
        }
        case S.MSG_END_R:
          if (b !== CR) return this.violate('unknown_op', 'payload not followed by CRLF');
          state = S.MSG_END_N;
          break;
        case S.MSG_END_N: {
          if (b !== LF) return this.violate('unknown_op', 'payload not followed by CRLF');
          const payload = this.pBuf!;
          const subject = this.pSubject;
          const reply = this.pReply;
          this.pBuf = null;
          this.pLen = 0;
          this.pReply = undefined;
          this.pSubject = '';
          state = S.OP_START;
          h.onPub(subject, reply, this.pHdr, payload, 0, payload.length);
          if (this.halted) return this.save(state);
          break;
        }

        default:
          // DEAD
          return;
      }
    }

    // End of chunk inside a control-line argument: keep it in scratch, bounded by max_control_line.
    if (isArgState(state)) {
      const total = this.scratchLen + (len - as);
      const argLen = total - (this.sawCR ? 1 : 0);
      if (argLen > this.maxControlLine) {
        return this.violate('max_control_line', `control line of at least ${argLen} bytes`);
      }
      this.ensureScratch(total);
      buf.copy(this.scratch!, this.scratchLen, as, len);
      this.scratchLen = total;
    }
    this.state = state;
  }

  /**
   * The common PUB in one pass: `PUB ` has been seen at `p - 4`; if `<subject> [reply] <size>\r\n`,
   * the payload and its CRLF all lie in this chunk, with single-byte separators and nothing unusual,
   * dispatches it and returns the index of the final `\n`. Otherwise returns -1 having changed
   * nothing, and the general states parse the op (they handle every odd form and report every error).
   */
  private pubInChunk(buf: Buffer, p: number, len: number): number {
    // Tokens end at any byte <= 0x20; only a single space or tab may separate them.
    let k = p;
    let c = 0;
    for (; k < len; k++) if ((c = buf[k]!) <= SP) break;
    if (k === p || k >= len || (c !== SP && c !== TAB)) return -1;
    const subjectEnd = k;
    const second = ++k;
    for (; k < len; k++) if ((c = buf[k]!) <= SP) break;
    if (k === second || k >= len) return -1;
    let replyEnd = -1;
    let sizeStart = second;
    if (c === SP || c === TAB) {
      replyEnd = k;
      sizeStart = ++k;
      for (; k < len; k++) if ((c = buf[k]!) <= SP) break;
      if (k === sizeStart) return -1;
    }
    if (c !== CR || k + 1 >= len || buf[k + 1] !== LF || k - p > this.maxControlLine) return -1;
    const size = parseSize(buf, sizeStart, k);
    if (size < 0 || (this.maxPayload >= 0 && size > this.maxPayload)) return -1;
    const start = k + 2;
    const end = start + size;
    if (end + 2 > len || buf[end] !== CR || buf[end + 1] !== LF) return -1;
    const subject = this.subjectAt(buf, p, subjectEnd);
    this.handler.onPub(subject, replyEnd < 0 ? undefined : latin1(buf, second, replyEnd), -1, buf, start, end);
    return end + 1;
  }

  /** The subject in [s, e): the previous PUB's string when the bytes are the same (no decode, no garbage). */
  private subjectAt(src: Buffer, s: number, e: number): string {
    const last = this.lastSubject;
    const n = e - s;
    if (n === last.length) {
      let k = 0;
      while (k < n && last.charCodeAt(k) === src[s + k]) k++;
      if (k === n) return last;
    }
    return (this.lastSubject = latin1(src, s, e));
  }

  private save(state: S): void {
    this.state = state;
  }

  /** Makes room for `n` bytes (n <= maxControlLine + 1): starts small, doubles, capped at the limit. */
  private ensureScratch(n: number): void {
    const cur = this.scratch;
    if (cur !== null && cur.length >= n) return;
    let want = cur === null ? 512 : cur.length * 2;
    const cap = this.maxControlLine + 1;
    if (want > cap) want = cap;
    if (want < n) want = n;
    const nb = Buffer.allocUnsafe(want);
    if (cur !== null && this.scratchLen > 0) cur.copy(nb, 0, 0, this.scratchLen);
    this.scratch = nb;
  }

  /**
   * Splits [s, e) into argS/argE on runs of spaces and tabs, and also CRs and LFs if `crlf`;
   * returns the argument count. nats-server splits PUB/HPUB on spaces and tabs only but SUB/UNSUB
   * on all four (so `PUB a r\r 0 x\n` publishes with reply `r\r`, `SUB a 1\r\r\n` has sid `1`).
   */
  private splitArgs(src: Buffer, s: number, e: number, crlf: boolean): number {
    const argS = this.argS;
    const argE = this.argE;
    let n = 0;
    let start = -1;
    for (let k = s; k < e; k++) {
      const c = src[k];
      if (c === SP || c === TAB || (crlf && (c === CR || c === LF))) {
        if (start >= 0) {
          if (n < MAX_ARGS) {
            argS[n] = start;
            argE[n] = k;
          }
          n++;
          start = -1;
        }
      } else if (start < 0) {
        start = k;
      }
    }
    if (start >= 0) {
      if (n < MAX_ARGS) {
        argS[n] = start;
        argE[n] = e;
      }
      n++;
    }
    return n;
  }

  private unknownOp(b: number): void {
    const shown = b >= 0x21 && b < 0x7f ? `'${String.fromCharCode(b)}'` : `0x${b.toString(16).padStart(2, '0')}`;
    this.violate('unknown_op', `unexpected byte ${shown}`);
  }

  private violate(kind: ProtocolViolation, detail: string): void {
    this.state = S.DEAD;
    this.scratch = null;
    this.scratchLen = 0;
    this.pBuf = null;
    this.pLen = 0;
    this.handler.onViolation(kind, detail);
  }
}

function isArgState(s: S): boolean {
  return (
    s === S.PUB_ARG ||
    s === S.HPUB_ARG ||
    s === S.SUB_ARG ||
    s === S.UNSUB_ARG ||
    s === S.CONNECT_ARG ||
    s === S.INFO_ARG ||
    s === S.MINUS_ERR_ARG
  );
}
