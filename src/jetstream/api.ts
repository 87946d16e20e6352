// The JSON API on `$JS.API.>` (nats-server 2.9.10 jetstream_api.go): dispatch, envelopes, paging,
// silences, and message get / direct get.

import {
  badStreamName,
  checkStreamConfig,
  checkStreamUpdate,
  decodeConsumerConfig,
  decodeStreamConfig,
  streamConfigJson,
  streamDefaults,
  type StreamConfig,
} from './config.js';
import type { JetStream, JsAccount } from './engine.js';
import { ApiError, Err } from './errors.js';
import { appendHeaders, statusHeader, EMPTY } from './headers.js';
import { BadJson, dec, goJson, isEmptyRequest, nsToTime, parseBody } from './json.js';
import type { InternalSub, JsAccountPort } from './port.js';
import type { Stream } from './stream.js';
import { StoreError, type StoredMsg } from './store/types.js';
import { subjectMatches, subjectsCollide } from './subject.js';

const T = 'io.nats.jetstream.api.v1.';
const NAMES_LIMIT = 1024;
const LIST_LIMIT = 256;

type Handler = (tokens: string[], subject: string, reply: string | undefined, data: Buffer) => Promise<void> | void;

export class Api {
  /** `$JS.API.>` (and the domain's prefix) per account: JetStream accounts and the others. */
  private readonly subs = new Map<JsAccountPort, InternalSub[]>();
  /** Requests are handled in arrival order (async store work is chained). */
  private chain: Promise<void> = Promise.resolve();
  /** The request being answered: its account (the requester's) and, for the audit, subject and body. */
  private current: { subject: string; data: Buffer; acc: JsAccount | undefined; port: JsAccountPort } | undefined;

  constructor(private readonly js: JetStream) {}

  start(): void {}

  /** Subscribes the API in a JetStream account's subject index. */
  attach(acc: JsAccount): void {
    this.subs.set(acc.port, this.subscribeApi(acc.port, (subj, reply, data) => this.dispatch(acc, acc.port, subj, reply, data)));
  }

  detach(acc: JsAccount): void {
    for (const s of this.subs.get(acc.port) ?? []) s.unsubscribe();
    this.subs.delete(acc.port);
  }

  /**
   * The API of an account without JetStream: every request nats-server answers gets its response
   * type with error 10039 (silence when the account has leaf connections, as nats-server).
   */
  subscribeDisabled(port: JsAccountPort): InternalSub[] {
    return this.subscribeApi(port, (subj, reply, data) => {
      if (port.hasLeafs()) return;
      this.dispatch(undefined, port, subj, reply, data);
    });
  }

  private subscribeApi(port: JsAccountPort, fn: (subject: string, reply: string | undefined, data: Buffer) => void): InternalSub[] {
    const subs = [port.subscribe('$JS.API.>', (subj, reply, _hdr, data) => fn(subj, reply, data))];
    const d = this.js.domain;
    if (d) {
      const prefix = `$JS.${d}.API.`;
      subs.push(port.subscribe(`${prefix}>`, (subj, reply, _hdr, data) => fn('$JS.API.' + subj.slice(prefix.length), reply, data)));
    }
    return subs;
  }

  stop(): void {
    for (const list of this.subs.values()) for (const s of list) s.unsubscribe();
    this.subs.clear();
  }

  private send(reply: string | undefined, type: string, body: Record<string, unknown>, err?: ApiError): void {
    const cur = this.current;
    const acc = cur?.acc;
    // nats-server counts API use only for accounts with JetStream (trackAPI / trackAPIErr)
    if (acc) {
      this.js.apiTotal++;
      if (err) this.js.apiErrors++;
      acc.apiTotal++;
      if (err) acc.apiErrors++;
    }
    const o: Record<string, unknown> = { type: T + type };
    if (err) o.error = err;
    Object.assign(o, body);
    const json = goJson(o);
    const port = cur?.port ?? this.js.port;
    if (reply !== undefined) this.js.reply(port, reply, json);
    this.audit(json);
  }

