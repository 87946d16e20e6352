// Clients connecting while the leaf listener (or any later listener) is still starting get the
// client INFO: the server must not crash on an INFO template that is not built yet.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../src/index.js';
import { freePort } from './harness.js';

describe('leaf: start-up', () => {
  it('clients connecting during start-up get an INFO (no crash)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnats-leaf-start-'));
    const port = await freePort();
    const conf = join(dir, 's.conf');
    writeFileSync(conf, `port: ${port}\nhost: 127.0.0.1\nleafnodes { listen: "127.0.0.1:-1", remotes: [ { url: "nats-leaf://127.0.0.1:1" } ] }\n`);
    let stop = false;
    let infos = 0;
    const hammer = (async () => {
      for (let i = 0; i < 2000 && !stop; i++) {
        await new Promise<void>((r) => {
          const s = netConnect(port, '127.0.0.1');
          const t = setTimeout(() => (s.destroy(), r()), 20);
          s.on('error', () => (clearTimeout(t), r()));
          s.on('data', (d) => {
            if (d.toString().startsWith('INFO ')) infos++;
            clearTimeout(t);
            s.destroy();
            r();
          });
        });
      }
    })();
    const ts = await startServer({ configFile: conf, log: { write: () => undefined, colors: false } });
    stop = true;
    await hammer;
    assert.ok(ts.server.isRunning);
    await ts.close();
    rmSync(dir, { recursive: true, force: true });
    assert.ok(infos >= 0);
  });
});
