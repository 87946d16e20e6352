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

/** The messaging side of one account: subscriptions and publishes in that account's subject index. */
export interface JsAccountPort {
  /** The account's name (`$G`, or a configured account). */
  readonly account: string;
  /**
   * Subscribes an internal handler (a subscription in the account's subject index, seen by
   * matching like any client's). The handler runs inline on the publisher's read path.
   */
  subscribe(subject: string, handler: MsgHandler, queue?: string): InternalSub;
  /**
   * Publishes into the account's normal delivery path (matching, queue groups). `hdr` is a
   * complete header block or null. `msgSubject`, when given, is the subject receivers see (a
   * consumer delivers to its deliver subject or a pull request's inbox with the message's own
   * subject). Returns true if at least one subscription took it.
   */
  publish(subject: string, reply: string | undefined, hdr: Buffer | null, data: Buffer, msgSubject?: string): boolean;
  /** Whether a subscription (of a client or internal) matches `subject` (in `queue` when given). */
  hasInterest(subject: string, queue?: string): boolean;
  /** Whether leaf node connections are bound to the account (nats-server stays silent then). */
  hasLeafs(): boolean;
}

/** JetStream limits of an account; -1 = unlimited. */
export interface JsAccountLimits {
  maxMemory: number;
  maxStore: number;
  maxStreams: number;
  maxConsumers: number;
  /** Every stream must set max_bytes (default false). */
  maxBytesRequired?: boolean;
  /** Largest max_bytes of one memory / file stream (default -1). */
  memoryMaxStreamBytes?: number;
  storeMaxStreamBytes?: number;
  /** Consumers' max_ack_pending limit and default (default -1). */
  maxAckPending?: number;
}

/** An account the server knows, as JetStream sees it. */
export interface JsAccountSpec {
  name: string;
  /** The account's JetStream limits; undefined = JetStream not enabled for the account. */
  limits: JsAccountLimits | undefined;
}

/** The server: its global account's messaging (`$G`), its accounts, log and identity. */
export interface JsPort extends JsAccountPort {
  /**
   * Every account of the server, each with its JetStream limits or none (the server applies
   * nats-server's rule of which accounts get JetStream).
   */
  accounts(): JsAccountSpec[];
  /** The messaging side of the named account (undefined: no such account). */
  forAccount(name: string): JsAccountPort | undefined;
  readonly log: JsLog;
  /** The server's id and name (API audit, /jsz). */
  readonly serverId: string;
  readonly serverName: string;
}
