// Imports and exports between accounts, and account subject mappings (loaded lazily: only when
// the configuration has imports or mappings). nats-server 2.9.10 (server/accounts.go, client.go
// processServiceImport / processMsgResults) is the ground truth; docs/accounts.md, "Imports and
// exports", describes the behaviour and the differences.
//
// Every bridge is a subscription in an account's own subject index, so a publish finds it through
// the normal match and the plain publish path carries no extra check:
// - stream import: a subscription on the exported subject in the EXPORTER's index; a matching
//   message is delivered to the importer's local subscribers under the mapped subject (prefix or
//   `to`). Not transitive (as nats-server's shadow subscriptions) and never for a message that
//   itself came through a service import.
// - service import: a subscription on the local subject (`to`) in the IMPORTER's index; a request
//   is delivered in the exporter under the exported subject, with a `Nats-Request-Info` header and
//   a generated reply `_R_.<account prefix>.<token>` that maps back to the requester's reply.
// - responses: one `_R_.<prefix>.>` subscription per account that answers imported requests; the
//   map entry is removed on the first response (Singleton), on an empty message, when nothing took
//   the response, or after the export's response_threshold (default 2 min).

import type { ExportEntry, ImportEntry, ServerOptions } from '../../config/types.js';
import { exportAllows } from '../../config/accounts.js';
import { Subscription, type Client, type SubscriptionTarget } from '../client.js';
import type { Producer } from '../connection/core.js';
import { ServerLink } from '../connection/link.js';
import type { Server } from '../server.js';
import type { Account } from './account.js';
import { isLiteral, subjectIsSubsetOf } from '../../protocol/subjects.js';
import type { ActivationCheck } from '../jwt/activation.js';
import { SubjectMappings, SubjectTransform, TransformError, newMapping, tokenizeWildcards, type MappingSpec } from '../../protocol/subject-transform.js';

type Acc = Account<Subscription>;

const DEFAULT_RESPONSE_THRESHOLD_MS = 2 * 60_000;
const REQUEST_INFO = 'Nats-Request-Info';
const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const enum Kind {
  Stream,
  Service,
  Response,
}

/** A subscription owned by a bridge (never counted as a client's). */
class LinkSub extends Subscription {
  /**
   * A service import's subscription is not sent to routes (nats-server's noForward): the
   * requester's own server handles the import and forwards the request in the exporting account.
   * Stream import and response subscriptions are: the exporter's messages and the responses must
   * reach the server that holds the bridge.
   */
  readonly noRoute: boolean;

  constructor(
    target: SubscriptionTarget,
    subject: string,
    sid: string,
    readonly kind: Kind,
    readonly account: Acc,
  ) {
    super(target, subject, undefined, sid);
    this.noRoute = kind === Kind.Service;
  }
}

/** One service export as the request/response plumbing sees it. */
interface ExportRef {
  account: Acc;
  subject: string;
  responseType: 'Singleton' | 'Stream' | 'Chunked';
  thresholdMs: number;
}

/** A pending response mapping: `from` (a `_R_.` subject in `owner`) → `to` in `dest`. */
interface Resp {
  from: string;
  owner: Acc;
  dest: Acc;
  to: string;
  exp: ExportRef;
  ts: number;
}

/** Six base-62 characters from one random draw (62^6 < 2^53). */
function randomToken6(): string {
  let v = Math.floor(Math.random() * 56_800_235_584);
  let s = '';
  for (let i = 0; i < 6; i++) {
    s += DIGITS[v % 62];
    v = Math.floor(v / 62);
  }
  return s;
}

/**
 * Delivers a message inside `acc` to its local subscribers (one per queue group). Remote interest
 * (routes, leafs) is not served from here. `fromStream`: a stream import, which reaches client
 * subscriptions only; otherwise (service requests and responses) bridges other than stream imports
 * take part, which is how a service import chain and the way back of responses work.
 */
