import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CRLF,
  decimalLength,
  encodeHmsgHeader,
  encodeInfo,
  encodeMsgHeader,
  encodeNoResponders,
  hmsgHeaderLength,
  msgHeaderLength,
  NO_RESPONDERS_HDR,
  OK,
  PING,
  PONG,
  stripHeaders,
  utf8ToWire,
  wireToUtf8,
  writeDecimal,
  writeHmsgHeader,
  writeMsgHeader,
} from '../../src/protocol/encode.js';

const str = (b: Buffer) => b.toString('latin1');

describe('encode', () => {
  it('constants', () => {
    assert.equal(str(PING), 'PING\r\n');
    assert.equal(str(PONG), 'PONG\r\n');
    assert.equal(str(OK), '+OK\r\n');
    assert.equal(str(CRLF), '\r\n');
  });

  it('INFO has a space before CRLF', () => {
    assert.equal(encodeInfo({ server_id: 'N1', max_payload: 1024 }).toString(), 'INFO {"server_id":"N1","max_payload":1024} \r\n');
    assert.equal(encodeInfo('{"a":"é"}').toString('utf8'), 'INFO {"a":"é"} \r\n');
  });

  it('MSG header lines', () => {
    assert.equal(str(encodeMsgHeader('foo', '1', undefined, 5)), 'MSG foo 1 5\r\n');
    assert.equal(str(encodeMsgHeader('foo.bar', '9', 'GREETING.34', 11)), 'MSG foo.bar 9 GREETING.34 11\r\n');
    assert.equal(str(encodeMsgHeader('foo', '1', '', 0)), 'MSG foo 1 0\r\n');
    assert.equal(msgHeaderLength('foo', '1', '', 0), 'MSG foo 1 0\r\n'.length);
  });

  it('HMSG header lines', () => {
    assert.equal(str(encodeHmsgHeader('foo', '7', 'r', 18, 20)), 'HMSG foo 7 r 18 20\r\n');
    assert.equal(str(encodeHmsgHeader('foo', '7', undefined, 12, 12)), 'HMSG foo 7 12 12\r\n');
  });

  it('writes at an offset and returns the bytes written', () => {
    const out = Buffer.alloc(100, 0x2e);
    const n = writeMsgHeader(out, 10, 'a.b', 'sid', 'r', 123);
    assert.equal(n, 'MSG a.b sid r 123\r\n'.length);
    assert.equal(str(out.subarray(10, 10 + n)), 'MSG a.b sid r 123\r\n');
    assert.equal(out[9], 0x2e);
    assert.equal(out[10 + n], 0x2e);
    const m = writeHmsgHeader(out, 50, 'a', 's', undefined, 0, 1);
    assert.equal(str(out.subarray(50, 50 + m)), 'HMSG a s 0 1\r\n');
  });

  it('binary subject bytes round-trip (latin1 domain), long strings too', () => {
    const subj = 'f\x00\x01\xff.' + 'x\xe9'.repeat(40);
    const b = encodeMsgHeader(subj, '1', undefined, 0);
    assert.deepEqual(b.subarray(4, 4 + subj.length), Buffer.from(subj, 'latin1'));
  });

  it('decimals', () => {
    const out = Buffer.alloc(20);
    for (const n of [0, 1, 9, 10, 99, 100, 12345, 999999999, 1000000000, 2 ** 40]) {
      const k = writeDecimal(out, 3, n);
      assert.equal(k, String(n).length);
      assert.equal(decimalLength(n), String(n).length);
      assert.equal(str(out.subarray(3, 3 + k)), String(n));
    }
  });

  it('header lines equal the template and their computed length (property)', () => {
    const s = fc.uint8Array({ minLength: 1, maxLength: 60 }).map((b) => Buffer.from(b).toString('latin1'));
    fc.assert(
      fc.property(s, s, fc.option(s, { nil: undefined }), fc.nat(), fc.nat(), (subj, sid, reply, a, b) => {
        const [hdr, total] = a <= b ? [a, b] : [b, a];
        const r = reply === undefined ? '' : reply + ' ';
        const m = encodeMsgHeader(subj, sid, reply, total);
        assert.equal(str(m), `MSG ${subj} ${sid} ${r}${total}\r\n`);
        assert.equal(m.length, msgHeaderLength(subj, sid, reply, total));
        const h = encodeHmsgHeader(subj, sid, reply, hdr, total);
        assert.equal(str(h), `HMSG ${subj} ${sid} ${r}${hdr} ${total}\r\n`);
        assert.equal(h.length, hmsgHeaderLength(subj, sid, reply, hdr, total));
      }),
      { numRuns: 500 },
    );
  });

  it('no-responders: the exact bytes nats-server 2.9.10 sends', () => {
    assert.equal(str(NO_RESPONDERS_HDR), 'NATS/1.0 503\r\n\r\n');
    assert.equal(str(encodeNoResponders('_INBOX.x', '1')), 'HMSG _INBOX.x 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n');
  });

  it('stripHeaders', () => {
    const p = Buffer.from('NATS/1.0\r\nA: b\r\n\r\nhi');
    const s = stripHeaders(p, 18);
    assert.equal(s.toString(), 'hi');
    assert.equal(s.buffer, p.buffer, 'a view');
    assert.equal(stripHeaders(p, -1), p);
    assert.equal(stripHeaders(p, 0), p);
  });

  it('utf8ToWire / wireToUtf8', () => {
    assert.equal(utf8ToWire('foo.bar'), 'foo.bar');
    assert.equal(utf8ToWire('é'), '\xc3\xa9');
    assert.equal(wireToUtf8('\xc3\xa9.x'), 'é.x');
    assert.equal(wireToUtf8(utf8ToWire('日本.ü')), '日本.ü');
  });
});
