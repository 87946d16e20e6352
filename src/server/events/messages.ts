// The JSON shapes of nats-server 2.9.10's system events and API responses (events.go): field
// names, order and omitempty rules as Go's encoder writes them. Pure functions over plain data,
// so they are unit-tested without a server.

import { randomBytes } from 'node:crypto';
import { rfc3339 } from '../monitor/format.js';

export const CONNECT_EVENT_TYPE = 'io.nats.server.advisory.v1.client_connect';
export const DISCONNECT_EVENT_TYPE = 'io.nats.server.advisory.v1.client_disconnect';
export const ACCOUNT_CONNS_TYPE = 'io.nats.server.advisory.v1.account_connections';
export const OCSP_PEER_REJECT_TYPE = 'io.nats.server.advisory.v1.ocsp_peer_reject';
export const OCSP_PEER_LINK_INVALID_TYPE = 'io.nats.server.advisory.v1.ocsp_peer_link_invalid';

/** Subjects (events.go's format strings). */
export const Subjects = {
  connect: (acc: string) => `$SYS.ACCOUNT.${acc}.CONNECT`,
  disconnect: (acc: string) => `$SYS.ACCOUNT.${acc}.DISCONNECT`,
  accConnsNew: (acc: string) => `$SYS.ACCOUNT.${acc}.SERVER.CONNS`,
  accConnsOld: (acc: string) => `$SYS.SERVER.ACCOUNT.${acc}.CONNS`,
  shutdown: (id: string) => `$SYS.SERVER.${id}.SHUTDOWN`,
  authError: (id: string) => `$SYS.SERVER.${id}.CLIENT.AUTH.ERR`,
  statsz: (id: string) => `$SYS.SERVER.${id}.STATSZ`,
  serverDirect: (id: string, x: string) => `$SYS.REQ.SERVER.${id}.${x}`,
  serverPing: (x: string) => `$SYS.REQ.SERVER.PING.${x}`,
  statszPing: '$SYS.REQ.SERVER.PING',
  accountDirect: (acc: string, x: string) => `$SYS.REQ.ACCOUNT.${acc}.${x}`,
  accountPing: (x: string) => `$SYS.REQ.ACCOUNT.PING.${x}`,
  ocspPeerReject: (id: string) => `$SYS.SERVER.${id}.OCSP.PEER.CONN.REJECT`,
  ocspPeerLinkInvalid: (id: string) => `$SYS.SERVER.${id}.OCSP.PEER.LINK.INVALID`,
} as const;

// ---------------------------------------------------------------------------------------------
// Event ids: NUID-like (22 base62 characters: a random prefix and a sequence with a random step).

const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PRE_LEN = 12;
const SEQ_LEN = 10;
const MAX_SEQ = 62 ** SEQ_LEN;

export class Nuid {
  private pre = '';
  private seq = 0;
  private inc = 0;
  constructor() {
    this.reset();
  }
  private reset(): void {
    const b = randomBytes(PRE_LEN);
    let p = '';
    for (let i = 0; i < PRE_LEN; i++) p += DIGITS[b[i]! % 62];
    this.pre = p;
    const r = randomBytes(8);
    this.seq = (r.readUInt32BE(0) * 65536 + r.readUInt16BE(4)) % (MAX_SEQ / 2);
    this.inc = 33 + (r.readUInt16BE(6) % 300);
  }
  next(): string {
    this.seq += this.inc;
    if (this.seq >= MAX_SEQ) this.reset();
    let s = '';
    let n = this.seq;
    for (let i = 0; i < SEQ_LEN; i++) {
      s = DIGITS[n % 62] + s;
      n = Math.floor(n / 62);
    }
    return this.pre + s;
  }
}

// ---------------------------------------------------------------------------------------------
// Shapes

/** The sending server (ServerInfo); `seq` and `time` are stamped when the message is sent. */
export interface ServerInfoFields {
  name: string;
  host: string;
  id: string;
  cluster?: string;
  domain?: string;
  version: string;
  tags?: string[];
  jetstream: boolean;
}

export function serverInfo(f: ServerInfoFields, seq: number, timeMs: number): Record<string, unknown> {
  const o: Record<string, unknown> = { name: f.name, host: f.host, id: f.id };
  if (f.cluster) o.cluster = f.cluster;
  if (f.domain) o.domain = f.domain;
  o.ver = f.version;
  if (f.tags && f.tags.length > 0) o.tags = f.tags;
  o.seq = seq;
  o.jetstream = f.jetstream;
  o.time = rfc3339(timeMs);
  return o;
}

/** What a ClientInfo is built from (a connection's snapshot plus its account). */
export interface ClientFacts {
  start: number;
  host: string;
  id: number;
  account: string;
  user: string;
  name: string;
  lang: string;
  version: string;
  rttNs: number;
  stop?: number;
  /** "nats" or "websocket" (nats-server's client_type). */
  clientType: string;
  kind?: string;
}

