// The route protocol reader: every op form nats-server 2.9.10 writes, any split of the input gives
// the same result, and random or mutated input never throws.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RouteParser, parseMsgArgs, type RouteMsg } from '../../src/protocol/route-parser.js';

type Ev = string;

function run(chunks: Buffer[]): Ev[] {
  const out: Ev[] = [];
  const p = new RouteParser({
    onOp: (op, args) => void out.push(`${op}|${args.join(',')}`),
    onMsg: (m: RouteMsg, d, s, e) => void out.push(`MSG|${JSON.stringify(m)}|${d.toString('latin1', s, e)}`),
    onParseError: (r) => void out.push(`ERR|${r}`),
  });
  for (const c of chunks) p.parse(c);
  return out;
}

const SAMPLE = Buffer.from(
  [
    'INFO {"server_id":"N1","cluster":"C1"}',
    'CONNECT {"name":"N1"}',
    'PING',
    'PONG',
    'RS+ $G foo',
    'RS+ $G foo q1 3',
    'RS-  $G foo',
    'LS+ LC $G bar',
    'LS-  $G bar',
    'RMSG $G pub.x 5\r\nhello',
    'RMSG $G pub.x reply.1 5\r\nhello',
    'RMSG $G pub.q | g1 g2 2\r\nhi',
    'RMSG $G pub.q + rep g1 2\r\nhi',
    'HMSG $G pub.x 12 14\r\nNATS/1.0\r\n\r\nhi',
    'LMSG LC $G bar 0 2\r\nhi',
    'LMSG LC $G bar | qa 0 2\r\nhi',
    '+OK',
    "-ERR 'x'",
  ].join('\r\n') + '\r\n',
);

describe('route parser', () => {
  it('reads every op form', () => {
    const ev = run([SAMPLE]);
    assert.equal(ev.length, 18);
    assert.equal(ev[6], 'RS-|$G,foo');
    assert.match(ev[9]!, /"subject":"pub.x".*\|hello$/);
    assert.match(ev[11]!, /"queues":\["g1","g2"\]/);
    assert.match(ev[12]!, /"reply":"rep","queues":\["g1"\]/);
    assert.match(ev[13]!, /"hdr":12,"size":14/);
    assert.match(ev[14]!, /"origin":"LC".*"hdr":-1/);
  });

  it('gives the same events for any split of the input', () => {
    const whole = run([SAMPLE]);
    for (let i = 0; i < 300; i++) {
      const chunks: Buffer[] = [];
      let k = 0;
      while (k < SAMPLE.length) {
        const n = 1 + Math.floor(Math.random() * 40);
        chunks.push(SAMPLE.subarray(k, k + n));
        k += n;
      }
      assert.deepEqual(run(chunks), whole);
    }
  });

  it('bad reply indicators and sizes are parse errors, never exceptions', () => {
    assert.match(String(parseMsgArgs('RMSG', '$G foo x q 2')), /Bad or Missing Reply Indicator: 'x'/);
    assert.match(String(parseMsgArgs('RMSG', '$G foo -1')), /Bad or Missing Size/);
    assert.match(String(parseMsgArgs('HMSG', '$G foo 5 2')), /Bad or Missing Size/);
    assert.match(String(parseMsgArgs('RMSG', '$G')), /Parse Error/);
  });

  it('random and mutated input never throws', () => {
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(SAMPLE);
      const m = 1 + Math.floor(Math.random() * 8);
      for (let j = 0; j < m; j++) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
      assert.doesNotThrow(() => run([b.subarray(0, Math.floor(b.length / 2)), b.subarray(Math.floor(b.length / 2))]));
    }
    for (let i = 0; i < 500; i++) {
      const b = Buffer.alloc(200);
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(Math.random() * 256);
      assert.doesNotThrow(() => run([b]));
    }
  });
});
