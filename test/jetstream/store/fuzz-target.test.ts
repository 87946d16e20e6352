// Runs the store fuzz target (fuzz-target.ts) for a bounded number of inputs with a seeded source.
import { describe, it } from 'node:test';
import { RngSource } from '../../fuzz/rng.js';
import { create } from './fuzz-target.js';

describe('store fuzz target', () => {
  it('damaged store files: no crash, no damaged message returned', () => {
    const seed = Number(process.env.STORE_FUZZ_SEED ?? (Math.random() * 2 ** 32) >>> 0) >>> 0;
    const t = create({ seed, budgetMs: 10_000 });
    const src = new RngSource(seed);
    const n = Number(process.env.STORE_FUZZ_INPUTS ?? 150);
    let last: Uint8Array | string = '';
    let note = '';
    const cur = { set: (i: Uint8Array | string, nt?: string) => ((last = i), (note = nt ?? '')) };
    for (let i = 0; i < n; i++) {
      const k = t.kinds[src.int(10) < 9 ? 0 : 1];
      try {
        k.run(src, cur);
      } catch (e) {
        throw new Error(`seed ${seed} input ${i} (${k.name}: ${note}, ${last.length} bytes): ${(e as Error).message}`);
      }
    }
  });
});