function deliverIn(
  acc: Acc,
  producer: Producer,
  subject: string,
  reply: string | undefined,
  hdr: number,
  data: Buffer,
  start: number,
  end: number,
  fromStream: boolean,
  served: Set<string> | null = null,
  fwd: RemoteForwarder | null = null,
): boolean {
  const r = acc.index.match(subject);
  const plain = r.plain;
  const queues = r.queues;
  if (plain.length + queues.length === 0) return false;
  const payload = end - start > 64 ? data.subarray(start, end) : null;
  // Requests and responses go on to routes and leafs with interest in `acc` (one hop: not when
  // they came from one); stream imports are delivered on each server that holds the bridge.
  const remote = fwd !== null && !fromStream && fromClient(producer);
  let far: Subscription[] | null = null;
  let farQueues: Subscription[][] | null = null;
  let delivered = false;
  for (let i = 0; i < plain.length; i++) {
    const sub = plain[i]!;
    if (skip(sub, fromStream)) {
      if (remote && sub.client instanceof ServerLink) (far ??= []).push(sub);
      continue;
    }
    if (sub.client.deliver(producer, sub, subject, reply, hdr, data, start, end, payload)) delivered = true;
  }
  for (let g = 0; g < queues.length; g++) {
    const group = queues[g]!;
    const n = group.length;
    const qn = group[0]?.queue;
    if (served !== null && qn !== undefined && served.has(qn)) continue;
    const at = n === 1 ? 0 : Math.floor(Math.random() * n);
    let taken = false;
    for (let k = 0; k < n; k++) {
      const sub = group[(at + k) % n]!;
      if (skip(sub, fromStream)) continue;
      if (sub.client.deliver(producer, sub, subject, reply, hdr, data, start, end, payload)) {
        taken = true;
        if (served !== null && qn !== undefined) served.add(qn);
        break;
      }
    }
    if (taken) delivered = true;
    else if (remote) {
      const others = group.filter((s) => s.client instanceof ServerLink);
      if (others.length > 0) (farQueues ??= []).push(others);
    }
  }
  if (far !== null || farQueues !== null) {
    if (fwd!.publish(producer, { plain: far ?? [], queues: farQueues ?? [] }, true, subject, reply, hdr, data, start, end, payload, acc.name)) {
      delivered = true;
    }
  }
  return delivered;
}

/** A client connection's publish (not a route's or leaf's: one hop; not an internal producer). */
function fromClient(producer: Producer): boolean {
  if (producer instanceof ServerLink) return false;
  const c = producer as Partial<Client>;
  return typeof c.parser === 'object' && c.parser !== null && c.account !== undefined;
}

/** What forwards a message to routes and leafs in a given account (Leafnodes, else Cluster). */
interface RemoteForwarder {
  publish(
    producer: Producer,
    r: { plain: readonly Subscription[]; queues: readonly (readonly Subscription[])[] },
    echo: boolean,
    subject: string,
    reply: string | undefined,
    hdr: number,
    data: Buffer,
    start: number,
    end: number,
    payload: Buffer | null,
    account: string,
  ): boolean;
}

function skip(sub: Subscription, fromStream: boolean): boolean {
  if (sub instanceof LinkSub) return fromStream || sub.kind === Kind.Stream;
  return sub.client instanceof ServerLink;
}

/** `h` with the header `key: value` set (an existing one replaced), as nats-server's setHeader. */
function setHeader(data: Buffer, start: number, end: number, hdr: number, key: string, value: string): { buf: Buffer; hdr: number } {
  let head: string;
  if (hdr > 2) {
    // The original block without its final CRLF, minus an existing `key:` line.
    head = data.toString('latin1', start, start + hdr - 2);
    const at = head.indexOf(`\r\n${key}:`);
    if (at >= 0) {
      const lineEnd = head.indexOf('\r\n', at + 2);
      head = head.slice(0, at) + (lineEnd >= 0 ? head.slice(lineEnd) : '');
    }
    if (!head.endsWith('\r\n')) head += '\r\n';
  } else {
    head = 'NATS/1.0\r\n';
  }
  const block = Buffer.from(`${head}${key}: ${value}\r\n\r\n`, 'latin1');
  const bodyFrom = hdr >= 0 ? start + hdr : start;
  const buf = Buffer.allocUnsafe(block.length + (end - bodyFrom));
  block.copy(buf, 0);
  data.copy(buf, block.length, bodyFrom, end);
  return { buf, hdr: block.length };
}

