// Authentication: secrets compared in constant time, bcrypt checked off the event loop's critical
// path, and `auth_timeout` closing connections that never authenticate.
//
//   - inspection of src/server/auth.ts: plain secrets go through timingSafeEqual over SHA-256
//     digests (equal lengths, so neither content nor length leaks), bcrypt hashes through
//     bcryptjs; no `===` / `!==` on a password or token;
//   - a coarse timing test of that comparison: interleaved batches, medians; a guess differing
//     from the secret in its first byte, its last byte or everywhere takes the same time as the
//     right one, while an early-exit comparison measured the same way (the control) is visibly
//     faster on a wrong first byte, so the method is able to see a leak;
//   - bcrypt: right and wrong passwords give the right answers, and 20 concurrent wrong attempts
//     do not stop another client from getting PONGs;
//   - auth_timeout (0.5 s): a silent client, one that drips its CONNECT a byte at a time, and a
//     TLS client that completes the handshake and stays silent are closed with
//     `-ERR 'Authentication Timeout'`; a TLS client that never starts the handshake is closed at
//     the TLS timeout.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { safeEqual } from '../../src/server/auth.js';
import type { TestPki } from '../../src/testkit/index.js';
import { makePki, RawClient, sleep, startInProc, tempDir, tlsConf, type InProc } from '../hostile/harness.js';

let tmp: { dir: string; remove(): void };
before(() => {
  tmp = tempDir('sec-auth');
});
after(() => tmp?.remove());

describe('password comparison is constant-time', () => {
  it('inspection: timingSafeEqual over digests for plain secrets, bcryptjs for hashes, no === on secrets', () => {
    const src = readFileSync(resolve('src/server/auth.ts'), 'utf8');
    assert.match(src, /import \{[^}]*\btimingSafeEqual\b[^}]*\} from 'node:crypto'/);
    assert.match(src, /timingSafeEqual\(digest\(expected\), digest\(given\)\)/, 'both sides hashed to the same length first');
    assert.match(src, /bcrypt\.compare\(/, 'bcrypt hashes checked with bcryptjs');
    const code = src.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
    const bad = code.split('\n').filter((l) => /(pass|password|token|secret)\w*\s*[!=]==?\s*[^=\s]|[!=]==?\s*\w*\.?(pass|password|token)\b/i.test(l) && !/=== undefined|!== undefined|=== ''|!== ''|typeof/.test(l));
    assert.deepEqual(bad, [], 'no direct comparison of a secret');
    // Every secret check goes through comparePassword/safeEqual.
    assert.ok(/comparePassword\(u\.entry\.password/.test(code) && /comparePassword\(this\.token/.test(code) && /comparePassword\(this\.password/.test(code));
    assert.ok(/safeEqual\(this\.user, /.test(code), 'the single user name too');
  });

  it('timing: right secret, wrong first byte, wrong last byte, all wrong: same time (paired medians within 25 %)', (t) => {
    const secret = 'x'.repeat(4096) + 'correct-horse-battery-staple';
    const variants: Record<string, string> = {
      right: secret,
      firstByte: 'y' + secret.slice(1),
      lastByte: secret.slice(0, -1) + 'f',
      allWrong: 'z'.repeat(secret.length),
    };
    // (The time depends on the length of what the client sends, which the client knows anyway;
    // never on how much of it matches the configured secret.)
    const naiveEqual = (a: string, b: string): boolean => {
      if (a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return false;
      return true;
    };
    const batches = 61;
    const perBatch = 300;
    const ratios: Record<string, number[]> = { firstByte: [], lastByte: [], allWrong: [] };
    const naiveRatio: number[] = [];
    let sink = 0;
    const time = (fn: () => void): number => {
      const t0 = process.hrtime.bigint();
      fn();
      return Number(process.hrtime.bigint() - t0);
    };
    for (let b = 0; b < batches; b++) {
      const keys = Object.keys(variants).sort(() => Math.random() - 0.5);
      const times: Record<string, number> = {};
      for (const k of keys) {
        const v = variants[k]!;
        times[k] = time(() => {
          for (let i = 0; i < perBatch; i++) sink += safeEqual(secret, v) ? 1 : 0;
        });
      }
      for (const k of Object.keys(ratios)) ratios[k]!.push(times[k]! / times.right!);
      // Control: an early-exit comparison is visibly faster on a wrong first byte.
      const first = time(() => {
        for (let i = 0; i < perBatch; i++) sink += naiveEqual(secret, variants.firstByte!) ? 1 : 0;
      });
      const last = time(() => {
        for (let i = 0; i < perBatch; i++) sink += naiveEqual(secret, variants.lastByte!) ? 1 : 0;
      });
      naiveRatio.push(first / last);
    }
    assert.equal(sink, batches * perBatch, 'only the right secret matched');
    const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
    const got: Record<string, number> = {};
    for (const [k, r] of Object.entries(ratios)) {
      got[k] = median(r);
      assert.ok(got[k]! > 0.8 && got[k]! < 1.25, `${k}: median time ratio to the right secret ${got[k]!.toFixed(3)}`);
    }
    const control = median(naiveRatio);
    assert.ok(control < 0.5, `the method detects an early-exit comparison (first/last byte ratio ${control.toFixed(3)})`);
    t.diagnostic(
      `safeEqual time ratio to the right secret (median of ${batches} paired batches of ${perBatch}): ${Object.entries(got).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}; early-exit control first/last byte ${control.toFixed(3)}`,
    );
  });
});

describe('bcrypt passwords', () => {
  const HASH = '$2b$08$aBCWPPyGRFb1ceANP43QE.lWYbcNNpACI6YcwgOBbsrBPJZFCIjYi'; // "s3cret", cost 8
  let ts: InProc;
  before(async () => {
    ts = await startInProc(tmp.dir, `authorization { users: [ { user: alice, password: "${HASH}" } ] }`);
  });
  after(async () => ts?.stop());

  async function tryLogin(pass: string): Promise<'ok' | 'refused'> {
    const c = await RawClient.connect(ts.port);
    c.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, user: 'alice', pass })}\r\nPING\r\n`);
    const r = await Promise.race([
      c.waitFor(/PONG\r\n/, 10_000).then(() => 'ok' as const),
      c.waitFor(/-ERR 'Authorization Violation'/, 10_000).then(() => 'refused' as const),
    ]).catch(() => 'refused' as const);
    c.close();
    return r;
  }

  it('right and wrong passwords; 20 concurrent wrong attempts do not stall other clients', async (t) => {
    assert.equal(await tryLogin('s3cret'), 'ok');
    assert.equal(await tryLogin('s3cret '), 'refused');
    assert.equal(await tryLogin(''), 'refused');
    // Another, authenticated client measures PING round trips while 20 bcrypt checks run.
    const other = await RawClient.connect(ts.port);
    other.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, user: 'alice', pass: 's3cret' })}\r\n`);
    await other.flush(10_000);
    let stop = false;
    let maxRtt = 0;
    const rtt = (async () => {
      while (!stop) {
        const t0 = Date.now();
        await other.flush(10_000);
        maxRtt = Math.max(maxRtt, Date.now() - t0);
        await sleep(10);
      }
    })();
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => tryLogin(`wrong-${i}`)));
    const took = Date.now() - t0;
    stop = true;
    await rtt;
    other.close();
    assert.ok(results.every((r) => r === 'refused'));
    t.diagnostic(`20 concurrent wrong bcrypt (cost 8) attempts in ${took} ms; max PING RTT of another client ${maxRtt} ms`);
    assert.ok(maxRtt < Math.max(1000, took / 2), `another client kept answering (max RTT ${maxRtt} ms over ${took} ms)`);
  });
});

