// The system account's request subjects (nats-server 2.9.10 events.go initEventTracking):
//   $SYS.REQ.SERVER.PING                      STATSZ of every server (old form)
//   $SYS.REQ.SERVER.PING.<X>, $SYS.REQ.SERVER.<id>.<X>
//        X = STATSZ VARZ SUBSZ CONNZ ROUTEZ GATEWAYZ LEAFZ ACCOUNTZ JSZ HEALTHZ
//   $SYS.REQ.ACCOUNT.<acc>.<Y>                Y = SUBSZ CONNZ LEAFZ JSZ INFO STATZ CONNS
//   $SYS.REQ.ACCOUNT.PING.STATZ
// The request body is the endpoint's options as JSON plus the common filter (server_name, cluster,
// host, tags, domain): a server the filter excludes stays silent. Answers are the ServerAPIResponse
// envelope `{server, data}` / `{server, error: {code, description}}`, built by the monitoring
// endpoints' own functions.

import type { Server } from '../server.js';
import { MonitorRequestError } from '../monitor/errors.js';
import { Subjects, apiResponse, serverStatsMsg } from './messages.js';
import type { SystemEvents } from './system.js';
import type { SystemBus } from './bus.js';
import { rfc3339, preciseNow } from '../monitor/format.js';

export type Opts = Record<string, unknown>;
/** Builds the `data` of a response; throws for a 500; returns SKIP to stay silent. */
export type Builder = (opts: Opts, subject: string) => unknown | Promise<unknown>;
export const SKIP = Symbol('skip');

export const SERVER_REQUESTS = ['STATSZ', 'VARZ', 'SUBSZ', 'CONNZ', 'ROUTEZ', 'GATEWAYZ', 'LEAFZ', 'ACCOUNTZ', 'JSZ', 'HEALTHZ'] as const;
export const ACCOUNT_REQUESTS = ['SUBSZ', 'CONNZ', 'LEAFZ', 'JSZ', 'INFO', 'STATZ', 'CONNS'] as const;

/** Go's encoding/json error for a body that is not a JSON object (close enough to be recognisable). */
export function goJsonError(text: string): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    const at = m ? Number(m[1]) : 0;
    const ch = text[at] ?? '';
    if (ch === '') return 'unexpected end of JSON input';
    return `invalid character '${ch}' looking for beginning of value`;
  }
  if (v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) {
    return `json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v === 'string' ? 'string' : typeof v} into Go value of type server.EventFilterOptions`;
  }
  return undefined;
}

// Option fields and their Go types, per request (nats-server's <X>EventOptions structs), so a body
// with a wrong type is refused with Go's own decoding error (400), as nats-server does.
type GoType = 'string' | 'bool' | 'int' | 'uint64' | '[]string' | 'server.SortOpt' | 'server.ConnState';
const FILTER_FIELDS: Record<string, GoType> = { server_name: 'string', cluster: 'string', host: 'string', tags: '[]string', domain: 'string' };
const OPTION_STRUCTS: Record<string, [string, Record<string, GoType>]> = {
  STATSZ: ['StatszEventOptions', {}],
  VARZ: ['VarzEventOptions', {}],
  CONNZ: [
    'ConnzEventOptions',
    { sort: 'server.SortOpt', auth: 'bool', subscriptions: 'bool', subscriptions_detail: 'bool', offset: 'int', limit: 'int', cid: 'uint64', state: 'server.ConnState', user: 'string', acc: 'string', mqtt_client: 'string', filter_subject: 'string' },
  ],
  SUBSZ: ['SubszEventOptions', { offset: 'int', limit: 'int', subscriptions: 'bool', account: 'string', test: 'string' }],
  ROUTEZ: ['RoutezEventOptions', { subscriptions: 'bool', subscriptions_detail: 'bool' }],
  GATEWAYZ: ['GatewayzEventOptions', { name: 'string', accounts: 'bool', account_name: 'string' }],
  LEAFZ: ['LeafzEventOptions', { subscriptions: 'bool', account: 'string' }],
  ACCOUNTZ: ['AccountzEventOptions', { account: 'string' }],
  JSZ: ['JszEventOptions', { account: 'string', accounts: 'bool', streams: 'bool', consumer: 'bool', config: 'bool', leader_only: 'bool', offset: 'int', limit: 'int' }],
  HEALTHZ: ['HealthzEventOptions', { 'js-enabled': 'bool', 'js-server-only': 'bool' }],
  INFO: ['AccInfoEventOptions', {}],
  STATZ: ['AccountStatzEventOptions', { accounts: '[]string', include_unused: 'bool' }],
};