export function clientInfo(c: ClientFacts, withRtt: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = { start: rfc3339(c.start) };
  if (c.host) o.host = c.host;
  if (c.id) o.id = c.id;
  o.acc = c.account;
  if (c.user) o.user = c.user;
  if (c.name) o.name = c.name;
  if (c.lang) o.lang = c.lang;
  if (c.version) o.ver = c.version;
  if (withRtt && c.rttNs > 0) o.rtt = Math.round(c.rttNs);
  if (c.stop !== undefined) o.stop = rfc3339(c.stop);
  o.kind = c.kind ?? 'Client';
  o.client_type = c.clientType;
  return o;
}

export interface DataStats {
  msgs: number;
  bytes: number;
}

export function typedEvent(type: string, id: string, timeMs: number): Record<string, unknown> {
  return { type, id, timestamp: rfc3339(timeMs) };
}

export function connectEvent(id: string, timeMs: number, server: Record<string, unknown>, c: ClientFacts): Record<string, unknown> {
  return { ...typedEvent(CONNECT_EVENT_TYPE, id, timeMs), server, client: clientInfo(c, false) };
}

/**
 * ConnectEvent's sibling for a closed connection (also the auth error event's shape). `sent` is
 * what the client sent (the server received), `received` what it was sent, as nats-server fills them.
 */
export function disconnectEvent(
  id: string,
  timeMs: number,
  server: Record<string, unknown>,
  c: ClientFacts,
  sent: DataStats,
  received: DataStats,
  reason: string,
): Record<string, unknown> {
  return {
    ...typedEvent(DISCONNECT_EVENT_TYPE, id, timeMs),
    server,
    client: clientInfo(c, true),
    sent: { msgs: sent.msgs, bytes: sent.bytes },
    received: { msgs: received.msgs, bytes: received.bytes },
    reason,
  };
}

/** AccountStat (shared by the CONNS event, /accstatz and the STATZ requests). */
export interface AccountStat {
  acc: string;
  conns: number;
  leafnodes: number;
  sent: DataStats;
  received: DataStats;
  slowConsumers: number;
}

export function accountStat(s: AccountStat): Record<string, unknown> {
  return {
    acc: s.acc,
    conns: s.conns,
    leafnodes: s.leafnodes,
    total_conns: s.conns + s.leafnodes,
    sent: { msgs: s.sent.msgs, bytes: s.sent.bytes },
    received: { msgs: s.received.msgs, bytes: s.received.bytes },
    slow_consumers: s.slowConsumers,
  };
}

export function accountConnsEvent(id: string, timeMs: number, server: Record<string, unknown>, s: AccountStat): Record<string, unknown> {
  return { ...typedEvent(ACCOUNT_CONNS_TYPE, id, timeMs), server, ...accountStat(s) };
}

/** ServerStats (the `statsz` of a STATSZ message). */
export interface ServerStatsFacts {
  start: number;
  mem: number;
  cores: number;
  cpu: number;
  connections: number;
  totalConnections: number;
  activeAccounts: number;
  subscriptions: number;
  sent: DataStats;
  received: DataStats;
  slowConsumers: number;
  routes?: Array<Record<string, unknown>>;
  jetstream?: unknown;
}

export function serverStatsMsg(server: Record<string, unknown>, s: ServerStatsFacts): Record<string, unknown> {
  const st: Record<string, unknown> = {
    start: rfc3339(s.start),
    mem: s.mem,
    cores: s.cores,
    cpu: s.cpu,
    connections: s.connections,
    total_connections: s.totalConnections,
    active_accounts: s.activeAccounts,
    subscriptions: s.subscriptions,
    sent: { msgs: s.sent.msgs, bytes: s.sent.bytes },
    received: { msgs: s.received.msgs, bytes: s.received.bytes },
    slow_consumers: s.slowConsumers,
  };
  if (s.routes && s.routes.length > 0) st.routes = s.routes;
  st.active_servers = 1;
  if (s.jetstream !== undefined) st.jetstream = s.jetstream;
  return { server, statsz: st };
}

/** ServerAPIResponse: `{server, data}` or `{server, error: {code, description}}` (data omitted when absent). */
export function apiResponse(server: Record<string, unknown>, data: unknown, error?: { code: number; description: string }): Record<string, unknown> {
  const o: Record<string, unknown> = { server };
  if (error) {
    // nats-server writes `"data":null` next to an error from the handler (the interface field is
    // set to a nil pointer), and no data for a request it could not decode.
    if (data !== undefined) o.data = data;
    o.error = error;
  } else if (data !== undefined) o.data = data;
  return o;
}

/** A certificate as the OCSP peer advisories describe it (nats-server 2.10 certidp.CertInfo). */
export interface CertInfo {
  subject: string;
  issuer: string;
  fingerprint: string;
  raw: string;
}

export function ocspPeerRejectEvent(id: string, timeMs: number, server: Record<string, unknown>, kind: string, peer: CertInfo, reason: string): Record<string, unknown> {
  return { ...typedEvent(OCSP_PEER_REJECT_TYPE, id, timeMs), kind, peer, server, reason };
}