/** The value of header `key` in the block data[start, start+hdr), or undefined. */
function getHeader(data: Buffer, start: number, hdr: number, key: string): string | undefined {
  if (hdr <= 0) return undefined;
  const h = data.toString('latin1', start, start + hdr);
  const at = h.indexOf(`\r\n${key}:`);
  if (at < 0) return undefined;
  const from = at + 2 + key.length + 1;
  const to = h.indexOf('\r\n', from);
  return h.slice(from, to < 0 ? undefined : to).trim();
}

// nats-server's ClientInfo field order (events.go), for the fields a request header carries.
const CI_ORDER = ['start', 'host', 'id', 'acc', 'svc', 'user', 'name', 'lang', 'ver', 'rtt', 'server', 'cluster', 'alts', 'stop', 'jwt', 'issuer_key', 'name_tag', 'tags', 'kind', 'client_type', 'client_id'];

function orderedJson(o: Record<string, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const k of CI_ORDER) if (o[k] !== undefined && (k === 'acc' || (o[k] !== '' && o[k] !== 0))) out[k] = o[k];
  return JSON.stringify(out);
}

class StreamBridge implements SubscriptionTarget {
  constructor(
    private readonly links: AccountLinks,
    private readonly importer: Acc,
    private readonly tr: SubjectTransform | null,
    /** The local subject for a literal import; undefined: the published subject (same wildcard). */
    private readonly to: string | undefined,
  ) {}

  deliver(producer: Producer, sub: Subscription, subject: string, reply: string | undefined, hdr: number, data: Buffer, start: number, end: number, _payload: Buffer | null, msgSubject?: string): boolean {
    // A message that came in through a service import is not re-exported to stream importers.
    if (this.links.inService > 0 || sub.closed) return false;
    const s = msgSubject ?? subject;
    const local = this.tr !== null ? this.tr.apply(s) : (this.to ?? s);
    this.links.streamMsgs++;
    return deliverIn(this.importer, producer, local, reply, hdr, data, start, end, true, this.links.queuesServed(producer, data, start, this.importer));
  }
}

class ServiceBridge implements SubscriptionTarget {
  constructor(
    private readonly links: AccountLinks,
    readonly importer: Acc,
    readonly exporter: Acc,
    readonly exp: ExportRef,
    private readonly tr: SubjectTransform | null,
    private readonly remote: string | undefined,
    /** `share: true`: the request header carries the requester's details. */
    readonly share: boolean,
  ) {}

  deliver(producer: Producer, sub: Subscription, subject: string, reply: string | undefined, hdr: number, data: Buffer, start: number, end: number): boolean {
    if (sub.closed) return false;
    const to = this.tr !== null ? this.tr.apply(subject) : (this.remote ?? subject);
    this.links.forwardRequest(this, producer, to, reply, hdr, data, start, end);
    // As nats-server: handing a request to the import counts as a delivery (no 503 for the
    // requester even when nobody in the exporting account listens).
    return true;
  }
}

/** The `_R_.<prefix>.>` subscription of an account that answers imported requests. */
class ResponseRouter implements SubscriptionTarget {
  readonly prefix: string;
  readonly pending = new Map<string, Resp>();
  sub: LinkSub | null = null;

  constructor(
    private readonly links: AccountLinks,
    readonly account: Acc,
  ) {
    this.prefix = `_R_.${randomToken6()}.`;
  }

  deliver(producer: Producer, _sub: Subscription, subject: string, reply: string | undefined, hdr: number, data: Buffer, start: number, end: number): boolean {
    const r = this.pending.get(subject);
    if (r === undefined) return false;
    this.links.forwardResponse(r, producer, reply, hdr, data, start, end);
    return true;
  }
}

interface InfoBlock {
  rtt: number;
  acc: string;
  block: Buffer;
}

export interface AccountLinksStats {
  streamImports: number;
  serviceImports: number;
  /** Response mappings waiting for a response (bounded by response_threshold). */
  pendingResponses: number;
  requests: number;
  responses: number;
  streamMsgs: number;
  expired: number;
}

