// Sources of choices for the fuzz generators.
//
// Every generator in test/fuzz/targets draws its decisions from a `Src`, never from Math.random, so
// that one generator serves both halves of a run:
// - `RngSource`: a fast seeded PRNG (sfc32). The plain loop gives input #i the source
//   `new RngSource(seed, i)`, so any input is regenerated from (seed, i) alone (`--replay i`).
// - `ChoiceSource`: replays a list of numbers that fast-check generates. fast-check shrinks that
//   list towards fewer and smaller numbers, so a failure found by `fc.check` shrinks to a
//   generator output made of "first options" (the Hypothesis "choice sequence" idea).

export interface Src {
  /** Uniform integer in [0, n), n >= 1. */
  int(n: number): number;
  /** True with probability about 1/n. */
  oneIn(n: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** n random bytes (a fresh Buffer). */
  bytes(n: number): Buffer;
  /** A length in [0, max], biased to small values (mostly < 16, often < 256). */
  len(max: number): number;
}

/** murmur3's 32-bit finaliser: a good avalanche for seed mixing. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Mixes any number of 32-bit values into one seed. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) h = fmix32((h ^ (p >>> 0)) + 0x7f4a7c15);
  return h >>> 0;
}

/** A 32-bit hash of a string (for per-target seeds). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

abstract class BaseSource implements Src {
  abstract int(n: number): number;
  oneIn(n: number): boolean {
    return this.int(n) === 0;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  len(max: number): number {
    const r = this.int(8);
    const cap = r < 5 ? 16 : r < 7 ? 256 : max;
    return this.int(Math.min(cap, max) + 1);
  }
}

/** sfc32 (PractRand-tested, 128-bit state), seeded by splitmix-style mixing of (seed, stream). */
export class RngSource extends BaseSource {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    super();
    this.a = mixSeed(seed, stream, 1);
    this.b = mixSeed(seed, stream, 2);
    this.c = mixSeed(seed, stream, 3);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Next uint32. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.next() / 4294967296) * n);
  }

  override bytes(n: number): Buffer {
    const words = new Uint32Array((n + 3) >>> 2);
    for (let i = 0; i < words.length; i++) words[i] = this.next();
    return Buffer.from(words.buffer, 0, n);
  }
}

/** Replays fast-check-generated numbers; 0 once they run out (the "first option" everywhere). */
export class ChoiceSource extends BaseSource {
  private k = 0;
  constructor(private readonly choices: readonly number[]) {
    super();
  }
  int(n: number): number {
    if (n <= 1) return 0;
    const c = this.choices[this.k++];
    return c === undefined ? 0 : c % n;
  }
}

// ---- byte mutations shared by the targets -------------------------------------------------------

export interface ByteMutation {
  /** Lowest offset of the input that the mutations touched (input.length if none did). */
  first: number;
  /** Short human-readable recipe, for failure reports. */
  recipe: string[];
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0d, 0x0a, 0x20, 0x09, 0x30, 0x39, 0x2d, 0x2b];

/**
 * Applies `count` random byte-level mutations to `input` (bit flip, interesting byte, random insert,
 * dictionary insert, delete, duplicate, swap, truncate, append); returns the new buffer.
 */
export function mutateBytes(src: Src, input: Buffer, dict: readonly Buffer[], count: number, out: ByteMutation): Buffer {
  let b = input;
  for (let m = 0; m < count; m++) {
    const n = b.length;
    const at = src.int(n + 1);
    let touched = at;
    switch (src.int(10)) {
      case 0: {
        if (n === 0) break;
        const i = Math.min(at, n - 1);
        b = Buffer.from(b);
        b[i] = b[i]! ^ (1 << src.int(8));
        touched = i;
        out.recipe.push(`flip@${i}`);
        break;
      }
      case 1: {
        if (n === 0) break;
        const i = Math.min(at, n - 1);
        b = Buffer.from(b);
        b[i] = src.pick(INTERESTING);
        touched = i;
        out.recipe.push(`set@${i}=${b[i]}`);
        break;
      }
      case 2: {
        const ins = src.bytes(1 + src.int(8));
        b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        out.recipe.push(`insert@${at}+${ins.length}`);
        break;
      }
      case 3:
      case 4: {
        const tok = src.pick(dict);
        b = Buffer.concat([b.subarray(0, at), tok, b.subarray(at)]);
        out.recipe.push(`token@${at}:${JSON.stringify(tok.toString('latin1'))}`);
        break;
      }
      case 5: {
        const len = 1 + src.int(16);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
        out.recipe.push(`delete@${at}+${len}`);
        break;
      }
      case 6: {
        const len = 1 + src.int(32);
        const piece = b.subarray(at, at + len);
        b = Buffer.concat([b.subarray(0, at), piece, piece, b.subarray(at + len)]);
        out.recipe.push(`dup@${at}+${piece.length}`);
        break;
      }
      case 7: {
        const j = src.int(n + 1);
        const [lo, hi] = at < j ? [at, j] : [j, at];
        const len = Math.min(1 + src.int(16), hi - lo);
        if (len === 0 || lo + len > hi - len) break;
        b = Buffer.concat([b.subarray(0, lo), b.subarray(hi - len, hi), b.subarray(lo + len, hi - len), b.subarray(lo, lo + len), b.subarray(hi)]);
        touched = lo;
        out.recipe.push(`swap@${lo},${hi - len}+${len}`);
        break;
      }
      case 8:
        b = b.subarray(0, at);
        out.recipe.push(`truncate@${at}`);
        break;
      default: {
        const extra = src.oneIn(2) ? src.pick(dict) : src.bytes(1 + src.int(8));
        touched = n;
        b = Buffer.concat([b, extra]);
        out.recipe.push(`append+${extra.length}`);
      }
    }
    if (touched < out.first) out.first = touched;
  }
  return b;
}

/** Printable preview of bytes: JSON-escaped latin1, cut at `max` characters. */
export function preview(b: Uint8Array | string, max = 400): string {
  const s = typeof b === 'string' ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  const cut = s.length > max ? s.slice(0, max) : s;
  return JSON.stringify(cut) + (s.length > max ? ` ... (${s.length} chars)` : '');
}
