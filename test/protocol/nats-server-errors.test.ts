// Live check of the -ERR table and the parser's close decisions against the real nats-server
// (skipped when `nats-server` is not installed). For each case the bytes go to nats-server over a raw
// socket; what it answers (-ERR lines) and whether it closes must equal what our parser + errors.ts
// predict. Only the error decisions are compared, not the rest of the server's behaviour.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recorder } from './recorder.js';
import * as E from '../../src/protocol/errors.js';

const probe = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
const skip = probe.error || probe.status !== 0 ? 'nats-server is not installed' : false;

const MCL = 64;
const MAX_PAYLOAD = 100;
// Short enough for max_control_line 64.
const CONNECT = 'CONNECT {"user":"u","pass":"p","headers":true,"verbose":false}\r\n';

interface Case {
  name: string;
  /** Bytes after CONNECT (latin1), or the whole input when `raw`. */
  send: string;
  raw?: boolean;
  /** For errors decided above the parser: the frames expected and whether the connection closes. */
  expect?: { frames: Buffer[]; closes: boolean };
}

const a = (n: number) => 'a'.repeat(n);
const cases: Case[] = [
  // parser decisions
  { name: 'unknown verb', send: 'XYZ\r\n' },
  { name: 'empty line', send: '\r\n' },
  { name: 'leading space', send: ' PING\r\n' },
  { name: 'PIN', send: 'PIN\r\n' },
  { name: '-ERR without space', send: '-ERR\r\n' },
  { name: 'PUB without space', send: 'PUB\r\n' },
  { name: 'MSG from a client', send: 'MSG foo 1 0\r\n\r\n' },
  { name: 'missing CRLF after payload', send: 'PUB foo 5\r\nhelloXPING\r\n' },
  { name: 'LF only after payload', send: 'PUB foo 5\r\nhello\nPING\r\n' },
  { name: 'PUB 1 arg', send: 'PUB foo\r\n' },
  { name: 'PUB 4 args', send: 'PUB foo a b 5\r\n' },
  { name: 'PUB negative size', send: 'PUB foo -1\r\n' },
  { name: 'PUB 10-digit size', send: 'PUB foo 0000000005\r\n' },
  { name: 'PUB huge size', send: 'PUB foo 99999999999999999999\r\n' },
  { name: 'PUB 9-digit size', send: 'PUB foo 999999999\r\n' },
  { name: 'PUB max_payload + 1', send: `PUB foo ${MAX_PAYLOAD + 1}\r\n` },
  { name: 'PUB max_payload', send: `PUB foo ${MAX_PAYLOAD}\r\n${a(MAX_PAYLOAD)}\r\n` },
  { name: 'PUB CR inside the line', send: 'PUB foo\r 5\nhello\r\n' },
  { name: 'PUB CR CR LF', send: 'PUB foo 5\r\r\nhello\r\n' },
  { name: 'HPUB hdr > total', send: 'HPUB foo 14 12\r\n' },
  { name: 'HPUB total > max_payload', send: `HPUB foo 0 ${MAX_PAYLOAD + 1}\r\n` },
  { name: 'HPUB ok', send: 'HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n' },
  { name: 'SUB 1 arg', send: 'SUB foo\r\n' },
  { name: 'SUB 4 args', send: 'SUB foo q 1 2\r\n' },
  { name: 'UNSUB 3 args', send: 'UNSUB 1 2 3\r\n' },
  { name: 'UNSUB space CRLF', send: 'UNSUB \r\n' },
  { name: 'UNSUB bad max', send: 'UNSUB 1 x\r\n' },
  { name: 'control line = max', send: `PUB ${a(MCL - 2)} 0\r\n\r\n` },
  { name: 'control line = max + 1', send: `PUB ${a(MCL - 1)} 0\r\n\r\n` },
  { name: 'control line trailing spaces', send: `PUB ${a(MCL - 2)} 0 \r\n\r\n` },
  { name: 'unterminated line over max', send: `SUB ${a(MCL + 1)}` },
  { name: 'unterminated line = max', send: `SUB ${a(MCL)}` },
  { name: 'long CONNECT', raw: true, send: `CONNECT {"user":"u","pass":"p","name":"${a(MCL)}"}\r\n` },
  { name: 'long INFO', send: `INFO {"x":"${a(MCL)}"}\r\n` },
  { name: 'PING with long junk', send: `PING${a(5 * MCL)}\r\n` },
  // auth (the server requires it, so the parser runs with expectConnect)
  { name: 'first op PING', raw: true, send: 'PING\r\n' },
  { name: 'first byte P', raw: true, send: 'P' },
  { name: 'first op CXYZ', raw: true, send: 'CXYZ\r\n' },
  // above the parser: the texts of errors.ts against nats-server
  { name: 'bad password', raw: true, send: 'CONNECT {"user":"u","pass":"x"}\r\n', expect: { frames: [E.ERR_AUTH_VIOLATION.frame], closes: true } },
  { name: 'invalid client protocol', raw: true, send: 'CONNECT {"user":"u","pass":"p","protocol":2}\r\n', expect: { frames: [E.ERR_INVALID_CLIENT_PROTOCOL.frame], closes: true } },
  {
    name: 'no_responders without headers',
    raw: true,
    send: 'CONNECT {"user":"u","pass":"p","no_responders":true}\r\n',
    expect: { frames: [E.ERR_NO_RESPONDERS_REQUIRES_HEADERS.frame], closes: true },
  },
  { name: 'invalid subject', send: 'SUB foo..bar 1\r\nSUB foo.>.x 2\r\n', expect: { frames: [E.ERR_INVALID_SUBJECT.frame, E.ERR_INVALID_SUBJECT.frame], closes: false } },
  { name: 'invalid publish subject (pedantic default)', send: 'PUB foo.* 0\r\n\r\n', expect: { frames: [E.ERR_INVALID_PUBLISH_SUBJECT.frame], closes: false } },
  { name: 'publish denied', send: 'PUB secret.a"b 0\r\n\r\n', expect: { frames: [E.errPermPublish('secret.a"b')], closes: false } },
  { name: 'publish denied, binary subject', send: 'PUB secret.\x01\xff\xc3\xa9 0\r\n\r\n', expect: { frames: [E.errPermPublish('secret.\x01\xff\xc3\xa9')], closes: false } },
  { name: 'subscribe denied', send: 'SUB secret.x 1\r\n', expect: { frames: [E.errPermSubscribe('secret.x')], closes: false } },
  { name: 'subscribe denied with queue', send: 'SUB secret.x q\\1 1\r\n', expect: { frames: [E.errPermSubscribe('secret.x', 'q\\1')], closes: false } },
  { name: 'too many tokens', send: 'SUB a.b.c.d.e 1\r\n', expect: { frames: [E.errPermSubscribeTooManyTokens('a.b.c.d.e')], closes: false } },
];

