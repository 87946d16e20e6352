// Preloaded (`node --expose-gc --import`) into a tsnats child process: counts the process's live
// async resources by type (timers, TCP and TLS handles, ...) with async_hooks, and answers
// requests from the test through two files, so leak checks can look inside the server process:
//
//   <TSNATS_PROBE_FILE>.req   the test writes a sequence number
//   <TSNATS_PROBE_FILE>.out   the preload answers (after three full GCs) with
//                             { seq, live: { Timeout, TCPWRAP, TLSWRAP, ... }, active: {...},
//                               heapUsed, rss, external, arrayBuffers }
//
// `live` counts resources between their init and destroy hooks (so an unref'ed timer that is never
// cleared still counts); `active` is process.getActiveResourcesInfo() (what keeps the loop alive).

import { createHook } from 'node:async_hooks';
import { readFileSync, writeFileSync } from 'node:fs';

const base = process.env.TSNATS_PROBE_FILE;
if (base) {
  const TRACKED = new Set(['Timeout', 'Immediate', 'TCPWRAP', 'TLSWRAP', 'TCPSERVERWRAP', 'PIPEWRAP', 'FSREQCALLBACK', 'FILEHANDLE', 'HTTPINCOMINGMESSAGE', 'HTTPCLIENTREQUEST', 'GETADDRINFOREQWRAP', 'TCPCONNECTWRAP', 'SHUTDOWNWRAP', 'WRITEWRAP']);
  const live = new Map<number, string>();
  createHook({
    init(id, type) {
      if (TRACKED.has(type)) live.set(id, type);
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();

  let lastSeq = '';
  const gc = (globalThis as { gc?: () => void }).gc;
  const answer = async (seq: string): Promise<void> => {
    for (let i = 0; i < 3; i++) {
      gc?.();
      await new Promise((r) => setImmediate(r));
    }
    const counts: Record<string, number> = {};
    for (const t of live.values()) counts[t] = (counts[t] ?? 0) + 1;
    const active: Record<string, number> = {};
    for (const t of process.getActiveResourcesInfo()) active[t] = (active[t] ?? 0) + 1;
    const m = process.memoryUsage();
    writeFileSync(`${base}.out`, JSON.stringify({ seq, live: counts, active, heapUsed: m.heapUsed, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers }));
  };
  setInterval(() => {
    let seq = '';
    try {
      seq = readFileSync(`${base}.req`, 'utf8').trim();
    } catch {
      return;
    }
    if (seq === '' || seq === lastSeq) return;
    lastSeq = seq;
    void answer(seq);
  }, 50).unref();
}
