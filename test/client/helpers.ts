// Helpers for the official-client tests: a tsnats server from config text, and a throwaway PKI.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/index.js';
import { createTestPki, type TestPki } from '../../src/testkit/index.js';

export interface TestServer extends RunningServer {
  dir: string;
  confFile: string;
  logs: string[];
  stop(): Promise<void>;
}

/** Starts tsnats from config text (host 127.0.0.1, random port unless the text sets one). */
export async function tsnats(conf = '', opts: { port?: number; dir?: string } = {}): Promise<TestServer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tsnats-client-'));
  const confFile = join(dir, `server-${Date.now()}-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(confFile, `host: 127.0.0.1\nport: ${opts.port ?? -1}\n${conf}\n`);
  const logs: string[] = [];
  const r = await startServer({ configFile: confFile, log: { write: (l) => void logs.push(l), colors: false, debug: true } });
  return {
    ...r,
    dir,
    confFile,
    logs,
    stop: async () => {
      await r.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

let pkiPromise: Promise<TestPki> | undefined;

/** One PKI per test process (generated in pure JS). */
export function pki(): Promise<TestPki> {
  pkiPromise ??= createTestPki({ ocspUrl: 'http://127.0.0.1:9/ocsp' });
  return pkiPromise;
}
