// A responder that never answers delays only the handshakes that wait for it: other clients'
// request/reply latency and new connections with cached answers are unaffected (measured).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { monitorJson, natsClient, rawClient, setupPeer, sleep, startPeerServer, type PeerEnv, type RawResult } from './helpers.js';

let env: PeerEnv;
before(async () => {
  env = await setupPeer();
});
after(async () => {
  await env.close();
});

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

test('a hanging responder holds only the peers waiting for it', async () => {
  const stuck = await env.pki.issue('stuck', { issuer: env.pki.intermediate, eku: ['clientAuth'], ocspUrls: [env.intResponder.url] });
  const ts = await startPeerServer(env, '{ verify: true, ca_timeout: 2 }', 'http: "127.0.0.1:-1"');
  try {
    const svc = await natsClient(ts.port, env.good, env);
    const req = await natsClient(ts.port, env.good, env);
    assert.ok(!(svc instanceof Error) && !(req instanceof Error));
    const sub = svc.subscribe('echo');
    void (async () => {
      for await (const m of sub) m.respond(m.data);
    })();
    await svc.flush();
    const measure = async (count: number): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        await req.request('echo', 'x', { timeout: 2000 });
        out.push(performance.now() - t0);
      }
      return out;
    };
    await measure(50);
    const base = await measure(300);

    env.intResponder.setFault('hang');
    const t0 = performance.now();
    const held: Promise<RawResult>[] = Array.from({ length: 20 }, () => rawClient(ts.port, stuck, env, { useBundle: true, timeoutMs: 10000 }));
    // Wait until the checks are pending.
    for (let i = 0; i < 50; i++) {
      const z = (await monitorJson(ts.server.monitor.port, '/ocspz')).peer as { checks_pending: number };
      if (z.checks_pending === 20) break;
      await sleep(20);
    }
    const during = await measure(300);
    const pendingAfter = ((await monitorJson(ts.server.monitor.port, '/ocspz')).peer as { checks_pending: number }).checks_pending;
    // A new client whose answer is cached is admitted at once.
    const fresh = await rawClient(ts.port, env.good, env);
    assert.equal(fresh.admitted, true);
    const results = await Promise.all(held);
    const heldMs = performance.now() - t0;
    env.intResponder.setFault(null);

    const b99 = pct(base, 99);
    const d99 = pct(during, 99);
    console.log(
      `request/reply p50/p99 ms: baseline ${pct(base, 50).toFixed(2)}/${b99.toFixed(2)}, with 20 handshakes held ${pct(during, 50).toFixed(2)}/${d99.toFixed(2)}; ` +
        `cached client admitted in ${fresh.ms.toFixed(1)} ms; held peers refused after ${heldMs.toFixed(0)} ms; still pending after measuring: ${pendingAfter}`,
    );
    assert.equal(pendingAfter, 20, 'the held handshakes were still waiting while we measured');
    assert.ok(d99 < Math.max(50, b99 * 5), `p99 ${d99} ms while checks were pending (baseline ${b99} ms)`);
    assert.ok(fresh.ms < 1000);
    assert.ok(results.every((r) => !r.admitted && r.secure), 'held peers are refused once ca_timeout passes (unreachable)');
    assert.ok(heldMs >= 1900 && heldMs < 6000, `held for ${heldMs} ms (ca_timeout 2 s)`);
    assert.equal(env.intResponder.requests.total >= 1, true);
    await svc.close();
    await req.close();
  } finally {
    env.intResponder.setFault(null);
    await ts.stop();
  }
});
