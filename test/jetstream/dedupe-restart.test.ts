// Duplicate detection across a restart: the dedupe map is rebuilt lazily (on the first publish with
// a Nats-Msg-Id, as nats-server), so a restart with many stored messages stays fast; the same
// scenario against nats-server 2.9.10.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { headers } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { KINDS, conn, startJs } from './helpers.js';

for (const kind of KINDS) {
  describe(`dedupe after a restart (${kind})`, { timeout: 60_000 }, () => {
    it('a msg id stored before the restart is still a duplicate, also after a publish without an id', async () => {
      const dir = mkdtempSync(join(tmpdir(), `js-dd-${kind}-`));
      try {
        let s = await startJs(kind, { dir });
        let nc = await conn(s.url);
        await (await jetstreamManager(nc)).streams.add({ name: 'DD', subjects: ['dd.>'] });
        let js = jetstream(nc);
        const id = (v: string) => {
          const h = headers();
          h.set('Nats-Msg-Id', v);
          return h;
        };
        assert.equal((await js.publish('dd.a', 'one', { headers: id('m1') })).seq, 1);
        for (let i = 0; i < 50; i++) await js.publish('dd.b', `x${i}`);
        assert.equal((await js.publish('dd.a', 'two', { headers: id('m2') })).seq, 52);
        await nc.close();
        await s.close();

        s = await startJs(kind, { dir });
        nc = await conn(s.url);
        js = jetstream(nc);
        // A publish without an id first: the map must still hold m1 and m2 afterwards.
        assert.equal((await js.publish('dd.b', 'y')).seq, 53);
        const dup = await js.publish('dd.a', 'again', { headers: id('m1') });
        assert.equal(dup.duplicate, true);
        assert.equal(dup.seq, 1);
        const dup2 = await js.publish('dd.a', 'again', { headers: id('m2') });
        assert.equal(dup2.duplicate, true);
        assert.equal(dup2.seq, 52);
        const fresh = await js.publish('dd.a', 'three', { headers: id('m3') });
        assert.equal(fresh.duplicate, false);
        assert.equal(fresh.seq, 54);
        assert.equal((await js.publish('dd.a', 'three', { headers: id('m3') })).duplicate, true);
        await nc.close();
        await s.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
