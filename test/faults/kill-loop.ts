// SIGKILL while writing the OCSP cache, repeated: each round starts test/faults/cache-writer.js,
// waits until it is writing, kills it with SIGKILL after a random delay, and checks the cache file:
// it must always be one complete, valid response (store mode: exactly A or exactly B). Used by
// test/faults/sigkill.test.ts (CI: 50 + 5 rounds) and test/load/long.ts (hundreds).

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseCertificateChain, verifyOcspResponse } from '../../src/ocsp/index.js';

export const WRITER = resolve('dist/test/faults/cache-writer.js');

export interface KillLoopResult {
  rounds: number;
  kills: number;
  /** store mode: how often the file was A / B after a kill; stapler mode: valid after a kill. */
  outcomes: Record<string, number>;
  /** Rounds after which the file was anything else (must stay empty). */
  violations: string[];
  /** Temp files left in <store>/ocsp by the killed writers. */
  strayTempFiles: number;
  ms: number;
}

export interface KillLoopOptions {
  mode: 'store' | 'stapler';
  rounds: number;
  storeDir: string;
  /** store mode: the certificate hash (file name) and two valid responses. */
  sha256?: string;
  a?: Buffer;
  aFile?: string;
  b?: Buffer;
  bFile?: string;
  /** stapler mode: the certificate, CA bundle and responder. */
  certFile?: string;
  caFile?: string;
  url?: string;
  issuerPem?: string;
  /** Upper bound of the random delay between `ready` and SIGKILL. */
  maxDelayMs?: number;
  /** Stop early after this long. */
  budgetMs?: number;
  /** Writers killed in parallel (they share the store: concurrent writers are fine too). Default 1. */
  lanes?: number;
  random?: () => number;
}

function runRound(args: string[], delayMs: number): Promise<'killed' | string> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [WRITER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killed = false;
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
    }, 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (!killed && out.includes('ready')) {
        killed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal === 'SIGKILL' && killed) res('killed');
      else res(`writer ended without being killed (code ${code}, signal ${signal}): ${err.slice(0, 500)}`);
    });
  });
}

export async function runKillLoop(o: KillLoopOptions): Promise<KillLoopResult> {
  const t0 = Date.now();
  const random = o.random ?? Math.random;
  const maxDelay = o.maxDelayMs ?? (o.mode === 'store' ? 25 : 200);
  const outcomes: Record<string, number> = {};
  const violations: string[] = [];
  let kills = 0;
  let rounds = 0;
  const file = o.mode === 'store' ? join(o.storeDir, 'ocsp', o.sha256!) : '';
  const args =
    o.mode === 'store' ? ['store', o.storeDir, o.sha256!, o.aFile!, o.bFile!] : ['stapler', o.storeDir, o.certFile!, o.caFile!, o.url!];
  const leaf = o.mode === 'stapler' ? parseCertificateChain(readFileSync(o.certFile!, 'utf8'))[0]! : undefined;
  const issuer = o.mode === 'stapler' ? parseCertificateChain(o.issuerPem!)[0]! : undefined;
  const lane = async (): Promise<void> => {
    while (rounds < o.rounds && (o.budgetMs === undefined || Date.now() - t0 < o.budgetMs)) {
      rounds++;
      const r = await runRound(args, Math.floor(random() * maxDelay));
      if (r !== 'killed') {
        violations.push(`round ${rounds}: ${r}`);
        continue;
      }
      kills++;
      if (o.mode === 'store') {
        let got: Buffer | undefined;
        try {
          got = readFileSync(file);
        } catch (e) {
          violations.push(`round ${rounds}: cache file unreadable after SIGKILL: ${(e as Error).message}`);
          continue;
        }
        if (got.equals(o.a!)) outcomes.A = (outcomes.A ?? 0) + 1;
        else if (got.equals(o.b!)) outcomes.B = (outcomes.B ?? 0) + 1;
        else violations.push(`round ${rounds}: cache file is neither A nor B (${got.length} bytes)`);
      } else {
        const name = readdirSync(join(o.storeDir, 'ocsp')).find((n) => /^[0-9a-f]{64}$/.test(n));
        if (!name) {
          violations.push(`round ${rounds}: no cache file after SIGKILL`);
          continue;
        }
        try {
          const v = verifyOcspResponse(readFileSync(join(o.storeDir, 'ocsp', name)), { leaf: leaf!, issuer: issuer! });
          outcomes[`valid ${v.status}`] = (outcomes[`valid ${v.status}`] ?? 0) + 1;
        } catch (e) {
          violations.push(`round ${rounds}: cache file does not verify after SIGKILL: ${(e as Error).message}`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.lanes ?? 1) }, lane));
  const strayTempFiles = readdirSync(join(o.storeDir, 'ocsp')).filter((n) => !/^[0-9a-f]{64}$/.test(n)).length;
  return { rounds, kills, outcomes, violations, strayTempFiles, ms: Date.now() - t0 };
}