/** The bridges of one server: built from the options, rebuilt on reload. */
export class AccountLinks {
  /** > 0 while a message is being delivered through a service import or its response. */
  inService = 0;
  requests = 0;
  responses = 0;
  streamMsgs = 0;
  expired = 0;
  private chain: ExportRef[] = [];
  private subs: LinkSub[] = [];
  private streamCount = 0;
  private serviceCount = 0;
  private readonly routers = new Map<Acc, ResponseRouter>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweepAt = 0;
  private sid = 0;
  private readonly served: { producer: Producer | null; seq: number; data: Buffer | null; start: number; importer: Acc | null; names: Set<string> } = {
    producer: null,
    seq: -1,
    data: null,
    start: -1,
    importer: null,
    names: new Set(),
  };
  /** Per requesting connection: its `Nats-Request-Info` header block (plain, shared). */
  private readonly blocks = new WeakMap<object, [InfoBlock | undefined, InfoBlock | undefined]>();

  /** Operator mode: checks an import's activation token (src/server/jwt/activation.ts, set by the server). */
  activation: ActivationCheck | undefined;
  private activationExpiry = 0;
  private activationTimer: NodeJS.Timeout | null = null;

  constructor(private readonly server: Server) {}

  /** Routes and leafs (Server.linkPublisher). */
  private get remote(): RemoteForwarder | null {
    return this.server.linkPublisher() as RemoteForwarder | null;
  }

  /**
   * (Re)builds mappings and import bridges: each account's own configuration entry
   * (`Account.config`: the file's `accounts {}`, or what operator mode set from an account JWT)
   * and the top-level `mappings` for `$G`. Pending responses are kept. Call again whenever an
   * account's exports, imports or mappings change.
   */
  apply(o: ServerOptions): void {
    const log = this.server.logger;
    const accounts = this.server.accounts;
    for (const s of this.subs) {
      s.closed = true;
      s.account.index.remove(s);
    }
    this.subs = [];
    this.streamCount = 0;
    this.serviceCount = 0;
    // Routers of accounts gone from the configuration.
    for (const [acc, r] of this.routers) {
      if (accounts.get(acc.name) !== acc) this.dropRouter(r);
    }

    // Mappings: `mappings {}` of each account, the top-level ones for `$G`.
    const cluster = (): string | undefined => this.server.cluster?.name ?? o.cluster?.name;
    const mapsFor = (acc: Acc, list: MappingSpec[] | undefined): void => {
      const ok: MappingSpec[] = [];
      for (const m of list ?? []) {
        try {
          newMapping(m.source, m.destination);
          ok.push(m);
        } catch (e) {
          log.error(`Error adding mapping for ${JSON.stringify(m.source)} to ${JSON.stringify(m.destination)} : ${(e as Error).message}`);
        }
      }
      acc.mappings = ok.length > 0 ? new SubjectMappings(ok, cluster) : null;
    };
    for (const acc of accounts.all()) mapsFor(acc, acc === accounts.global ? o.mappings : acc.config?.mappings);

    // Imports.
    const now = Math.floor(Date.now() / 1000);
    this.activationExpiry = 0;
    for (const importer of accounts.all()) {
      for (const i of importer.config?.imports ?? []) {
        const exporter = accounts.get(i.account);
        // Operator mode: the exporting account is bridged when it is registered (its first user).
        if (!exporter && o.operator) continue;
        const exports = exporter?.config?.exports ?? [];
        if (exporter && o.operator && this.activation) {
          // Account JWTs: nats-server's checkServiceImportAuthorized / checkStreamImportAuthorized.
          if (!this.jwtImportAuthorized(importer, exporter, i, exports, now)) {
            log.debug(`Error adding ${i.kind} import to account [${importer.name}]: ${i.kind} import not authorized`);
            continue;
          }
        } else if (!exporter || !exports.some((x) => x.kind === i.kind && exportAllows(x, i.subject, importer.name))) {
          // Checked when the file is loaded; checked again here for accounts set up at run time.
          log.error(`Error adding ${i.kind} import ${JSON.stringify(i.subject)}: ${i.kind} import not authorized`);
          continue;
        }
        try {
          if (i.kind === 'stream') this.addStream(importer, exporter, i);
          else this.addService(importer, exporter, i, exports);
        } catch (e) {
          log.error(`Error adding ${i.kind} import ${JSON.stringify(i.subject)}: ${(e as Error).message}`);
        }
      }
    }
  }