  /** `$JS.EVENT.ADVISORY.API` for every API reply, in the requester's account (only built when someone listens). */
  private audit(response: string): void {
    const subject = '$JS.EVENT.ADVISORY.API';
    const cur = this.current;
    if (!cur || !cur.port.hasInterest(subject)) return;
    const fields: Record<string, unknown> = { server: this.js.port.serverName, client: { acc: cur.port.account }, subject: cur.subject };
    if (cur.data.length > 0) fields.request = cur.data.toString('utf8');
    fields.response = response;
    this.js.advisory(cur.port, subject, 'io.nats.jetstream.advisory.v1.api_audit', fields);
  }

  private dispatch(acc: JsAccount | undefined, port: JsAccountPort, subject: string, reply: string | undefined, data: Buffer): void {
    const t = subject.split('.');
    const h = this.route(t);
    if (!h) return; // no handler: silence, as nats-server
    const run = async (): Promise<void> => {
      this.current = { subject, data, acc, port };
      try {
        if (acc === undefined || this.js.accounts.get(acc.name) !== acc) throw Err.notEnabledForAccount();
        await h.fn(t, subject, reply, data);
      } catch (e) {
        if (e instanceof ApiError) this.send(reply, h.type, h.errBody ?? {}, e);
        else if (e instanceof BadJson) this.send(reply, h.type, h.errBody ?? {}, Err.invalidJson());
        else if (e instanceof StoreError) {
          // storage refused (disk full, unwritable store_dir, ...): an API error and a log line
          this.js.port.log.error(`JetStream storage error on ${subject}: ${e.message}`);
          const code = h.type === 'stream_create_response' ? Err.streamCreate(e.message) : h.type === 'consumer_create_response' ? Err.consumerCreate(e.message) : Err.streamGeneral(e.message);
          this.send(reply, h.type, h.errBody ?? {}, code);
        } else {
          this.js.port.log.error(`JetStream API ${subject}: ${(e as Error).stack ?? e}`);
          this.send(reply, h.type, h.errBody ?? {}, new ApiError(500, 10999, `internal error: ${(e as Error).message}`));
        }
      } finally {
        this.current = undefined;
      }
    };
    this.chain = this.chain.then(run, run);
  }