export function ocspPeerLinkInvalidEvent(id: string, timeMs: number, server: Record<string, unknown>, link: CertInfo, peer: CertInfo, reason: string): Record<string, unknown> {
  return { ...typedEvent(OCSP_PEER_LINK_INVALID_TYPE, id, timeMs), link, peer, server, reason };
}

// ---------------------------------------------------------------------------------------------
// The same shapes written straight to JSON text, for the events of every connect and close (the
// object builders above plus JSON.stringify cost several times more; test/events/messages.test.ts
// checks that both give the same text).

const q = JSON.stringify;

/** ServerInfo as JSON text: `prefix` is serverInfoPrefix(fields) (it changes only with the fields). */
export function serverInfoJson(prefix: string, jetstream: boolean, seq: number, timeMs: number): string {
  return `${prefix},"seq":${seq},"jetstream":${jetstream},"time":"${rfc3339(timeMs)}"}`;
}

/** The constant start of a ServerInfo's JSON (up to `ver` and `tags`). */
export function serverInfoPrefix(f: ServerInfoFields): string {
  let o = `{"name":${q(f.name)},"host":${q(f.host)},"id":${q(f.id)}`;
  if (f.cluster) o += `,"cluster":${q(f.cluster)}`;
  if (f.domain) o += `,"domain":${q(f.domain)}`;
  o += `,"ver":${q(f.version)}`;
  if (f.tags && f.tags.length > 0) o += `,"tags":${q(f.tags)}`;
  return o;
}

function typedEventJson(type: string, id: string, timeMs: number): string {
  return `{"type":"${type}","id":"${id}","timestamp":"${rfc3339(timeMs)}"`;
}

function statsJson(d: DataStats): string {
  return `{"msgs":${d.msgs},"bytes":${d.bytes}}`;
}

export function accountConnsEventJson(id: string, timeMs: number, server: string, s: AccountStat): string {
  return (
    `${typedEventJson(ACCOUNT_CONNS_TYPE, id, timeMs)},"server":${server},"acc":${q(s.acc)},"conns":${s.conns},"leafnodes":${s.leafnodes},` +
    `"total_conns":${s.conns + s.leafnodes},"sent":${statsJson(s.sent)},"received":${statsJson(s.received)},"slow_consumers":${s.slowConsumers}}`
  );
}

export function clientInfoJson(c: ClientFacts, withRtt: boolean): string {
  let o = `{"start":"${rfc3339(c.start)}"`;
  if (c.host) o += `,"host":${q(c.host)}`;
  if (c.id) o += `,"id":${c.id}`;
  o += `,"acc":${q(c.account)}`;
  if (c.user) o += `,"user":${q(c.user)}`;
  if (c.name) o += `,"name":${q(c.name)}`;
  if (c.lang) o += `,"lang":${q(c.lang)}`;
  if (c.version) o += `,"ver":${q(c.version)}`;
  if (withRtt && c.rttNs > 0) o += `,"rtt":${Math.round(c.rttNs)}`;
  if (c.stop !== undefined) o += `,"stop":"${rfc3339(c.stop)}"`;
  return `${o},"kind":${q(c.kind ?? 'Client')},"client_type":${q(c.clientType)}}`;
}

export function connectEventJson(id: string, timeMs: number, server: string, c: ClientFacts): string {
  return `${typedEventJson(CONNECT_EVENT_TYPE, id, timeMs)},"server":${server},"client":${clientInfoJson(c, false)}}`;
}

export function disconnectEventJson(id: string, timeMs: number, server: string, c: ClientFacts, sent: DataStats, received: DataStats, reason: string): string {
  return `${typedEventJson(DISCONNECT_EVENT_TYPE, id, timeMs)},"server":${server},"client":${clientInfoJson(c, true)},"sent":${statsJson(sent)},"received":${statsJson(received)},"reason":${q(reason)}}`;
}

// ---------------------------------------------------------------------------------------------
// The automatic system imports of every account (system-imports.ts answers them).

/** The imports nats-server lists for every account (ExtImport shape of /accountz). */
export function systemImportsOf(account: string, system: string): Array<Record<string, unknown>> {
  const imp = (subject: string, to: string) => ({ subject, account: system, to, type: 'service', invalid: false, share: false, tracking: false });
  return [
    imp(Subjects.accountPing('CONNZ'), Subjects.accountDirect(account, 'CONNZ')),
    imp(Subjects.serverPing('CONNZ'), Subjects.accountDirect(account, 'CONNZ')),
    imp(Subjects.accountPing('STATZ'), Subjects.accountDirect(account, 'STATZ')),
  ];
}

/** The exports of the system account that back them. */
export function systemExports(): Array<Record<string, unknown>> {
  return [
    { subject: Subjects.accountDirect('*', 'CONNZ'), type: 'service', response_type: 'Streamed' },
    { subject: Subjects.accountDirect('*', 'STATZ'), type: 'service', response_type: 'Streamed' },
  ];
}

