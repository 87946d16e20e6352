// Log lines for client events, checked against tsnats and (when installed) nats-server: the same
// expectations, with the address/cid prefix normalised.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Conn, SKIP_NATS_SERVER, sleep, startTarget, type TargetName } from './harness.js';

const TARGETS: TargetName[] = ['tsnats', 'nats-server'];

/** Log messages of client connections, as `LVL message` with the `ip:port - cid:N - ` part removed. */
function clientLines(log: string): string[] {
  const out: string[] = [];
  for (const line of log.split('\n')) {
    const m = /\[(INF|DBG|TRC|WRN|ERR|FTL)\] 127\.0\.0\.1:\d+ - cid:\d+ - (.*)$/.exec(line);
    if (m) out.push(`${m[1]} ${m[2]}`);
  }
  return out;
}

interface Case {
  title: string;
  conf: string;
  input: string;
  /** Lines that must appear, in this order (others may be interleaved). */
  expect: string[];
  waitMs?: number;
}

const CASES: Case[] = [
  {
    title: 'connect, trace of ops, close',
    conf: 'debug: true\ntrace: true',
    input: 'CONNECT {"verbose":false}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nPING\r\n',
    expect: [
      'DBG Client connection created',
      'TRC <<- [CONNECT {"verbose":false}]',
      'TRC <<- [SUB foo 1]',
      'TRC <<- [PUB foo 2]',
      'TRC <<- MSG_PAYLOAD: ["hi"]',
      'TRC ->> [MSG foo 1 2]',
      'TRC <<- [PING]',
      'TRC ->> [PONG]',
      'DBG Client connection closed: Client Closed',
      'TRC <-> [DELSUB 1]',
    ],
  },
  {
    title: 'authentication failure (users)',
    conf: 'debug: true\nauthorization { users: [ {user: a, password: b} ] }',
    input: 'CONNECT {"user":"a","pass":"x"}\r\n',
    expect: ['ERR authentication error - User "a"', 'DBG Client connection closed: Authentication Failure'],
  },
  {
    title: 'authentication failure (token)',
    conf: 'debug: true\nauthorization { token: t }',
    input: 'CONNECT {"auth_token":"x"}\r\n',
    expect: ['ERR authentication error', 'DBG Client connection closed: Authentication Failure'],
  },
  {
    title: 'authentication timeout',
    conf: 'debug: true\nauthorization { token: t, timeout: 0.2 }',
    input: '',
    expect: ['DBG Authentication Timeout', 'DBG Client connection closed: Authentication Timeout'],
    waitMs: 600,
  },
  {
    title: 'permission violations',
    conf: 'authorization { users: [ {user: a, password: b, permissions: { publish: "ok", subscribe: { deny: "bar" } } } ] }',
    input: 'CONNECT {"user":"a","pass":"b","verbose":false}\r\nPUB baz 1\r\nx\r\nSUB bar 1\r\nSUB bar q 2\r\n',
    expect: [
      'ERR Publish Violation - User "a", Subject "baz"',
      'ERR Subscription Violation - User "a", Subject "bar", SID 1',
      'ERR Subscription Violation - User "a", Subject "bar", Queue: "q", SID 2',
    ],
  },
  {
    title: 'stale connection',
    conf: 'debug: true\nping_interval: "100ms"\nping_max: 1',
    input: 'CONNECT {"verbose":false}\r\n',
    expect: ['DBG Client Ping Timer', 'DBG Stale Client Connection - Closing', 'DBG Client connection closed: Stale Connection'],
    waitMs: 800,
  },
  {
    title: 'client -ERR',
    conf: 'debug: true',
    input: 'CONNECT {}\r\n-ERR foo\r\n',
    expect: ['ERR Client Error foo', 'DBG Client connection closed: Parse Error'],
  },
  {
    title: 'invalid client protocol',
    conf: 'debug: true',
    input: 'CONNECT {"protocol":3}\r\n',
    expect: ['DBG Client connection closed: Bad Client Protocol Version'],
  },
  {
    title: 'maximum subscriptions',
    conf: 'max_subscriptions: 1',
    input: 'CONNECT {"verbose":false}\r\nSUB a 1\r\nSUB b 2\r\n',
    expect: ['ERR maximum subscriptions exceeded'],
  },
  {
    title: 'maximum payload',
    conf: 'debug: true\nmax_payload: 4',
    input: 'CONNECT {}\r\nPUB foo 5\r\n',
    expect: ['DBG Client connection closed: Maximum Message Payload Exceeded'],
  },
  {
    title: 'maximum control line',
    conf: 'debug: true\nmax_control_line: 16',
    input: `CONNECT {}\r\nSUB ${'a'.repeat(30)} 1\r\n`,
    expect: ['DBG Client connection closed: Maximum Control Line Exceeded'],
  },
];

describe('wire: log lines', () => {
  for (const c of CASES) {
    for (const name of TARGETS) {
      it(`${c.title} [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 10000 }, async () => {
        const srv = await startTarget(name, c.conf);
        try {
          const conn = await Conn.open(srv.port);
          await conn.info();
          if (c.input) conn.send(c.input);
          await sleep(c.waitMs ?? 150);
          conn.close();
          await sleep(100);
          const lines = clientLines(srv.log());
          let at = 0;
          for (const want of c.expect) {
            const i = lines.indexOf(want, at);
            assert.ok(i >= 0, `missing (in order) ${JSON.stringify(want)} in:\n${lines.join('\n')}`);
            at = i + 1;
          }
        } finally {
          await srv.stop();
        }
      });
    }
  }
});