  private route(t: string[]): { fn: Handler; type: string; errBody?: Record<string, unknown> } | undefined {
    const n = t.length;
    const a = t[2];
    if (a === 'INFO' && n === 3) return { fn: (_t, _s, r) => this.send(r, 'account_info_response', this.js.accountInfo(this.acc())), type: 'account_info_response' };
    if (a === 'STREAM') {
      const op = t[3];
      if (op === 'NAMES' && n === 4) return { fn: (_t, _s, r, d) => this.streamNames(r, d), type: 'stream_names_response', errBody: { total: 0, offset: 0, limit: 0, streams: null } };
      if (op === 'LIST' && n === 4) return { fn: (_t, _s, r, d) => this.streamList(r, d), type: 'stream_list_response', errBody: { total: 0, offset: 0, limit: 0, streams: [] } };
      if (n === 5) {
        const s = t[4]!;
        switch (op) {
          case 'CREATE':
            return { fn: (_t, _s, r, d) => this.streamCreate(s, r, d), type: 'stream_create_response' };
          case 'UPDATE':
            return { fn: (_t, _s, r, d) => this.streamUpdate(s, r, d), type: 'stream_update_response' };
          case 'INFO':
            return { fn: (_t, _s, r, d) => this.streamInfo(s, r, d), type: 'stream_info_response', errBody: { total: 0, offset: 0, limit: 0 } };
          case 'DELETE':
            return { fn: (_t, _s, r, d) => this.streamDelete(s, r, d), type: 'stream_delete_response' };
          case 'PURGE':
            return { fn: (_t, _s, r, d) => this.streamPurge(s, r, d), type: 'stream_purge_response', errBody: { purged: 0 } };
          case 'SNAPSHOT':
            return { fn: () => Promise.reject(Err.notSupported('stream snapshot')), type: 'stream_snapshot_response' };
          case 'RESTORE':
            return { fn: () => Promise.reject(Err.notSupported('stream restore')), type: 'stream_restore_response' };
        }
      }
      if (op === 'MSG' && n === 6) {
        const s = t[5]!;
        if (t[4] === 'GET') return { fn: (_t, _s, r, d) => this.msgGet(s, r, d), type: 'stream_msg_get_response' };
        if (t[4] === 'DELETE') return { fn: (_t, _s, r, d) => this.msgDelete(s, r, d), type: 'stream_msg_delete_response' };
      }
      if (op === 'LEADER' && t[4] === 'STEPDOWN' && n === 6) return { fn: () => Promise.reject(Err.clusterRequired()), type: 'stream_leader_stepdown_response' };
      if (op === 'PEER' && t[4] === 'REMOVE' && n === 6) return { fn: () => Promise.reject(Err.clusterRequired()), type: 'stream_remove_peer_response' };
      if (op === 'TEMPLATE') {
        if (t[4] === 'NAMES' && n === 5) return { fn: () => Promise.reject(Err.notSupported('stream templates')), type: 'stream_template_names_response' };
        if (n === 6 && (t[4] === 'CREATE' || t[4] === 'INFO' || t[4] === 'DELETE')) {
          return { fn: () => Promise.reject(Err.notSupported('stream templates')), type: `stream_template_${t[4]!.toLowerCase()}_response` };
        }
      }
      return undefined;
    }
    if (a === 'CONSUMER') {
      const op = t[3];
      if (op === 'CREATE' && n >= 5) return { fn: (tt, s, r, d) => this.consumerCreate(tt, s, r, d), type: 'consumer_create_response' };
      if (op === 'DURABLE' && t[4] === 'CREATE' && n >= 6) return { fn: (tt, s, r, d) => this.consumerCreate(tt, s, r, d), type: 'consumer_create_response' };
      if (op === 'NAMES' && n === 5) return { fn: (_t, _s, r, d) => this.consumerNames(t[4]!, r, d), type: 'consumer_names_response', errBody: { total: 0, offset: 0, limit: 0, consumers: [] } };
      if (op === 'LIST' && n === 5) return { fn: (_t, _s, r, d) => this.consumerList(t[4]!, r, d), type: 'consumer_list_response', errBody: { total: 0, offset: 0, limit: 0, consumers: [] } };
      if (op === 'INFO' && n === 6) return { fn: (_t, _s, r, d) => this.consumerInfo(t[4]!, t[5]!, r, d), type: 'consumer_info_response' };
      if (op === 'DELETE' && n === 6) return { fn: (_t, _s, r, d) => this.consumerDelete(t[4]!, t[5]!, r, d), type: 'consumer_delete_response' };
      if (op === 'LEADER' && t[4] === 'STEPDOWN' && n === 7) return { fn: () => Promise.reject(Err.clusterRequired()), type: 'consumer_leader_stepdown_response' };
      return undefined;
    }
    if (a === 'ACCOUNT' && t[3] === 'PURGE' && n === 5) {
      return { fn: () => Promise.reject(Err.notSupported('account purge')), type: 'account_purge_response' };
    }
    return undefined;
  }

  /** The requester's account. */
  private acc(): JsAccount {
    const a = this.current?.acc;
    if (!a) throw Err.notEnabledForAccount();
    return a;
  }

  private stream(name: string): Stream {
    const s = this.acc().streams.get(name);
    if (!s) throw Err.streamNotFound();
    return s;
  }

  // -----------------------------------------------------------------------------------------
  // Streams

  private decodeStream(data: Buffer): StreamConfig {
    if (data.length === 0) throw Err.invalidJson();
    const body = parseBody(data);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw Err.invalidJson();
    return decodeStreamConfig(body);
  }

  private async streamCreate(name: string, reply: string | undefined, data: Buffer): Promise<void> {
    const cfg = this.decodeStream(data);
    if (cfg.name === '') cfg.name = name;
    if (cfg.name !== name) throw Err.streamMismatch();
    if (/[\\/]/.test(name)) throw Err.streamNameContainsPathSeparators();
    if (cfg.sealed) throw Err.streamInvalidConfig('stream configuration for create can not be sealed');
    if (cfg.mirror_direct && cfg.mirror === undefined) throw Err.streamInvalidConfig('stream has no mirror but does have mirror direct');
    this.js.streamLimitsCheck(this.acc(), cfg);
    streamDefaults(cfg, this.js.dupWindowNs);
    checkStreamConfig(cfg, this.js.dupWindowNs);
    this.acc().checkMaxBytes(cfg);
    if (cfg.mirror) {
      const origin = this.acc().streams.get(cfg.mirror.name);
      if (origin) {
        if (cfg.max_msg_size > 0 && origin.cfg.max_msg_size > 0 && cfg.max_msg_size < origin.cfg.max_msg_size) throw Err.mirrorMaxMessageSize();
        cfg.mirror_direct = origin.cfg.allow_direct;
      }
    }
    const s = await this.js.addStream(this.acc(), cfg);
    // the create reply has no mirror/sources info (nats-server builds it from config and state)
    this.send(reply, 'stream_create_response', { config: streamConfigJson(s.cfg), created: nsToTime(s.created), state: s.stateJson().state, did_create: true });
  }

