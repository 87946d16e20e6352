// Subject transforms: the `mappings {}` of an account (and the top level for `$G`), and the subject
// rewriting of wildcard stream/service imports. Behaviour and error texts follow nats-server
// 2.9.10's newTransform / transform / ValidateMappingDestination (server/accounts.go, sublist.go):
// destination tokens are literals, `$N` or `{{wildcard(N)}}` (the N-th `*` of the source),
// `{{partition(n,N...)}}`, `{{split(N,sep)}}`, `{{splitFromLeft(N,p)}}`, `{{splitFromRight(N,p)}}`,
// `{{sliceFromLeft(N,s)}}`, `{{sliceFromRight(N,s)}}`; a trailing `>` carries the rest.
// Only src/protocol/ dependencies: the configuration checker imports it too.

import { isLiteral, isValidSubject } from './subjects.js';

const INVALID_DEST = 'invalid mapping destination';
const E_SUBJECT = `${INVALID_DEST}: invalid subject`;
const E_NOT_ALL = `${INVALID_DEST}: not using all of the token wildcard(s)`;
const E_UNKNOWN_FN = `${INVALID_DEST}: unknown function`;
const E_RANGE = `${INVALID_DEST}: wildcard index out of range`;
const E_FEW = `${INVALID_DEST}: not enough arguments passed to the function`;
const E_ARG = `${INVALID_DEST}: function argument is invalid or in the wrong format`;
const E_MANY = `${INVALID_DEST}: too many arguments passed to the function`;

/** nats-server's ErrBadSubject. */
export const ERR_BAD_SUBJECT = 'invalid subject';

export class TransformError extends Error {}

function destErr(reason: string, token: string): TransformError {
  return new TransformError(`${reason} in ${token}`);
}

const enum Fn {
  None,
  Wildcard,
  Partition,
  SplitFromLeft,
  SplitFromRight,
  SliceFromLeft,
  SliceFromRight,
  Split,
}

const FN_RE: ReadonlyArray<[RegExp, Fn]> = [
  [/{{\s*[wW]ildcard\s*\((.*)\)\s*}}/, Fn.Wildcard],
  [/{{\s*[pP]artition\s*\((.*)\)\s*}}/, Fn.Partition],
  [/{{\s*[sS]plit[fF]rom[lL]eft\s*\((.*)\)\s*}}/, Fn.SplitFromLeft],
  [/{{\s*[sS]plit[fF]rom[rR]ight\s*\((.*)\)\s*}}/, Fn.SplitFromRight],
  [/{{\s*[sS]lice[fF]rom[lL]eft\s*\((.*)\)\s*}}/, Fn.SliceFromLeft],
  [/{{\s*[sS]lice[fF]rom[rR]ight\s*\((.*)\)\s*}}/, Fn.SliceFromRight],
  [/{{\s*[sS]plit\s*\((.*)\)\s*}}/, Fn.Split],
];

const WS = /[\t\n\f\r ]/;

function isMustache(t: string): boolean {
  const n = t.length;
  return n > 4 && t[0] === '{' && t[1] === '{' && t[n - 2] === '}' && t[n - 1] === '}';
}

/** Go's strconv.Atoi on a trimmed argument (optional sign, decimal digits). */
function atoi(s: string): number | undefined {
  const t = s.trim();
  return /^[+-]?\d+$/.test(t) ? parseInt(t, 10) : undefined;
}

interface Placeholder {
  fn: Fn;
  /** 1-based wildcard indexes as written. */
  idx: number[];
  int: number;
  str: string;
}

