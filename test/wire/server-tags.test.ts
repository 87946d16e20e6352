// `server_tags` (informational in nats-server 2.9.10): a string or a list of strings, lower-cased,
// trimmed, without duplicates, shown in /varz `tags`; same scenario against nats-server.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfigFile } from '../../src/config/index.js';
import { SKIP_NATS_SERVER, startTarget, type TargetName } from './harness.js';

function parse(text: string): ReturnType<typeof loadConfigFile> {
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-tags-'));
  try {
    const f = join(dir, 'a.conf');
    writeFileSync(f, text);
    return loadConfigFile(f);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('server_tags', () => {
  it('a string, a list; lower-cased, trimmed, deduplicated; other types refused', () => {
    assert.deepEqual(parse('server_tags: "Region:EU"\n').options.serverTags, ['region:eu']);
    assert.deepEqual(parse('server_tags: [" A ", "b", "a", ""]\n').options.serverTags, ['a', 'b']);
    assert.throws(() => parse('server_tags: 1\n'), /error parsing tags: unsupported type int64/);
    assert.throws(() => parse('server_tags: { a: 1 }\n'), /error parsing tags: unsupported type/);
  });

  for (const name of ['tsnats', 'nats-server'] as TargetName[]) {
    it(`/varz tags [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 10000 }, async () => {
      const srv = await startTarget(name, 'http_port: -1\nserver_tags: ["Region:EU ", "az:1", "az:1"]');
      try {
        const v = (await (await fetch(`${srv.monitor}/varz`)).json()) as Record<string, unknown>;
        assert.deepEqual(v.tags, ['region:eu', 'az:1']);
        const keys = Object.keys(v);
        assert.equal(keys.indexOf('tags'), keys.indexOf('config_load_time') + 1);
      } finally {
        await srv.stop();
      }
    });
  }
});