  private async streamUpdate(name: string, reply: string | undefined, data: Buffer): Promise<void> {
    const cfg = this.decodeStream(data);
    if (cfg.name === '') cfg.name = name;
    if (cfg.name !== name) throw Err.streamMismatch();
    streamDefaults(cfg, this.js.dupWindowNs);
    try {
      checkStreamConfig(cfg, this.js.dupWindowNs);
    } catch (e) {
      if (e instanceof ApiError && e.errCode === 10052) throw Err.streamInvalidConfig(e.description);
      throw e;
    }
    this.acc().checkMaxBytes(cfg);
    const s = this.stream(name);
    const next = checkStreamUpdate(s.cfg, cfg);
    await this.js.updateStream(s, next);
    const info = s.info();
    if (this.js.domain) info.domain = this.js.domain;
    this.send(reply, 'stream_update_response', info);
  }

  private streamInfo(name: string, reply: string | undefined, data: Buffer): void {
    let deletedDetails = false;
    let subjectsFilter = '';
    let offset = 0;
    if (!isEmptyRequest(data)) {
      const o = dec.obj(parseBody(data));
      deletedDetails = dec.bool(o, 'deleted_details');
      subjectsFilter = dec.str(o, 'subjects_filter');
      offset = dec.int(o, 'offset');
    }
    const s = this.stream(name);
    const st = s.stateJson({ deletedDetails, subjectsFilter, offset });
    const body: Record<string, unknown> = { total: st.total, offset: st.offset, limit: st.limit, config: streamConfigJson(s.cfg), created: nsToTime(s.created), state: st.state };
    if (this.js.domain) body.domain = this.js.domain;
    Object.assign(body, s.linksInfo());
    this.send(reply, 'stream_info_response', body);
  }

  private async streamDelete(name: string, reply: string | undefined, data: Buffer): Promise<void> {
    if (!isEmptyRequest(data)) throw Err.notEmptyRequest();
    const s = this.stream(name);
    await this.js.deleteStream(s);
    this.send(reply, 'stream_delete_response', { success: true });
  }

  private streamPurge(name: string, reply: string | undefined, data: Buffer): void {
    const s = this.stream(name);
    let filter = '';
    let seq = 0;
    let keep = 0;
    if (!isEmptyRequest(data)) {
      const o = dec.obj(parseBody(data));
      filter = dec.str(o, 'filter');
      seq = dec.uint(o, 'seq');
      keep = dec.uint(o, 'keep');
    }
    if (s.cfg.sealed) throw Err.streamSealed();
    if (s.cfg.deny_purge) throw Err.streamPurgeFailed();
    if (seq > 0 && keep > 0) throw Err.badRequest();
    const opts: { subject?: string; seq?: number; keep?: number } = {};
    if (filter !== '' && filter !== '>') opts.subject = filter;
    if (seq > 0) opts.seq = seq;
    if (keep > 0) opts.keep = keep;
    const n = s.purgeInternal(opts);
    this.send(reply, 'stream_purge_response', { success: true, purged: n });
  }

  private pageRequest(data: Buffer): { offset: number; subject: string } {
    if (isEmptyRequest(data)) return { offset: 0, subject: '' };
    const o = dec.obj(parseBody(data));
    return { offset: Math.max(0, dec.int(o, 'offset')), subject: dec.str(o, 'subject') };
  }

