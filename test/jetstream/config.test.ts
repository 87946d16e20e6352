// Enabling JetStream: INFO fields, domain mapping, start-up log lines, store layout, flags.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../src/index.js';
import { BIN, conn, req, spawnProc } from './helpers.js';

describe('jetstream: enabling', () => {
  it('INFO advertises version 2.9.10, jetstream and the domain; $JS.<domain>.API maps onto $JS.API', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'js-cfg-'));
    const logs: string[] = [];
    const r = await startServer({ options: { jetstream: true, storeDir: dir, jetstreamConfig: { domain: 'hub', maxMemory: 1 << 30, maxStore: 1 << 30 } }, log: { write: (l) => void logs.push(l) } });
    try {
      const nc = await conn(r.url);
      assert.equal(nc.info?.version, '2.9.10');
      assert.equal(nc.info?.jetstream, true);
      assert.equal((nc.info as unknown as { domain?: string }).domain, 'hub');
      const info = await req(nc, '$JS.hub.API.INFO');
      assert.ok(typeof info === 'object' && 'json' in info && info.json.domain === 'hub');
      await req(nc, '$JS.hub.API.STREAM.CREATE.S', { name: 'S' });
      const ack = await nc.request('S', 'x');
      assert.equal(new TextDecoder().decode(ack.data), '{"stream":"S", "domain":"hub", "seq":1}');
      await nc.close();
      const text = logs.join('\n');
      for (const l of ['Starting JetStream', '---------------- JETSTREAM ----------------', 'Max Memory:      1.00 GB', 'Max Storage:     1.00 GB', `Store Directory: "${join(dir, 'jetstream')}"`, 'Domain:          hub']) {
        assert.ok(text.includes(l), `log has ${l}`);
      }
      assert.ok(existsSync(join(dir, 'jetstream', '$G', 'streams', 'S', 'meta.inf')));
    } finally {
      await r.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('nats.js sees a 2.9 server: 2.10-only consumer features are refused by the client itself', async () => {
    const r = await startServer({ jetstream: true });
    try {
      const nc = await conn(r.url);
      const { jetstreamManager } = await import('@nats-io/jetstream');
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'V', subjects: ['v.>'] });
      await assert.rejects(jsm.consumers.add('V', { name: 'X', filter_subjects: ['v.a', 'v.b'] }), /requires server 2\.10\.0/);
      await nc.close();
    } finally {
      await r.close();
    }
  });

  it('without JetStream: no jetstream in INFO and $JS.API requests get no responders', async () => {
    const r = await startServer({});
    try {
      const nc = await conn(r.url);
      assert.equal(nc.info?.jetstream, undefined);
      const x = await req(nc, '$JS.API.INFO');
      assert.deepEqual(x, { status: '503 No Responders', headers: {} });
      await nc.close();
    } finally {
      await r.close();
    }
  });

  it('startServer({ jetstream: true }) uses a temporary store directory removed on close', async () => {
    const r = await startServer({ jetstream: true });
    const dir = r.server.options.storeDir!;
    assert.ok(existsSync(join(dir, 'jetstream')));
    await r.close();
    assert.equal(existsSync(dir), false);
  });

  it('bin/tsnats -js -sd <dir> starts JetStream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'js-bin-'));
    const p = await spawnProc(process.execPath, [BIN, '-a', '127.0.0.1', '-p', '-1', '-js', '-sd', dir]);
    try {
      assert.match(p.out(), /Starting JetStream/);
      const nc = await conn(`nats://127.0.0.1:${p.port}`);
      assert.equal(nc.info?.jetstream, true);
      await nc.close();
    } finally {
      await p.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
