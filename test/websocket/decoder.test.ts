// The frame decoder on its own: every split point of a stream (a read may end anywhere, inside a
// frame header too: the regression the websocket fuzz target found), and the close frame text rule.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeFrame, WsDecoder, WsFrameError } from '../../src/server/websocket/frames.js';
import { frame } from './helpers.js';

function decodeSplit(stream: Buffer, cuts: number[]): { data: string; controls: string[] } {
  let data = '';
  const controls: string[] = [];
  const d = new WsDecoder({ data: (b) => (data += b.toString('latin1')), control: (op, p) => controls.push(`${op}:${p.toString()}`) }, { maskRequired: true, maxCompressed: 1 << 20 });
  let at = 0;
  for (const c of [...cuts, stream.length]) {
    d.push(Buffer.from(stream.subarray(at, c)));
    at = c;
  }
  return { data, controls };
}

describe('websocket frame decoder', () => {
  const stream = Buffer.concat([
    frame(1, 'CONNECT {}\r\n'),
    frame(2, 'PUB a 300\r\n', { fin: false }),
    frame(9, 'hi'),
    frame(0, 'x'.repeat(300) + '\r\n'),
    frame(2, 'y'.repeat(70_000)),
  ]);
  const expected = 'CONNECT {}\r\nPUB a 300\r\n' + 'x'.repeat(300) + '\r\n' + 'y'.repeat(70_000);

  it('gives the same bytes whatever the read boundaries (every single split point, and pairs)', () => {
    for (let i = 0; i <= 400; i++) {
      const r = decodeSplit(stream, [i]);
      assert.equal(r.data, expected, `split at ${i}`);
      assert.deepEqual(r.controls, ['9:hi']);
    }
    for (let i = 0; i < 40; i++) for (let j = i; j < 60; j++) assert.equal(decodeSplit(stream, [i, j]).data, expected, `split at ${i},${j}`);
    const ones = Array.from({ length: 500 }, (_, k) => k + 1);
    assert.equal(decodeSplit(stream, ones).data, expected, 'one byte at a time');
  });

  it('throws WsFrameError with nats-server texts', () => {
    const d = new WsDecoder({ data: () => undefined, control: () => undefined }, { maskRequired: true, maxCompressed: 1024 });
    assert.throws(() => d.push(frame(2, 'x', { mask: false })), (e: Error) => e instanceof WsFrameError && e.message === 'mask bit missing');
  });

  it('close frame reasons are cut to 120 bytes + "..." past 123', () => {
    assert.equal(closeFrame(1000, 'a'.repeat(123)).length, 2 + 2 + 123);
    const long = closeFrame(1011, 'b'.repeat(200));
    assert.equal(long[1], 125);
    assert.equal(long.subarray(4).toString(), 'b'.repeat(120) + '...');
  });
});