  /**
   * Operator mode: the first export of the exporter covering the import decides (nats-server's
   * checkAuth): public; `account_token_position` must name the importer; `token_req` needs a valid
   * activation token (issued by the exporter or one of its signing keys to the importer, of the
   * import's kind, covering its subject, not expired). An import bridged under an expiring token is
   * dropped when the token expires (the links are applied again then).
   */
  private jwtImportAuthorized(importer: Acc, exporter: Acc, i: ImportEntry, exports: ExportEntry[], now: number): boolean {
    const x = exports.find((e) => e.kind === i.kind && exportAllows({ kind: e.kind, subject: e.subject }, i.subject, importer.name));
    if (!x) return false;
    if (x.accountTokenPosition !== undefined && x.accountTokenPosition > 0) return exportAllows(x, i.subject, importer.name);
    // An account JWT's export has no account list: `accounts: []` is `token_req`.
    if (x.accounts === undefined || x.accounts.length > 0) return exportAllows(x, i.subject, importer.name);
    if (!i.token) return false;
    const ok = this.activation!(i.token, exporter.name, importer.name, { kind: i.kind, subject: i.subject });
    if (!ok) return false;
    if (ok.expiresAt > 0) this.scheduleActivationExpiry(ok.expiresAt, now);
    return true;
  }

  private scheduleActivationExpiry(at: number, now: number): void {
    if (this.activationExpiry !== 0 && this.activationExpiry <= at) return;
    this.activationExpiry = at;
    if (this.activationTimer) clearTimeout(this.activationTimer);
    this.activationTimer = setTimeout(() => {
      this.activationTimer = null;
      this.apply(this.server.options);
    }, Math.min(Math.max(0, at - now) * 1000 + 50, 2 ** 31 - 1));
    this.activationTimer.unref();
  }

  private insert(acc: Acc, target: SubscriptionTarget, subject: string, kind: Kind): LinkSub {
    const sub = new LinkSub(target, subject, `_links${++this.sid}`, kind, acc);
    if (!acc.index.insert(sub)) throw new Error(`invalid subject ${JSON.stringify(subject)}`);
    return sub;
  }

  private addStream(importer: Acc, exporter: Acc, i: ImportEntry): void {
    const from = i.subject;
    let to = i.to ?? from;
    if (i.prefix !== undefined) to = (i.prefix.endsWith('.') ? i.prefix : `${i.prefix}.`) + from;
    const wild = !isLiteral(from);
    let tr: SubjectTransform | null = null;
    let lit: string | undefined = to;
    if (wild) {
      if (to === from) lit = undefined;
      else {
        tr = new SubjectTransform(from, tokenizeWildcards(to));
        lit = undefined;
      }
    }
    this.subs.push(this.insert(exporter, new StreamBridge(this, importer, tr, lit), from, Kind.Stream));
    this.streamCount++;
  }

  private addService(importer: Acc, exporter: Acc, i: ImportEntry, exports: ExportEntry[]): void {
    const local = i.to ?? i.subject;
    const remote = i.subject;
    const x = pickExport(exports, remote);
    const exp: ExportRef = {
      account: exporter,
      subject: x?.subject ?? remote,
      responseType: x?.responseType ?? 'Singleton',
      thresholdMs: x?.responseThresholdMs ?? DEFAULT_RESPONSE_THRESHOLD_MS,
    };
    const wild = !isLiteral(remote);
    let tr: SubjectTransform | null = null;
    let lit: string | undefined = remote;
    if (wild) {
      lit = undefined;
      if (local !== remote) tr = new SubjectTransform(local, tokenizeWildcards(remote));
    }
    this.subs.push(this.insert(importer, new ServiceBridge(this, importer, exporter, exp, tr, lit, i.share === true), local, Kind.Service));
    this.serviceCount++;
  }

  // -------------------------------------------------------------------------------------------
  // Requests and responses