function jsonKind(v: unknown): string {
  return Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v === 'number' ? 'number' : typeof v;
}

/** Go's decoding error for the first field of `o` whose JSON type does not fit the struct, if any. */
export function optionTypeError(request: string, o: Opts): string | undefined {
  const [struct, fields] = OPTION_STRUCTS[request] ?? ['EventFilterOptions', {}];
  for (const [k, v] of Object.entries(o)) {
    const t = fields[k] ?? FILTER_FIELDS[k];
    if (t === undefined || v === null) continue;
    const at = `Go struct field ${struct}.${k} of type`;
    const kind = jsonKind(v);
    if (t === '[]string') {
      if (!Array.isArray(v)) return `json: cannot unmarshal ${kind} into ${at} []string`;
      const bad = v.find((x) => x !== null && typeof x !== 'string');
      if (bad !== undefined) return `json: cannot unmarshal ${jsonKind(bad)} into ${at} string`;
    } else if (t === 'string' || t === 'server.SortOpt') {
      if (typeof v !== 'string') return `json: cannot unmarshal ${kind} into ${at} ${t}`;
    } else if (t === 'bool') {
      if (typeof v !== 'boolean') return `json: cannot unmarshal ${kind} into ${at} bool`;
    } else {
      if (typeof v !== 'number') return `json: cannot unmarshal ${kind} into ${at} ${t}`;
      if (!Number.isInteger(v) || (t === 'uint64' && v < 0)) return `json: cannot unmarshal number ${v} into ${at} ${t}`;
    }
  }
  return undefined;
}

/** nats-server's filterRequest: true when the request does not apply to this server. */
export function filteredOut(server: Server, o: Opts): boolean {
  const name = str(o.server_name);
  if (name && !server.serverName.includes(name)) return true;
  const host = str(o.host);
  if (host && !server.options.host.includes(host)) return true;
  const cluster = str(o.cluster);
  if (cluster && !(server.cluster?.name ?? '').includes(cluster)) return true;
  if (Array.isArray(o.tags) && o.tags.length > 0) {
    const have = new Set((server.options.serverTags ?? []).map((t) => t.toLowerCase()));
    for (const t of o.tags) if (!have.has(String(t).toLowerCase())) return true;
  }
  const domain = str(o.domain);
  if (domain && (server.options.jetstreamConfig as { domain?: string } | undefined)?.domain !== domain) return true;
  return false;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function q(pairs: Record<string, unknown>): URLSearchParams {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(pairs)) {
    if (v === undefined || v === null || v === '' || v === false || v === 0) continue;
    p.set(k, v === true ? 'true' : String(v));
  }
  return p;
}

/** Connz options (JSON names of nats-server's ConnzOptions) as the /connz query. */
export function connzQuery(o: Opts): URLSearchParams {
  const state = o.state === 1 ? 'closed' : o.state === 2 ? 'all' : undefined;
  return q({
    sort: o.sort,
    auth: o.auth === true,
    subs: o.subscriptions_detail === true ? 'detail' : o.subscriptions === true,
    offset: o.offset,
    limit: o.limit,
    cid: o.cid,
    state,
    user: o.user,
    acc: o.acc,
    filter_subject: o.filter_subject,
  });
}

function subszQuery(o: Opts): URLSearchParams {
  return q({ subs: o.subscriptions === true, offset: o.offset, limit: o.limit, test: o.test, acc: o.account });
}