/** What tsnats decides for the input: the -ERR frames and whether it closes. */
function predict(input: Buffer): { frames: Buffer[]; closes: boolean } {
  const r = new Recorder({ maxControlLine: MCL, maxPayload: MAX_PAYLOAD });
  r.parser.expectConnect = true;
  r.parser.headers = false;
  r.after = (c, p) => {
    if (c[0] === 'connect') p.headers = (JSON.parse(c[1]) as { headers?: boolean }).headers === true;
  };
  r.parser.parse(input);
  const v = r.calls.find((c) => c[0] === 'violation');
  if (v === undefined) return { frames: [], closes: false };
  const e = E.VIOLATION_ERRORS[v[1]];
  return { frames: e === null ? [] : [e.frame], closes: true };
}

function talk(port: number, input: Buffer): Promise<{ frames: Buffer[]; closes: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = Buffer.alloc(0);
    let closed = false;
    s.on('data', (d) => (out = Buffer.concat([out, d])));
    s.on('error', () => {});
    s.on('close', () => (closed = true));
    s.once('connect', () => s.write(input));
    setTimeout(() => {
      s.destroy();
      const text = out.toString('latin1');
      if (!text.startsWith('INFO ')) return reject(new Error(`no INFO: ${JSON.stringify(text)}`));
      const frames = text
        .split(/(?<=\r\n)/)
        .filter((l) => l.startsWith('-ERR'))
        .map((l) => Buffer.from(l, 'latin1'));
      resolve({ frames, closes: closed });
    }, 700);
  });
}

describe('-ERR texts and close decisions match nats-server', { skip }, () => {
  let server: ChildProcess | undefined;
  let port = 0;
  let dir = '';

  before(async () => {
    port = await new Promise<number>((res) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => res(p));
      });
    });
    dir = mkdtempSync(join(tmpdir(), 'tsnats-nats-'));
    const conf = join(dir, 'server.conf');
    writeFileSync(
      conf,
      `listen: 127.0.0.1:${port}
max_control_line: ${MCL}
max_payload: ${MAX_PAYLOAD}
max_subscription_tokens: 4
authorization {
  users = [ { user: u, password: p, permissions: { publish: { deny: ["secret.>"] }, subscribe: { deny: ["secret.>"] } } } ]
}
`,
    );
    server = spawn('nats-server', ['-c', conf], { stdio: 'ignore' });
    for (let k = 0; k < 100; k++) {
      const ok = await new Promise<boolean>((res) => {
        const s = net.connect(port, '127.0.0.1', () => (s.destroy(), res(true)));
        s.on('error', () => res(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('nats-server did not start');
  });

  after(() => {
    server?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`${cases.length} cases`, async () => {
    const results = await Promise.all(
      cases.map(async (c) => {
        const input = Buffer.from(c.raw ? c.send : CONNECT + c.send, 'latin1');
        return { c, got: await talk(port, input), want: c.expect ?? predict(input) };
      }),
    );
    const diffs: string[] = [];
    for (const { c, got, want } of results) {
      const g = { frames: got.frames.map((f) => f.toString('latin1')), closes: got.closes };
      const w = { frames: want.frames.map((f) => f.toString('latin1')), closes: want.closes };
      try {
        assert.deepEqual(g, w);
      } catch {
        diffs.push(`${c.name}: nats-server ${JSON.stringify(g)}, tsnats ${JSON.stringify(w)}`);
      }
    }
    assert.deepEqual(diffs, []);
  });
});