  forwardRequest(si: ServiceBridge, producer: Producer, to: string, reply: string | undefined, hdr: number, data: Buffer, start: number, end: number): void {
    // A request that comes back to an export it already went through is a cycle: dropped.
    const chain = this.chain;
    for (let k = 0; k < chain.length; k++) if (chain[k] === si.exp) return;
    const exporter = si.exporter;
    if (exporter.mappings !== null) to = exporter.mappings.map(to);
    let rsi: Resp | undefined;
    if (reply !== undefined && reply !== '') rsi = this.addResponse(exporter, si.importer, reply, si.exp);

    // Nats-Request-Info: {"acc":<requester's account>,"rtt":<ns>} on the first hop; a further
    // import in a chain adds `svc` (the account it passes through).
    let buf = data;
    let h = hdr;
    let s = start;
    let e = end;
    let info: string | undefined;
    if (chain.length === 0 && hdr < 0) {
      // The common case (a first hop without headers): the header block is cached per connection.
      const block = this.infoBlock(producer, si);
      buf = Buffer.allocUnsafe(block.length + (end - start));
      block.copy(buf, 0);
      data.copy(buf, block.length, start, end);
      h = block.length;
      s = 0;
      e = buf.length;
    } else if (chain.length > 0) {
      const prev = getHeader(data, start, hdr, REQUEST_INFO);
      if (prev !== undefined) {
        try {
          const ci = JSON.parse(prev) as Record<string, unknown>;
          ci.svc = si.importer.name;
          info = orderedJson(ci);
        } catch {
          info = undefined;
        }
      }
    } else {
      info = this.clientInfo(producer, si);
    }
    if (info !== undefined) {
      const m = setHeader(data, start, end, hdr, REQUEST_INFO, info);
      buf = m.buf;
      h = m.hdr;
      s = 0;
      e = buf.length;
    }
    this.requests++;
    chain.push(si.exp);
    this.inService++;
    let delivered = false;
    try {
      delivered = deliverIn(exporter, producer, to, rsi?.from, h, buf, s, e, false, null, this.remote);
    } finally {
      chain.pop();
      this.inService--;
    }
    if (!delivered && rsi !== undefined) this.removeResponse(rsi);
  }

  forwardResponse(r: Resp, producer: Producer, reply: string | undefined, hdr: number, data: Buffer, start: number, end: number): void {
    // A response is a new message: its own chain (a responder answering synchronously from inside
    // a request's delivery must not look like a cycle).
    const saved = this.chain;
    this.chain = [r.exp];
    let rsi: Resp | undefined;
    if (reply !== undefined && reply !== '') rsi = this.addResponse(r.dest, r.owner, reply, r.exp);
    this.responses++;
    this.inService++;
    let delivered = false;
    try {
      delivered = deliverIn(r.dest, producer, r.to, rsi?.from, hdr, data, start, end, false, null, this.remote);
    } finally {
      this.chain = saved;
      this.inService--;
    }
    const eof = hdr < 0 && end === start;
    if (!delivered || r.exp.responseType === 'Singleton' || eof) this.removeResponse(r);
    else r.ts = Date.now();
    if (!delivered && rsi !== undefined) this.removeResponse(rsi);
  }

  /**
   * Queue groups of `importer` already served by another stream import of the same publish: as
   * nats-server's shadow subscriptions (one queue group in the exporter per queue name), a queue
   * group gets one copy even when several overlapping imports carry the message.
   */
  queuesServed(producer: Producer, data: Buffer, start: number, importer: Acc): Set<string> {
    const seq = (producer as Partial<Client>).inMsgs ?? -1;
    const q = this.served;
    if (q.producer !== producer || q.seq !== seq || q.data !== data || q.start !== start || q.importer !== importer) {
      q.producer = producer;
      q.seq = seq;
      q.data = data;
      q.start = start;
      q.importer = importer;
      q.names.clear();
    }
    return q.names;
  }

  /** The requester's ClientInfo JSON (nats-server's getClientInfo; detailed with `share`). */
  private clientInfo(producer: Producer, si: ServiceBridge): string {
    const c = producer as Partial<Client>;
    const rtt = typeof c.rtt === 'number' ? Math.round(c.rtt) : 0;
    const ci: Record<string, unknown> = { acc: c.account?.name ?? si.importer.name, rtt };
    if (si.share && typeof c.snapshot === 'function') {
      const s = c.snapshot(false);
      Object.assign(ci, {
        start: new Date(s.start).toISOString(),
        host: s.ip,
        id: s.cid,
        user: s.user,
        name: s.name,
        lang: s.lang,
        ver: s.version,
        server: this.server.serverName,
        kind: 'Client',
        client_type: s.type ?? 'nats',
      });
    }
    return orderedJson(ci);
  }