describe('auth_timeout closes connections that never authenticate', () => {
  let pki: TestPki;
  let plain: InProc;
  let secure: InProc;
  before(async () => {
    pki = await makePki();
    plain = await startInProc(tmp.dir, 'authorization { user: u, password: p, timeout: 0.5 }');
    secure = await startInProc(tmp.dir, tlsConf({ cert: pki.server, caFile: pki.caFile, tlsExtra: ['timeout: 0.5'], extra: ['authorization { user: u, password: p, timeout: 0.5 }'] }));
  });
  after(async () => {
    await plain?.stop();
    await secure?.stop();
    await pki?.cleanup();
  });

  it('a silent client: -ERR Authentication Timeout, closed after ~0.5 s', async () => {
    const t0 = Date.now();
    const c = await RawClient.connect(plain.port);
    await c.waitFor(/-ERR 'Authentication Timeout'\r\n/, 3000);
    assert.ok(await c.waitClosed(2000), 'closed');
    const took = Date.now() - t0;
    assert.ok(took >= 400 && took < 2500, `closed after ${took} ms`);
  });

  it('a client dripping its CONNECT one byte every 50 ms is closed at the timeout too', async () => {
    const c = await RawClient.connect(plain.port);
    const line = 'CONNECT {"user":"u","pass":"p","verbose":false}\r\nPING\r\n';
    const t0 = Date.now();
    for (let i = 0; i < line.length && !c.closed; i++) {
      c.send(line[i]!);
      await sleep(50);
    }
    assert.ok(c.closed || (await c.waitClosed(2000)), 'closed before the CONNECT was complete');
    assert.match(c.text, /-ERR 'Authentication Timeout'/);
    assert.doesNotMatch(c.text, /PONG/);
    assert.ok(Date.now() - t0 < 3000);
  });

  it('TLS: a client that completes the handshake and stays silent is closed at the auth timeout', async () => {
    const c = await RawClient.connect(secure.port, { tls: { ca: pki.root.certPem } });
    await c.waitFor(/-ERR 'Authentication Timeout'\r\n/, 3000);
    assert.ok(await c.waitClosed(2000));
  });

  it('TLS: a client that never starts the handshake is closed at the TLS timeout', async () => {
    const t0 = Date.now();
    const c = await RawClient.connect(secure.port); // reads INFO, sends nothing
    assert.ok(await c.waitClosed(3000), 'closed');
    const took = Date.now() - t0;
    assert.ok(took >= 400 && took < 3000, `closed after ${took} ms`);
    assert.ok(secure.hasLog('TLS handshake timeout') || secure.hasLog('i/o timeout'), 'logged');
  });
});
