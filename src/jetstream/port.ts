// The narrow interface between the JetStream engine and the server it runs in. The engine imports
// nothing from src/server/: the server hands it an implementation of JsPort (src/server/internal.ts).

/** A message as the engine receives it: copies, safe to keep. `hdr` is the raw `NATS/1.0` block. */
export type MsgHandler = (subject: string, reply: string | undefined, hdr: Buffer | null, data: Buffer) => void;

export interface InternalSub {
  readonly subject: string;
  unsubscribe(): void;
}

export interface JsLog {
  notice(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
}

export interface JsPort {
  /**
   * Subscribes an internal handler (a subscription in the server's subject index, seen by
   * matching like any client's). The handler runs inline on the publisher's read path.
   */
  subscribe(subject: string, handler: MsgHandler, queue?: string): InternalSub;
  /**
   * Publishes into the server's normal delivery path (matching, queue groups). `hdr` is a complete
   * header block or null. `msgSubject`, when given, is the subject receivers see (a consumer
   * delivers to its deliver subject or a pull request's inbox with the message's own subject).
   * Returns true if at least one subscription took it.
   */
  publish(subject: string, reply: string | undefined, hdr: Buffer | null, data: Buffer, msgSubject?: string): boolean;
  /** Whether a subscription (of a client or internal) matches `subject` (in `queue` when given). */
  hasInterest(subject: string, queue?: string): boolean;
  readonly log: JsLog;
  /** The server's id and name (API audit, /jsz). */
  readonly serverId: string;
  readonly serverName: string;
}