  private matchingStreams(subject: string): Stream[] {
    const all = [...this.acc().streams.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (subject === '') return all;
    return all.filter((s) => s.cfg.subjects.some((x) => subjectsCollide(x, subject)));
  }

  private streamNames(reply: string | undefined, data: Buffer): void {
    const { offset, subject } = this.pageRequest(data);
    const list = this.matchingStreams(subject);
    const off = Math.min(offset, list.length);
    const page = list.slice(off, off + NAMES_LIMIT).map((s) => s.name);
    this.send(reply, 'stream_names_response', { total: list.length, offset: off, limit: NAMES_LIMIT, streams: page.length ? page : null });
  }

  private streamList(reply: string | undefined, data: Buffer): void {
    const { offset, subject } = this.pageRequest(data);
    const list = this.matchingStreams(subject);
    const off = Math.min(offset, list.length);
    const page = list.slice(off, off + LIST_LIMIT).map((s) => {
      const i = s.info();
      if (this.js.domain) i.domain = this.js.domain;
      return i;
    });
    this.send(reply, 'stream_list_response', { total: list.length, offset: off, limit: LIST_LIMIT, streams: page });
  }

  // -----------------------------------------------------------------------------------------
  // Messages

  private getRequest(data: Buffer): { seq: number; last: string; next: string } {
    const o = dec.obj(parseBody(data));
    return { seq: dec.uint(o, 'seq'), last: dec.str(o, 'last_by_subj'), next: dec.str(o, 'next_by_subj') };
  }

  private lookup(s: Stream, q: { seq: number; last: string; next: string }): StoredMsg | undefined {
    if (q.last !== '') return s.store.loadLast(q.last);
    if (q.next !== '') return s.store.loadNext(q.next, q.seq);
    return s.store.load(q.seq);
  }

  private msgGet(name: string, reply: string | undefined, data: Buffer): void {
    if (isEmptyRequest(data)) throw Err.badRequest();
    const q = this.getRequest(data);
    const s = this.stream(name);
    if ((q.seq > 0 && q.last !== '') || (q.seq === 0 && q.last === '' && q.next === '') || (q.next !== '' && q.last !== '')) throw Err.badRequest();
    const m = this.lookup(s, q);
    if (!m) throw Err.noMessage();
    const msg: Record<string, unknown> = { subject: m.subject, seq: m.seq };
    if (m.hdr && m.hdr.length) msg.hdrs = m.hdr.toString('base64');
    if (m.data.length) msg.data = m.data.toString('base64');
    msg.time = nsToTime(m.ts);
    if (reply === undefined) return;
    this.js.reply(s.acc.port, reply, goJson({ type: T + 'stream_msg_get_response', message: msg }));
  }

  private msgDelete(name: string, reply: string | undefined, data: Buffer): void {
    if (isEmptyRequest(data)) throw Err.badRequest();
    const o = dec.obj(parseBody(data));
    const seq = dec.uint(o, 'seq');
    const noErase = dec.bool(o, 'no_erase');
    const s = this.stream(name);
    if (s.cfg.sealed) throw Err.streamSealed();
    if (s.cfg.deny_delete) throw Err.streamMsgDeleteFailed('message delete not permitted');
    const st = s.store.state();
    if (seq > st.lastSeq) throw Err.streamMsgDeleteFailed('stream store EOF');
    if (!s.store.remove(seq, !noErase)) throw Err.sequenceNotFound(seq);
    s.msgDeleted(seq);
    this.send(reply, 'stream_msg_delete_response', { success: true });
  }

  /** `$JS.API.DIRECT.GET.<stream>[.<subject>]` (subscribed per stream with allow_direct). */
  directGet(s: Stream, subject: string, reply: string | undefined, _hdr: Buffer | null, data: Buffer, name = s.name): void {
    if (reply === undefined) return;
    const port = s.acc.port;
    const prefix = `$JS.API.DIRECT.GET.${name}`;
    const status = (code: number, text: string): void => void port.publish(reply, undefined, statusHeader(code, text), EMPTY);
    let q: { seq: number; last: string; next: string };
    if (subject.length > prefix.length) {
      if (data.length > 0) return status(408, 'Bad Request');
      q = { seq: 0, last: subject.slice(prefix.length + 1), next: '' };
    } else {
      if (isEmptyRequest(data)) return status(408, 'Empty Request');
      try {
        q = this.getRequest(data);
      } catch {
        return status(408, 'Malformed Request');
      }
      if ((q.seq > 0 && q.last !== '') || (q.next !== '' && q.last !== '')) return status(408, 'Bad Request');
      if (q.seq === 0 && q.last === '' && q.next === '') return status(408, 'Empty Request');
    }
    const m = this.lookup(s, q);
    if (!m) return status(404, 'Message Not Found');
    const hdr = appendHeaders(m.hdr, [
      ['Nats-Stream', s.name],
      ['Nats-Subject', m.subject],
      ['Nats-Sequence', String(m.seq)],
      ['Nats-Time-Stamp', nsToTime(m.ts)],
    ]);
    port.publish(reply, undefined, hdr, m.data);
  }

  // -----------------------------------------------------------------------------------------
  // Consumers

  private async consumerCreate(t: string[], _subject: string, reply: string | undefined, data: Buffer): Promise<void> {
    if (data.length === 0) throw Err.invalidJson();
    const body = parseBody(data);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw Err.invalidJson();
    const o = body as Record<string, unknown>;
    const streamName = dec.str(o, 'stream_name');
    const cfg = decodeConsumerConfig(o.config);
    const n = t.length;
    let kind: 'legacy-ephemeral' | 'legacy-durable' | 'new';
    let sName: string;
    let cName = '';
    let filter = '';
    if (t[3] === 'DURABLE') {
      kind = 'legacy-durable';
      if (n !== 7) throw Err.durableNameNotInSubject();
      sName = t[5]!;
      cName = t[6]!;
    } else if (n === 5) {
      kind = 'legacy-ephemeral';
      sName = t[4]!;
    } else {
      kind = 'new';
      sName = t[4]!;
      cName = t[5]!;
      if (n > 7) filter = t.slice(6).join('.');
    }
    if (sName !== streamName) throw Err.streamMismatch();
    if (cName !== '' && /[\\/]/.test(cName)) throw Err.consumerNameContainsPathSeparators();
    if (kind === 'legacy-durable') {
      if (cfg.durable_name === '') throw Err.durableNameNotSet();
      if (cName !== cfg.durable_name) throw Err.durableNameNotMatchSubject();
    }
    if (kind === 'new') {
      if (cfg.durable_name !== '' && cName !== cfg.durable_name) throw Err.durableNameNotMatchSubject();
      cfg.name = cName;
    }
    if (kind === 'legacy-ephemeral' && cfg.durable_name !== '') throw Err.ephemeralWithDurableName();
    if (filter !== '' && cfg.filter_subject !== filter) throw Err.consumerCreateFilterSubjectMismatch();
    if (cfg.num_replicas > 1) throw Err.replicasNotSupported();
    const s = this.stream(streamName);
    if (badStreamName(sName)) throw Err.streamNotFound();
    let c;
    try {
      c = await this.js.addConsumer(s, cfg);
    } catch (e) {
      if (e instanceof ApiError || e instanceof BadJson) throw e;
      throw Err.consumerCreate((e as Error).message);
    }
    this.send(reply, 'consumer_create_response', c.info());
  }

  private consumerNames(stream: string, reply: string | undefined, data: Buffer): void {
    const { offset } = this.pageRequest(data);
    const s = this.stream(stream);
    const names = [...s.consumers.keys()].sort();
    const off = Math.min(offset, names.length);
    this.send(reply, 'consumer_names_response', { total: names.length, offset: off, limit: NAMES_LIMIT, consumers: names.slice(off, off + NAMES_LIMIT) });
  }

  private consumerList(stream: string, reply: string | undefined, data: Buffer): void {
    const { offset } = this.pageRequest(data);
    const s = this.stream(stream);
    const cs = [...s.consumers.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const off = Math.min(offset, cs.length);
    this.send(reply, 'consumer_list_response', { total: cs.length, offset: off, limit: LIST_LIMIT, consumers: cs.slice(off, off + LIST_LIMIT).map((c) => c.info()) });
  }

  private consumerInfo(stream: string, name: string, reply: string | undefined, data: Buffer): void {
    if (!isEmptyRequest(data)) throw Err.notEmptyRequest();
    const s = this.stream(stream);
    const c = s.consumers.get(name);
    if (!c) throw Err.consumerNotFound();
    this.send(reply, 'consumer_info_response', c.info());
  }

  private async consumerDelete(stream: string, name: string, reply: string | undefined, data: Buffer): Promise<void> {
    if (!isEmptyRequest(data)) throw Err.notEmptyRequest();
    const s = this.stream(stream);
    if (!(await this.js.deleteConsumer(s, name, 'api'))) throw Err.consumerNotFound();
    this.send(reply, 'consumer_delete_response', { success: true });
  }
}

void subjectMatches;
