// Test support: a ProtocolHandler that records every call as a plain tuple.
import { ProtocolParser, type ParserLimits } from '../../src/protocol/parser.js';
import type { ProtocolHandler, ProtocolViolation } from '../../src/protocol/handler.js';

export type Call =
  | ['connect', string]
  | ['pub', string, string | undefined, number, string]
  | ['sub', string, string | undefined, string]
  | ['unsub', string, number | undefined]
  | ['ping']
  | ['pong']
  | ['info', string]
  | ['ok']
  | ['err', string]
  | ['violation', ProtocolViolation];

export class Recorder implements ProtocolHandler {
  readonly calls: Call[] = [];
  readonly parser: ProtocolParser;
  /** Called after each recorded call (e.g. to halt the parser or change its settings). */
  after: ((c: Call, p: ProtocolParser) => void) | undefined;

  constructor(limits?: Partial<ParserLimits>) {
    this.parser = new ProtocolParser(this, limits);
  }
  private rec(c: Call): void {
    this.calls.push(c);
    this.after?.(c, this.parser);
  }
  onConnect(json: string): void {
    this.rec(['connect', json]);
  }
  onPub(subject: string, reply: string | undefined, headerSize: number, data: Buffer, start: number, end: number): void {
    this.rec(['pub', subject, reply, headerSize, data.toString('latin1', start, end)]);
  }
  onSub(subject: string, queue: string | undefined, sid: string): void {
    this.rec(['sub', subject, queue, sid]);
  }
  onUnsub(sid: string, max: number | undefined): void {
    this.rec(['unsub', sid, max]);
  }
  onPing(): void {
    this.rec(['ping']);
  }
  onPong(): void {
    this.rec(['pong']);
  }
  onInfo(json: string): void {
    this.rec(['info', json]);
  }
  onOk(): void {
    this.rec(['ok']);
  }
  onErr(text: string): void {
    this.rec(['err', text]);
  }
  onViolation(kind: ProtocolViolation): void {
    this.rec(['violation', kind]);
  }
}

/** Parses `input` (latin1 string(s) or Buffers, each one chunk) and returns the calls. */
export function parseChunks(chunks: (string | Buffer)[], limits?: Partial<ParserLimits>, setup?: (r: Recorder) => void): Call[] {
  const r = new Recorder(limits);
  setup?.(r);
  for (const c of chunks) r.parser.parse(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
  return r.calls;
}

/** Splits a buffer at the given sorted cut points. */
export function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of cuts) {
    if (c <= prev || c >= buf.length) continue;
    out.push(Buffer.from(buf.subarray(prev, c)));
    prev = c;
  }
  out.push(Buffer.from(buf.subarray(prev)));
  return out;
}