  /** `NATS/1.0\r\nNats-Request-Info: ...\r\n\r\n` for a request without headers, cached per connection. */
  private infoBlock(producer: Producer, si: ServiceBridge): Buffer {
    const c = producer as Partial<Client>;
    const rtt = typeof c.rtt === 'number' ? c.rtt : 0;
    const acc = c.account?.name ?? si.importer.name;
    const cached = this.blocks.get(producer);
    const slot = si.share ? 1 : 0;
    const hit = cached?.[slot];
    if (hit !== undefined && hit.rtt === rtt && hit.acc === acc) return hit.block;
    const block = Buffer.from(`NATS/1.0\r\n${REQUEST_INFO}: ${this.clientInfo(producer, si)}\r\n\r\n`, 'latin1');
    const entry = cached ?? [undefined, undefined];
    entry[slot] = { rtt, acc, block };
    if (!cached) this.blocks.set(producer, entry);
    return block;
  }

  /** A new `_R_.` reply in `owner` that maps back to `to` in `dest`. */
  private addResponse(owner: Acc, dest: Acc, to: string, exp: ExportRef): Resp {
    let router = this.routers.get(owner);
    if (router === undefined) {
      router = new ResponseRouter(this, owner);
      router.sub = new LinkSub(router, `${router.prefix}>`, `_links${++this.sid}`, Kind.Response, owner);
      owner.index.insert(router.sub);
      this.routers.set(owner, router);
    }
    let from = router.prefix + randomToken6();
    while (router.pending.has(from)) from = router.prefix + randomToken6();
    const now = Date.now();
    const r: Resp = { from, owner, dest, to, exp, ts: now };
    router.pending.set(from, r);
    if (this.sweepTimer === null || this.sweepAt > now + exp.thresholdMs) this.scheduleSweep(exp.thresholdMs);
    return r;
  }

  private removeResponse(r: Resp): void {
    this.routers.get(r.owner)?.pending.delete(r.from);
  }

  private dropRouter(r: ResponseRouter): void {
    if (r.sub) {
      r.sub.closed = true;
      r.account.index.remove(r.sub);
    }
    r.pending.clear();
    this.routers.delete(r.account);
  }

  private scheduleSweep(inMs: number): void {
    const at = Date.now() + inMs;
    if (this.sweepTimer !== null && this.sweepAt <= at) return;
    if (this.sweepTimer !== null) clearTimeout(this.sweepTimer);
    this.sweepAt = at;
    this.sweepTimer = setTimeout(() => this.sweep(), Math.max(1, inMs));
    this.sweepTimer.unref();
  }

  /** Removes response mappings older than their export's response_threshold. */
  private sweep(): void {
    this.sweepTimer = null;
    const now = Date.now();
    let next = Infinity;
    for (const router of this.routers.values()) {
      for (const r of router.pending.values()) {
        const due = r.ts + r.exp.thresholdMs;
        if (due <= now) {
          router.pending.delete(r.from);
          this.expired++;
        } else if (due < next) next = due;
      }
    }
    if (next !== Infinity) this.scheduleSweep(next - now);
  }

  stats(): AccountLinksStats {
    let pending = 0;
    for (const r of this.routers.values()) pending += r.pending.size;
    return {
      streamImports: this.streamCount,
      serviceImports: this.serviceCount,
      pendingResponses: pending,
      requests: this.requests,
      responses: this.responses,
      streamMsgs: this.streamMsgs,
      expired: this.expired,
    };
  }

  /** Shutdown: timers off, bridges out of the indexes. */
  stop(): void {
    if (this.sweepTimer !== null) clearTimeout(this.sweepTimer);
    this.sweepTimer = null;
    for (const s of this.subs) {
      s.closed = true;
      s.account.index.remove(s);
    }
    this.subs = [];
    for (const r of [...this.routers.values()]) this.dropRouter(r);
  }
}

/** The export a service import uses: the same subject first, else the first that covers it. */
function pickExport(exports: ExportEntry[], subject: string): ExportEntry | undefined {
  const svc = exports.filter((x) => x.kind === 'service');
  return svc.find((x) => x.subject === subject) ?? svc.find((x) => subjectIsSubsetOf(subject, x.subject));
}

export { TransformError };
