// The JSON builders of the system events (src/server/events/messages.ts): nats-server 2.9.10's key
// order and omitempty rules (the shapes captured from a running nats-server 2.9.10 are pinned
// here), the JSON-text builders of the hot events equal to the object builders, NUID-like ids.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Nuid,
  accountConnsEvent,
  accountConnsEventJson,
  apiResponse,
  connectEvent,
  connectEventJson,
  disconnectEvent,
  disconnectEventJson,
  serverInfo,
  serverInfoJson,
  serverInfoPrefix,
  serverStatsMsg,
  type ClientFacts,
  type ServerInfoFields,
} from '../../src/server/events/messages.js';

const FIELDS: ServerInfoFields = { name: 'n1', host: '127.0.0.1', id: 'NABC', version: '2.9.10', jetstream: false };
const T = 1796537343359.123;
const CLIENT: ClientFacts = { start: T - 5, host: '127.0.0.1', id: 6, account: 'A', user: 'a', name: 'cli-a', lang: 'nats.js', version: '3.4.0', rttNs: 518000, clientType: 'nats' };

describe('system event shapes', () => {
  it('ServerInfo: nats-server key order, omitempty cluster/domain/tags', () => {
    assert.deepEqual(Object.keys(serverInfo(FIELDS, 1, T)), ['name', 'host', 'id', 'ver', 'seq', 'jetstream', 'time']);
    assert.deepEqual(Object.keys(serverInfo({ ...FIELDS, cluster: 'c', domain: 'd', tags: ['x'] }, 1, T)), ['name', 'host', 'id', 'cluster', 'domain', 'ver', 'tags', 'seq', 'jetstream', 'time']);
    assert.equal(serverInfo(FIELDS, 1, T).time, '2026-12-06T06:09:03.359123Z');
  });

  it('connect / disconnect / account connections: the keys nats-server 2.9.10 sends', () => {
    const si = serverInfo(FIELDS, 1, T);
    assert.deepEqual(Object.keys(connectEvent('id', T, si, CLIENT)), ['type', 'id', 'timestamp', 'server', 'client']);
    assert.deepEqual(Object.keys(connectEvent('id', T, si, CLIENT).client as object), ['start', 'host', 'id', 'acc', 'user', 'name', 'lang', 'ver', 'kind', 'client_type']);
    const d = disconnectEvent('id', T, si, { ...CLIENT, stop: T }, { msgs: 1, bytes: 5 }, { msgs: 0, bytes: 0 }, 'Client Closed');
    assert.deepEqual(Object.keys(d), ['type', 'id', 'timestamp', 'server', 'client', 'sent', 'received', 'reason']);
    assert.deepEqual(Object.keys(d.client as object), ['start', 'host', 'id', 'acc', 'user', 'name', 'lang', 'ver', 'rtt', 'stop', 'kind', 'client_type']);
    const c = accountConnsEvent('id', T, si, { acc: 'A', conns: 1, leafnodes: 0, sent: { msgs: 0, bytes: 0 }, received: { msgs: 1, bytes: 5 }, slowConsumers: 0 });
    assert.deepEqual(Object.keys(c), ['type', 'id', 'timestamp', 'server', 'acc', 'conns', 'leafnodes', 'total_conns', 'sent', 'received', 'slow_consumers']);
    assert.equal(c.total_conns, 1);
  });

  it('an auth failure without name or user: those keys are left out', () => {
    const d = disconnectEvent('id', T, serverInfo(FIELDS, 1, T), { ...CLIENT, account: '$G', name: '', user: '', stop: T }, { msgs: 0, bytes: 0 }, { msgs: 0, bytes: 0 }, 'Authentication Failure');
    assert.deepEqual(Object.keys(d.client as object), ['start', 'host', 'id', 'acc', 'lang', 'ver', 'rtt', 'stop', 'kind', 'client_type']);
  });

  it('the JSON-text builders give exactly the object builders\' JSON', () => {
    for (const f of [FIELDS, { ...FIELDS, cluster: 'c"1', domain: 'd', tags: ['x', 'y'], jetstream: true }]) {
      const text = serverInfoJson(serverInfoPrefix(f), f.jetstream, 7, T);
      assert.equal(text, JSON.stringify(serverInfo(f, 7, T)));
      const si = JSON.parse(text) as Record<string, unknown>;
      for (const c of [CLIENT, { ...CLIENT, name: '', user: 'ü"\\', rttNs: 0, stop: T + 1 }]) {
        assert.equal(connectEventJson('i', T, text, c), JSON.stringify(connectEvent('i', T, si, c)));
        assert.equal(
          disconnectEventJson('i', T, text, c, { msgs: 3, bytes: 9 }, { msgs: 1, bytes: 2 }, 'Slow Consumer (Pending Bytes)'),
          JSON.stringify(disconnectEvent('i', T, si, c, { msgs: 3, bytes: 9 }, { msgs: 1, bytes: 2 }, 'Slow Consumer (Pending Bytes)')),
        );
      }
      const st = { acc: '$G', conns: 2, leafnodes: 1, sent: { msgs: 4, bytes: 8 }, received: { msgs: 5, bytes: 6 }, slowConsumers: 0 };
      assert.equal(accountConnsEventJson('i', T, text, st), JSON.stringify(accountConnsEvent('i', T, si, st)));
    }
  });

  it('STATSZ message and the API envelope', () => {
    const si = serverInfo(FIELDS, 1, T);
    const m = serverStatsMsg(si, { start: T, mem: 1, cores: 2, cpu: 0, connections: 1, totalConnections: 3, activeAccounts: 1, subscriptions: 47, sent: { msgs: 1, bytes: 2 }, received: { msgs: 3, bytes: 4 }, slowConsumers: 0 });
    assert.deepEqual(Object.keys(m), ['server', 'statsz']);
    assert.deepEqual(Object.keys(m.statsz as object), ['start', 'mem', 'cores', 'cpu', 'connections', 'total_connections', 'active_accounts', 'subscriptions', 'sent', 'received', 'slow_consumers', 'active_servers']);
    assert.deepEqual(Object.keys(apiResponse(si, { x: 1 })), ['server', 'data']);
    assert.deepEqual(Object.keys(apiResponse(si, undefined, { code: 400, description: 'x' })), ['server', 'error']);
    assert.deepEqual(apiResponse(si, null, { code: 500, description: 'x' }), { server: si, data: null, error: { code: 500, description: 'x' } });
  });

  it('event ids: 22 base62 characters, unique', () => {
    const n = new Nuid();
    const seen = new Set<string>();
    for (let i = 0; i < 10000; i++) {
      const id = n.next();
      assert.match(id, /^[0-9A-Za-z]{22}$/);
      seen.add(id);
    }
    assert.equal(seen.size, 10000);
  });
});