async function endpoint(server: Server, path: string, query: URLSearchParams): Promise<unknown> {
  const h = server.monitor.endpoint(path);
  if (!h) return undefined;
  try {
    const r = await h(query, undefined as never);
    return typeof r.body === 'string' ? JSON.parse(r.body) : r.body;
  } catch (e) {
    if (e instanceof MonitorRequestError) throw new Error(e.message);
    throw e;
  }
}

function emptyJsz(server: Server): Record<string, unknown> {
  return {
    server_id: server.serverId,
    now: rfc3339(preciseNow()),
    disabled: true,
    config: { max_memory: 0, max_storage: 0 },
    memory: 0,
    storage: 0,
    reserved_memory: 0,
    reserved_storage: 0,
    accounts: 0,
    ha_assets: 0,
    api: { total: 0, errors: 0 },
    streams: 0,
    consumers: 0,
    messages: 0,
    bytes: 0,
  };
}

export function serverBuilders(server: Server, ev: SystemEvents): Record<string, Builder> {
  return {
    VARZ: () => endpoint(server, '/varz', new URLSearchParams()),
    SUBSZ: async (o) => {
      const r = (await endpoint(server, '/subsz', subszQuery(o))) as Record<string, unknown>;
      if ('server_id' in r) return r;
      // Without the list, /subsz is only the statistics; the request answers the whole Subsz.
      const off = typeof o.offset === 'number' && o.offset > 0 ? o.offset : 0;
      const lim = typeof o.limit === 'number' && o.limit > 0 ? o.limit : 1024;
      return { server_id: server.serverId, now: rfc3339(preciseNow()), ...r, total: 0, offset: off, limit: lim };
    },
    CONNZ: (o) => endpoint(server, '/connz', connzQuery(o)),
    ROUTEZ: async (o) =>
      (await endpoint(server, '/routez', q({ subs: o.subscriptions_detail === true ? 'detail' : o.subscriptions === true }))) ?? {
        server_id: server.serverId,
        now: rfc3339(preciseNow()),
        num_routes: 0,
        routes: [],
      },
    GATEWAYZ: () => ({ server_id: server.serverId, now: rfc3339(preciseNow()), outbound_gateways: {}, inbound_gateways: {} }),
    LEAFZ: async (o) => {
      const r = (await endpoint(server, '/leafz', q({ subs: o.subscriptions === true }))) as Record<string, unknown> | undefined;
      const out = r ?? { server_id: server.serverId, now: rfc3339(preciseNow()), leafnodes: 0, leafs: null };
      const acc = str(o.account);
      if (acc && Array.isArray(out.leafs)) {
        const leafs = (out.leafs as Array<{ account?: string }>).filter((l) => l.account === acc);
        return { ...out, leafnodes: leafs.length, leafs: leafs.length > 0 ? leafs : null };
      }
      return out;
    },
    ACCOUNTZ: async (o) => {
      const { accountz } = await import('../monitor/accounts.js');
      return accountz(server, q({ acc: o.account }));
    },
    JSZ: async (o) => {
      if (!server.jetstream) {
        if (str(o.account)) throw new Error('jetstream not enabled');
        return emptyJsz(server);
      }
      return server.jetstream.jsz(q({ acc: o.account, accounts: o.accounts === true, streams: o.streams === true, consumers: o.consumer === true, config: o.config === true, offset: o.offset, limit: o.limit }));
    },
    HEALTHZ: () => endpoint(server, '/healthz', new URLSearchParams()),
    STATSZ: () => serverStatsMsg(ev.serverInfo(), ev.statsFacts()),
  };
}

