// mTLS connects per second with `ocsp_peer` on (warm cache) and off, on one tsnats server (the
// setting flipped by reload between slices: off, on, on, off, ...). The Go load generator makes
// raw NATS-over-TLS connects with a client certificate (CONNECT + PING → PONG each).
//
//   npm run build && node dist/bench/ocsp-peer.js [--dur 2] [--rounds 3] [--conc 4] [--chain]
//
// --chain uses a client certificate issued by an intermediate CA (two OCSP links per connect).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../src/config/index.js';
import { startServer } from '../src/index.js';
import { createTestPki, startResponder } from '../src/testkit/index.js';
import { findTools } from './lib/deps.js';
import { buildLoadgen, runLoadgen } from './lib/loadgen.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const dur = arg('dur', 2);
const rounds = arg('rounds', 3);
const conc = arg('conc', 4);
const chain = process.argv.includes('--chain');

const tools = findTools();
if (!tools.go || !tools.gopath) {
  console.error(`cannot build the load generator: ${tools.problems.join('; ')}`);
  process.exit(1);
}
const bin = buildLoadgen(tools.go, tools.gopath, (m) => console.error(m));
const responder = await startResponder();
const pki = await createTestPki({ ocspUrl: responder.url });
responder.setIssuer(pki.root);
const int = await startResponder();
int.setIssuer(pki.intermediate);
const client = chain
  ? await pki.issue('bench-client', { issuer: pki.intermediate, eku: ['clientAuth'], ocspUrls: [int.url] })
  : await pki.issue('bench-client', { eku: ['clientAuth'] });
const dir = mkdtempSync(join(tmpdir(), 'tsnats-bench-ocsp-peer-'));
const conf = join(dir, 'peer.conf');
const write = (on: boolean): void =>
  writeFileSync(
    conf,
    `host: 127.0.0.1\nport: -1\nstore_dir: "${dir}"\ntls {\n  cert_file: "${pki.server.certFile}"\n  key_file: "${pki.server.keyFile}"\n  ca_file: "${pki.caFile}"\n  verify: true\n  ocsp_peer: ${on}\n}\n`,
  );
write(true);
const srv = await startServer({ configFile: conf });
const args = ['-url', `tls://127.0.0.1:${srv.port}`, '-ca', pki.caFile, '-cert', chain ? client.bundleFile : client.certFile, '-key', client.keyFile, '-conc', String(conc)];
const results: Record<'on' | 'off', number[]> = { on: [], off: [] };
try {
  // Warm-up (fills the peer cache and warms the code paths).
  await runLoadgen(bin, 'handshake', [...args, '-dur', '1s'], { timeoutMs: 30_000 });
  const order: ('on' | 'off')[] = [];
  for (let r = 0; r < rounds; r++) order.push(...((r % 2 === 0 ? ['off', 'on'] : ['on', 'off']) as ('on' | 'off')[]));
  for (const which of order) {
    write(which === 'on');
    await srv.server.reload(loadConfigFile(conf).options);
    const j = await runLoadgen(bin, 'handshake', [...args, '-dur', `${dur}s`], { timeoutMs: 60_000 });
    const rate = Number(j.connects) / Number(j.secs ?? dur);
    if (Number(j.failed ?? 0) > 0) console.error(`${which}: ${j.failed} failed, first: ${String(j.first_error)}`);
    results[which].push(rate);
    console.error(`${which}: ${rate.toFixed(0)} connects/s`);
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const on = med(results.on);
  const off = med(results.off);
  console.log(
    JSON.stringify({ chain_links: chain ? 2 : 1, conc, dur, rounds, connects_per_s_off: Math.round(off), connects_per_s_on: Math.round(on), on_vs_off: Number((on / off).toFixed(3)) }),
  );
} finally {
  await srv.close();
  await responder.close();
  await int.close();
  await pki.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
