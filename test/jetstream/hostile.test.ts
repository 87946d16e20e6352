// Bad input never crashes JetStream: malformed and mistyped API JSON, odd names, huge and
// negative pull values, garbage acks. Every request gets an API error (or nats-server's silence)
// and the server keeps answering.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { conn, req, sleep, startJs } from './helpers.js';

const BODIES: unknown[] = [
  '', '{', '[]', 'null', '1', '"x"', '{"name":5}', '{"subjects":"a"}', '{"max_msgs":"1"}', '{"retention":"forever"}',
  '{"max_age":-5}', '{"duplicate_window":-1}', '{"config":null}', '{"config":[]}', '{"stream_name":7}',
  '{"config":{"ack_policy":"sometimes"}}', '{"config":{"deliver_policy":1}}', '{"config":{"backoff":"1s"}}',
  '{"config":{"opt_start_time":"yesterday"}}', '{"seq":-1}', '{"seq":1.5}', '{"last_by_subj":5}', '{"filter":"a b"}',
  '{"keep":-3}', '{"offset":-10}', '{"offset":"x"}', 'x'.repeat(70_000), '\u0000\u0001', '{"subjects":["a..b"]}',
];
const SUBJECTS = [
  '$JS.API.STREAM.CREATE.H', '$JS.API.STREAM.UPDATE.H', '$JS.API.STREAM.INFO.H', '$JS.API.STREAM.DELETE.NOPE',
  '$JS.API.STREAM.PURGE.H', '$JS.API.STREAM.NAMES', '$JS.API.STREAM.LIST', '$JS.API.STREAM.MSG.GET.H',
  '$JS.API.STREAM.MSG.DELETE.H', '$JS.API.CONSUMER.CREATE.H', '$JS.API.CONSUMER.CREATE.H.C', '$JS.API.CONSUMER.DURABLE.CREATE.H.C',
  '$JS.API.CONSUMER.NAMES.H', '$JS.API.CONSUMER.LIST.H', '$JS.API.CONSUMER.INFO.H.C', '$JS.API.DIRECT.GET.H',
  '$JS.API.CONSUMER.MSG.NEXT.H.P', '$JS.API.STREAM.SNAPSHOT.H', '$JS.API.STREAM.RESTORE.H', '$JS.API.STREAM.TEMPLATE.NAMES',
  '$JS.API.ACCOUNT.PURGE.$G',
];

describe('jetstream: hostile API input', { timeout: 120_000 }, () => {
  it('answers every bad request with an error or silence and stays up', async () => {
    const s = await startJs('tsnats');
    try {
      const nc = await conn(s.url);
      await req(nc, '$JS.API.STREAM.CREATE.H', { name: 'H', subjects: ['h.>'], allow_direct: true });
      await req(nc, '$JS.API.CONSUMER.CREATE.H.P', { stream_name: 'H', config: { durable_name: 'P', ack_policy: 'explicit', max_waiting: 4 } });
      for (const subj of SUBJECTS) {
        for (const b of BODIES) {
          const r = await req(nc, subj, b as string, 150);
          const text = JSON.stringify(r);
          assert.doesNotMatch(text, /internal error/, `${subj} ${String(b).slice(0, 40)}: ${text}`);
        }
      }
      // hostile pull requests
      for (const b of ['{"batch":1e12}', '{"batch":-5}', '{"expires":1e30,"batch":1}', '{"expires":-1}', '{"idle_heartbeat":-1,"expires":1}', '{"max_bytes":-1}', '99999999999999999999']) {
        nc.publish('$JS.API.CONSUMER.MSG.NEXT.H.P', b, { reply: '_INBOX.hostile' });
      }
      // garbage acks
      for (const a of ['$JS.ACK.H.P.x.y.z.w.v', '$JS.ACK.H.P.1.999999.1.1.0', '$JS.ACK.H.P.-1.-1.-1.-1.-1']) {
        for (const body of ['+ACK', '-NAK {"delay":"x"}', '-NAK 5zz', '+NXT {bad', '+TERM', '+WPI', 'junk']) nc.publish(a, body);
      }
      await nc.flush();
      await sleep(200);
      const ci = await req(nc, '$JS.API.CONSUMER.INFO.H.P');
      if (typeof ci === 'object' && 'json' in ci && !ci.json.error) {
        const f = ci.json.ack_floor as { stream_seq: unknown; consumer_seq: unknown };
        assert.equal(typeof f.stream_seq, 'number', JSON.stringify(ci.json));
        assert.equal(typeof f.consumer_seq, 'number');
      }
      const info = await req(nc, '$JS.API.INFO');
      assert.ok(typeof info === 'object' && 'json' in info && info.json.type === 'io.nats.jetstream.api.v1.account_info_response');
      await req(nc, '$JS.API.STREAM.CREATE.Z', { name: 'Z', subjects: ['z.>'] });
      const pub = await nc.request('z.x', 'still works', { timeout: 1000 });
      assert.match(new TextDecoder().decode(pub.data), /"stream":"Z", "seq":1/);
      await nc.close();
    } finally {
      await s.close();
    }
  });
});