/** Builders of `$SYS.REQ.ACCOUNT.<acc>.<Y>`: the account comes from the subject. */
export function accountBuilders(server: Server, ev: SystemEvents): Record<string, Builder> {
  const srv = serverBuilders(server, ev);
  return {
    SUBSZ: (o, acc) => srv.SUBSZ!({ ...o, subscriptions: true, account: acc }, acc),
    CONNZ: (o, acc) => srv.CONNZ!({ ...o, acc }, acc),
    LEAFZ: (o, acc) => srv.LEAFZ!({ ...o, account: acc }, acc),
    // nats-server's JszAccount: the account's AccountDetail alone.
    JSZ: (o, acc) => {
      if (!server.jetstream) throw new Error('jetstream not enabled');
      const a = server.accounts.get(acc);
      if (!a) throw new Error(`account ${JSON.stringify(acc)} not found`);
      if (!ev.accounts.jetstream(acc)) throw new Error(`account ${JSON.stringify(acc)} not jetstream enabled`);
      const all = server.jetstream.jsz(q({ accounts: true, streams: o.streams === true, consumers: o.consumer === true, config: o.config === true })) as { account_details?: Array<Record<string, unknown>> };
      return (
        all.account_details?.find((d) => d.name === acc) ?? {
          name: acc,
          id: acc,
          memory: 0,
          storage: 0,
          reserved_memory: 0,
          reserved_storage: 0,
          accounts: 0,
          ha_assets: 0,
          api: { total: 0, errors: 0 },
        }
      );
    },
    INFO: async (_o, acc) => {
      const { accountInfo } = await import('../monitor/accounts.js');
      return accountInfo(server, acc);
    },
    STATZ: async (o, acc) => {
      if (acc === 'PING') return SKIP;
      const { accstatz } = await import('../monitor/accounts.js');
      const unused = o.include_unused === true;
      const r = accstatz(server, [acc], unused);
      if ((r.account_statz as unknown[]).length === 0 && !unused) return SKIP;
      return r;
    },
  };
}

/** Subscribes every request subject on the bus. */
export function installRequests(server: Server, ev: SystemEvents): void {
  const bus = ev.bus;
  const id = server.serverId;
  // $SYS.REQ.SERVER.PING (old form): STATSZ, broadcast when there is no reply.
  const statsz = (_s: string, reply: string | undefined, _h: Buffer | null, data: Buffer): void => {
    const to = reply ?? Subjects.statsz(id);
    if (data.length > 0) {
      const text = data.toString();
      const err = goJsonError(text);
      if (err) {
        bus.publish(to, undefined, () => apiResponse(ev.serverInfo(), undefined, { code: 400, description: err }));
        return;
      }
      const o = (JSON.parse(text) ?? {}) as Opts;
      const bad = optionTypeError('STATSZ', o);
      if (bad) {
        bus.publish(to, undefined, () => apiResponse(ev.serverInfo(), undefined, { code: 400, description: bad }));
        return;
      }
      if (filteredOut(server, o)) return;
    }
    ev.sendStatsz(to);
  };
  bus.subscribe(Subjects.statszPing, statsz);

  const builders = serverBuilders(server, ev);
  for (const name of SERVER_REQUESTS) {
    const h = name === 'STATSZ' ? statsz : zReq(server, ev, name, builders[name]!, () => '');
    bus.subscribe(Subjects.serverDirect(id, name), h);
    bus.subscribe(Subjects.serverPing(name), h);
  }

  const acc = accountBuilders(server, ev);
  for (const name of ACCOUNT_REQUESTS) {
    const subject = Subjects.accountDirect('*', name);
    if (name === 'CONNS') {
      bus.subscribe(subject, (s, reply, _h, data) => connsRequest(server, ev, s, reply, data));
      continue;
    }
    // (`$SYS.REQ.ACCOUNT.PING.STATZ` also matches `*.STATZ`: that handler skips the account "PING"
    // after decoding, so a bad body is answered by both, as nats-server does.)
    bus.subscribe(subject, zReq(server, ev, name, acc[name]!, (s) => s.split('.')[3] ?? ''));
  }
  // $SYS.REQ.ACCOUNT.PING.STATZ: every account with connections (or all with include_unused).
  bus.subscribe(
    Subjects.accountPing('STATZ'),
    zReq(server, ev, 'STATZ', async (o) => {
      const { accstatz } = await import('../monitor/accounts.js');
      const unused = o.include_unused === true;
      const r = accstatz(server, Array.isArray(o.accounts) ? o.accounts.map(String) : [], unused);
      if ((r.account_statz as unknown[]).length === 0 && !unused) return SKIP;
      return r;
    }, () => ''),
  );
}