function placeholder(token: string): Placeholder {
  const none: Placeholder = { fn: Fn.None, idx: [-1], int: -1, str: '' };
  if (token.length <= 1) return none;
  if (token[0] === '$') {
    const n = atoi(token.slice(1));
    // Other things rely on tokens starting with `$`: not a placeholder then, no error.
    if (n === undefined || token.slice(1).trim() !== token.slice(1)) return none;
    return { fn: Fn.Wildcard, idx: [n], int: -1, str: '' };
  }
  if (!isMustache(token)) return none;
  for (const [re, fn] of FN_RE) {
    const m = re.exec(token);
    if (!m) continue;
    const args = m[1]!.split(/,\s*/);
    switch (fn) {
      case Fn.Wildcard: {
        if (args.length === 1 && args[0] === '') throw destErr(E_FEW, token);
        if (args.length > 1) throw destErr(E_MANY, token);
        const i = atoi(args[0]!);
        if (i === undefined) throw destErr(E_ARG, token);
        return { fn, idx: [i], int: -1, str: '' };
      }
      case Fn.Partition: {
        if (args.length < 2) throw destErr(E_FEW, token);
        const n = atoi(args[0]!);
        if (n === undefined) throw destErr(E_ARG, token);
        const idx: number[] = [];
        for (const a of args.slice(1)) {
          const i = atoi(a);
          if (i === undefined) throw destErr(E_ARG, token);
          idx.push(i);
        }
        return { fn, idx, int: n, str: '' };
      }
      case Fn.Split: {
        if (args.length < 2) throw destErr(E_FEW, token);
        if (args.length > 2) throw destErr(E_MANY, token);
        const i = atoi(args[0]!);
        if (i === undefined) throw destErr(E_ARG, token);
        if (args[1]!.includes(' ') || args[1]!.includes('.')) throw destErr(E_ARG, token);
        return { fn, idx: [i], int: -1, str: args[1]! };
      }
      default: {
        if (args.length < 2) throw destErr(E_FEW, token);
        if (args.length > 2) throw destErr(E_MANY, token);
        const i = atoi(args[0]!);
        const n = atoi(args[1]!);
        if (i === undefined || n === undefined) throw destErr(E_ARG, token);
        return { fn, idx: [i], int: n, str: '' };
      }
    }
  }
  throw destErr(E_UNKNOWN_FN, token);
}

/** nats-server's ValidateMappingDestination. */
export function validateMappingDestination(subject: string): void {
  let fwc = false;
  for (const t of subject.split('.')) {
    if (t.length === 0 || fwc) throw destErr(E_SUBJECT, t);
    if (isMustache(t)) {
      if (!FN_RE.some(([re]) => re.test(t))) throw destErr(E_UNKNOWN_FN, t);
      continue;
    }
    if (t === '>') fwc = true;
    else if (WS.test(t)) throw new TransformError(E_SUBJECT);
  }
}

/** `foo.*.*` → `foo.$1.$2` (nats-server's transformTokenize). */
export function tokenizeWildcards(subject: string): string {
  let i = 1;
  return subject
    .split('.')
    .map((t) => (t === '*' ? `$${i++}` : t))
    .join('.');
}

