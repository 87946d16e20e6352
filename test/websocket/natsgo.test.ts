// nats.go over websocket: the benchmark's Go load generator (bench/loadgen, official nats.go)
// publishes and subscribes through tsnats over ws://, ws:// with compression (nats.go offers
// permessage-deflate with both no-context-takeover parameters and fails on any other answer) and
// wss:// (testkit PKI). Skips when Go or Debian's nats.go sources are missing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findTools } from '../../bench/lib/deps.js';
import { buildLoadgen, runLoadgen } from '../../bench/lib/loadgen.js';
import { setup, type Env } from '../stapling/helpers.js';
import { startTs, type WsTarget } from './helpers.js';

const tools = findTools();
const skip = !tools.go || !tools.gopath ? `Go or nats.go sources missing: ${tools.problems.join('; ')}` : false;

describe('nats.go over websocket (Go load generator)', { skip, timeout: 300_000 }, () => {
  let bin: string;
  let E: Env;
  let plain: WsTarget;
  let z: WsTarget;
  let secure: WsTarget;
  before(async () => {
    bin = buildLoadgen(tools.go!, tools.gopath!);
    E = await setup();
    plain = await startTs(`websocket { listen: "127.0.0.1:-1", no_tls: true }`);
    z = await startTs(`websocket { listen: "127.0.0.1:-1", no_tls: true, compression: true }`);
    const c = E.pki.server;
    secure = await startTs(`websocket {\n  listen: "127.0.0.1:-1"\n  tls { cert_file: "${c.certFile}", key_file: "${c.keyFile}" }\n}`);
  });
  after(async () => {
    await plain?.stop();
    await z?.stop();
    await secure?.stop();
    await E?.close();
  });

  const cases: Array<[string, () => { url: string; extra: string[] }]> = [
    ['ws://', () => ({ url: `ws://127.0.0.1:${plain.wsPort}`, extra: [] })],
    ['ws:// with compression', () => ({ url: `ws://127.0.0.1:${z.wsPort}`, extra: ['-wscompress'] })],
    ['wss://', () => ({ url: `wss://localhost:${secure.wsPort}`, extra: ['-ca', E.pki.caFile] })],
  ];
  for (const [name, get] of cases) {
    it(`${name}: 1 → 1 for ~1 s delivers everything; request/reply works`, async () => {
      const { url, extra } = get();
      const r = await runLoadgen(bin, 'pubsub', ['-url', url, ...extra, '-size', '100', '-subs', '1', '-dur', '1s'], { timeoutMs: 60_000 });
      assert.ok((r.expected as number) > 0, JSON.stringify(r));
      assert.equal(r.received, r.expected);
      assert.equal(r.lost, 0);
      assert.equal(r.subs_closed, 0);
      const q = await runLoadgen(bin, 'reqrep', ['-url', url, ...extra, '-size', '128', '-dur', '0.3s'], { timeoutMs: 60_000 });
      assert.ok((q.requests as number) > 0, JSON.stringify(q));
    });
  }
});