/** nats-server's zReq: decode the options, apply the filter, answer `{server, data|error}`. */
/** nats-server's getAcceptEncoding: snappy/s2 first, then gzip, else identity (a header was sent). */
export function acceptEncoding(hdr: Buffer | null): 'snappy' | 'gzip' | 'identity' | undefined {
  if (hdr === null || hdr.length === 0) return undefined;
  const m = /\r\naccept-encoding:[ \t]*([^\r\n]*)/i.exec(hdr.toString('latin1'));
  if (!m || m[1]!.trim() === '') return undefined;
  const v = m[1]!.toLowerCase();
  if (v.includes('snappy') || v.includes('s2')) return 'snappy';
  if (v.includes('gzip')) return 'gzip';
  return 'identity';
}

/** Publishes a successful answer, compressed as the request's Accept-Encoding asks. */
async function answer(bus: SystemBus, reply: string, body: unknown, enc: ReturnType<typeof acceptEncoding>): Promise<void> {
  if (enc === undefined) {
    bus.publish(reply, undefined, body);
    return;
  }
  let data: Buffer = Buffer.from(JSON.stringify(body));
  if (enc === 'gzip') data = (await import('node:zlib')).gzipSync(data);
  else if (enc === 'snappy') data = (await import('../../ocsp/s2.js')).s2Encode(data, true);
  bus.publish(reply, undefined, data, { 'Content-Encoding': enc });
}

export function zReq(server: Server, ev: SystemEvents, request: string, build: Builder, account: (subject: string) => string, bus: SystemBus = ev.bus) {
  return (subject: string, reply: string | undefined, hdr: Buffer | null, data: Buffer): void => {
    if (!reply) return;
    let opts: Opts = {};
    if (data.length > 0) {
      const text = data.toString();
      const err = goJsonError(text);
      if (err) {
        bus.publish(reply, undefined, () => apiResponse(ev.serverInfo(), undefined, { code: 400, description: err }));
        return;
      }
      opts = (JSON.parse(text) ?? {}) as Opts;
      const bad = optionTypeError(request, opts);
      if (bad) {
        bus.publish(reply, undefined, () => apiResponse(ev.serverInfo(), undefined, { code: 400, description: bad }));
        return;
      }
      if (filteredOut(server, opts)) return;
    }
    void (async () => {
      let out: unknown;
      try {
        out = await build(opts, account(subject));
      } catch (e) {
        bus.publish(reply, undefined, () => apiResponse(ev.serverInfo(), null, { code: 500, description: (e as Error).message }));
        return;
      }
      if (out === SKIP) return;
      const enc = acceptEncoding(hdr);
      if (enc === undefined) bus.publish(reply, undefined, () => apiResponse(ev.serverInfo(), out));
      else await answer(bus, reply, apiResponse(ev.serverInfo(), out), enc);
    })();
  };
}

/**
 * `$SYS.REQ.ACCOUNT.<acc>.CONNS`: this server's AccountNumConns for the account, answered only
 * when the account has local connections (other servers ask when they start tracking an account).
 */
function connsRequest(server: Server, ev: SystemEvents, subject: string, reply: string | undefined, data: Buffer): void {
  const tk = subject.split('.');
  if (tk.length !== 5) return;
  const acc = tk[3]!;
  if (data.length > 0) {
    let m: unknown;
    try {
      m = JSON.parse(data.toString());
    } catch (e) {
      server.logger.error(`Error unmarshalling account connections request message: ${(e as Error).message}`);
      return;
    }
    const named = (m as { acc?: unknown } | null)?.acc;
    if (named !== undefined && named !== acc) {
      server.logger.error('Error unmarshalled account does not match subject');
      return;
    }
  }
  if (!ev.accounts.has(acc) || !reply) return;
  if (ev.accounts.stat(acc).conns > 0) ev.sendAccountConns(acc, [reply]);
}