/** 32-bit FNV-1a (the partition function's hash). */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  const b = Buffer.from(s, 'latin1');
  for (let i = 0; i < b.length; i++) {
    h ^= b[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class SubjectTransform {
  readonly src: string;
  readonly dest: string;
  private readonly stoks: string[];
  private readonly dtoks: string[];
  /** Per destination token: the function, the 0-based source token indexes and its arguments. */
  private readonly fns: { fn: Fn; src: number[]; int: number; str: string }[];
  /** True when the destination is a constant subject. */
  readonly literal: boolean;
  private readonly srcLiteral: boolean;

  /** nats-server's newTransform: throws TransformError with its message. */
  constructor(src: string, dest: string) {
    const sv = isValidSubject(src);
    const dv = isValidSubject(dest);
    const stoks = src.split('.');
    const dtoks = dest.split('.');
    const npwcs = stoks.filter((t) => t === '*').length;
    const hasFwc = stoks[stoks.length - 1] === '>';
    const dnpwcs = dtoks.filter((t) => t === '*').length;
    const dHasFwc = dtoks[dtoks.length - 1] === '>';
    if (!sv || !dv || dnpwcs > 0 || hasFwc !== dHasFwc) throw new TransformError(ERR_BAD_SUBJECT);
    this.src = src;
    this.dest = dest;
    this.stoks = stoks;
    this.dtoks = dtoks;
    this.fns = [];
    this.srcLiteral = npwcs === 0 && !hasFwc;
    if (npwcs > 0 || hasFwc) {
      const sti: number[] = [];
      stoks.forEach((t, i) => {
        if (t === '*') sti.push(i);
      });
      let nphs = 0;
      for (const token of dtoks) {
        const p = placeholder(token);
        if (p.fn === Fn.None) {
          this.fns.push({ fn: Fn.None, src: [-1], int: -1, str: '' });
          continue;
        }
        nphs++;
        const src: number[] = [];
        for (const wi of p.idx) {
          if (wi > npwcs) throw destErr(E_RANGE, `${token}: [${wi}]`);
          src.push(wi >= 1 ? sti[wi - 1]! : -1);
        }
        this.fns.push({ fn: p.fn, src, int: p.int, str: p.str });
      }
      if (nphs < npwcs) throw destErr(E_NOT_ALL, dest);
    }
    this.literal = this.fns.length === 0;
  }

  /** Does the literal `subject` match the source? */
  matches(subject: string): boolean {
    if (this.srcLiteral) return subject === this.src;
    const toks = subject.split('.');
    const s = this.stoks;
    for (let i = 0; i < s.length; i++) {
      const f = s[i]!;
      if (f === '>') return toks.length > i;
      if (i >= toks.length) return false;
      if (f !== '*' && f !== toks[i]) return false;
    }
    return toks.length === s.length;
  }

  /** The destination for a literal subject that matches the source. */
  apply(subject: string): string {
    if (this.fns.length === 0) return this.dest;
    const tokens = subject.split('.');
    const out: string[] = [];
    const fns = this.fns;
    for (let i = 0; i < fns.length; i++) {
      const f = fns[i]!;
      const dt = this.dtoks[i]!;
      if (f.fn === Fn.None) {
        if (dt === '>') break;
        out.push(dt);
        continue;
      }
      const tok = tokens[f.src[0]!] ?? '';
      switch (f.fn) {
        case Fn.Wildcard:
          out.push(tok);
          break;
        case Fn.Partition: {
          let key = '';
          for (const si of f.src) key += tokens[si] ?? '';
          out.push(String(fnv1a(key) % f.int));
          break;
        }
        case Fn.SplitFromLeft: {
          const p = f.int;
          out.push(p > 0 && p < tok.length ? `${tok.slice(0, p)}.${tok.slice(p)}` : tok);
          break;
        }
        case Fn.SplitFromRight: {
          const p = f.int;
          const n = tok.length;
          out.push(p > 0 && p < n ? `${tok.slice(0, n - p)}.${tok.slice(n - p)}` : tok);
          break;
        }
        case Fn.SliceFromLeft: {
          const s = f.int;
          const n = tok.length;
          if (s > 0 && s < n) {
            const parts: string[] = [];
            for (let k = 0; k < n; k += s) parts.push(tok.slice(k, k + s));
            out.push(parts.join('.'));
          } else out.push(tok);
          break;
        }
        case Fn.SliceFromRight: {
          const s = f.int;
          const n = tok.length;
          if (s > 0 && s < n) {
            const parts: string[] = [];
            const rem = n % s;
            if (rem > 0) parts.push(tok.slice(0, rem));
            for (let k = rem; k + s <= n; k += s) parts.push(tok.slice(k, k + s));
            out.push(parts.join('.'));
          } else out.push(tok);
          break;
        }
        case Fn.Split: {
          // nats-server drops empty pieces (separator at either end or repeated).
          out.push(
            tok
              .split(f.str)
              .filter((x) => x !== '')
              .join('.'),
          );
          break;
        }
      }
    }
    let s = out.join('.');
    if (this.dtoks[this.dtoks.length - 1] === '>') {
      const rest = tokens.slice(this.stoks.length - 1).join('.');
      s = s === '' ? rest : `${s}.${rest}`;
    }
    return s;
  }
}

/**
 * nats-server's AddMapping checks: the source a valid subject, the destination valid, the transform
 * buildable. Returns the transform or throws TransformError (message as nats-server's).
 */
export function newMapping(src: string, dest: string): SubjectTransform {
  if (!isValidSubject(src)) throw new TransformError(ERR_BAD_SUBJECT);
  validateMappingDestination(dest);
  return new SubjectTransform(src, dest);
}

/** One destination of a mapping as configured (see MappingEntry in src/config/types.ts). */
export interface MappingSpec {
  source: string;
  destination: string;
  weight?: number;
  cluster?: string;
}

interface Dest {
  tr: SubjectTransform;
  /** Cumulative weight after sorting (the pick is the first with random < weight). */
  weight: number;
}

interface Mapping {
  src: string;
  matcher: SubjectTransform;
  dests: Dest[];
  cdests: Map<string, Dest[]>;
  /** One destination at 100 % and no cluster-scoped ones: the result depends on the subject only. */
  fixed: boolean;
}

/**
 * An account's mappings, applied to inbound publishes (nats-server's selectMappedSubject): the
 * first mapping whose source matches; among weighted destinations one at random by weight (the
 * source itself takes what the weights leave below 100 % unless it is listed, in which case that
 * share is dropped); cluster-scoped destinations on servers of that cluster. An empty result means
 * the message is dropped.
 */
export class SubjectMappings {
  private readonly exact = new Map<string, Mapping>();
  private readonly list: Mapping[] = [];
  private readonly memo = new Map<string, string>();

  constructor(
    specs: MappingSpec[],
    private readonly clusterName: () => string | undefined = () => undefined,
  ) {
    const groups = new Map<string, MappingSpec[]>();
    for (const s of specs) {
      const g = groups.get(s.source);
      if (g) g.push(s);
      else groups.set(s.source, [s]);
    }
    for (const [src, g] of groups) {
      const wc = !isLiteral(src);
      const identity = new SubjectTransform(src, wc ? tokenizeWildcards(src) : src);
      const haveSrc = g.some((s) => s.destination === src);
      const main: Dest[] = [];
      const cdests = new Map<string, Dest[]>();
      for (const s of g) {
        const d: Dest = { tr: newMapping(src, s.destination), weight: s.weight ?? 100 };
        if (s.cluster === undefined || s.cluster === '') main.push(d);
        else cdests.set(s.cluster, [...(cdests.get(s.cluster) ?? []), d]);
      }
      const finish = (ds: Dest[]): Dest[] => {
        const total = ds.reduce((n, d) => n + d.weight, 0);
        if (total !== 100 && !haveSrc) ds.push({ tr: identity, weight: ds.length === 0 ? 100 : 100 - total });
        ds.sort((x, y) => x.weight - y.weight);
        let acc = 0;
        for (const d of ds) {
          d.weight += acc;
          acc = d.weight;
        }
        return ds;
      };
      const m: Mapping = { src, matcher: identity, dests: finish(main), cdests, fixed: false };
      for (const [c, ds] of cdests) cdests.set(c, finish(ds));
      m.fixed = cdests.size === 0 && m.dests.length === 1 && m.dests[0]!.weight === 100;
      this.list.push(m);
      if (!wc && !this.exact.has(src)) this.exact.set(src, m);
    }
  }

  /** The mapped subject, `subject` itself when no mapping applies, or '' (drop the message). */
  map(subject: string): string {
    const memo = this.memo.get(subject);
    if (memo !== undefined) return memo;
    const m = this.exact.get(subject) ?? this.list.find((x) => x.matcher.matches(subject));
    if (m === undefined) return this.remember(subject, subject);
    let dests = m.dests;
    if (m.cdests.size > 0) {
      const cn = this.clusterName();
      dests = (cn !== undefined ? m.cdests.get(cn) : undefined) ?? m.dests;
    }
    let d: Dest | undefined;
    if (dests.length === 1 && dests[0]!.weight === 100) d = dests[0];
    else {
      const w = Math.floor(Math.random() * 100);
      d = dests.find((x) => w < x.weight);
    }
    const out = d === undefined ? '' : d.tr.apply(subject);
    return m.fixed ? this.remember(subject, out) : out;
  }

  private remember(subject: string, out: string): string {
    if (this.memo.size >= 4096) this.memo.clear();
    this.memo.set(subject, out);
    return out;
  }
}
