// What the byte-level protocol parser reports. The client connection implements this.

/** Why the parser stopped. Each maps to nats-server's reaction (see protocol/errors.ts). */
export type ProtocolViolation =
  | 'unknown_op' // -ERR 'Unknown Protocol Operation', close
  | 'max_control_line' // -ERR 'maximum control line exceeded', close
  | 'max_payload' // -ERR 'Maximum Payload Violation', close
  | 'bad_args'; // close without -ERR (arity, bad size, hdr > total ...)

export interface ProtocolHandler {
  onConnect(json: string): void;
  /**
   * PUB (headerSize = -1) or HPUB. `payload` is a view of exactly the announced number of bytes
   * (headers + body for HPUB); it is only valid during the call.
   */
  onPub(subject: string, reply: string | undefined, headerSize: number, payload: Buffer): void;
  onSub(subject: string, queue: string | undefined, sid: string): void;
  onUnsub(sid: string, max: number | undefined): void;
  onPing(): void;
  onPong(): void;
  onInfo(json: string): void;
  onOk(): void;
  onErr(text: string): void;
  onViolation(kind: ProtocolViolation): void;
}
