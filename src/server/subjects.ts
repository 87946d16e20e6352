// The subscription index (a token trie with a cache). Subject validation and matching are in
// src/protocol/subjects.ts (re-exported here).

import { isLiteral, isValidSubject, matchLiteral } from '../protocol/subjects.js';

export { isLiteral, isValidLiteralSubject, isValidQueueName, isValidSubject, matchLiteral, subjectIsSubsetOf, subjectsIntersect } from '../protocol/subjects.js';

const DOT = 46;
const STAR = 42;
const GT = 62;

// ---------------------------------------------------------------------------------------------
// SubjectIndex

/** What the index stores: anything with a subject (filter) and an optional queue group name. */
export interface Subscribable {
  readonly subject: string;
  readonly queue?: string | undefined;
}

/**
 * The subscriptions matching a subject: every plain one, and one array per queue group name (deliver
 * to one member of each). Immutable snapshots: see SubjectIndex.match.
 */
export interface MatchResult<S> {
  readonly plain: readonly S[];
  readonly queues: readonly (readonly S[])[];
}

/** Monitoring counters, named as nats-server's /subsz reports them. */
export interface SubjectIndexStats {
  num_subscriptions: number;
  num_cache: number;
  num_inserts: number;
  num_removes: number;
  num_matches: number;
  cache_hit_rate: number;
  max_fanout: number;
  avg_fanout: number;
}

interface TrieNode<S> {
  /** Literal next tokens. */
  next: Map<string, TrieNode<S>> | null;
  /** `*` next token. */
  pwc: TrieNode<S> | null;
  /** `>` next token. */
  fwc: TrieNode<S> | null;
  /** Plain subscriptions whose filter ends at this node. */
  psubs: Set<S> | null;
  /** Queue subscriptions whose filter ends at this node, by queue name. */
  qsubs: Map<string, Set<S>> | null;
}

function newNode<S>(): TrieNode<S> {
  return { next: null, pwc: null, fwc: null, psubs: null, qsubs: null };
}

function isEmptyNode<S>(n: TrieNode<S>): boolean {
  return (
    n.pwc === null &&
    n.fwc === null &&
    (n.next === null || n.next.size === 0) &&
    (n.psubs === null || n.psubs.size === 0) &&
    (n.qsubs === null || n.qsubs.size === 0)
  );
}

const EMPTY_RESULT: MatchResult<never> = Object.freeze({
  plain: Object.freeze([]) as readonly never[],
  queues: Object.freeze([]) as readonly (readonly never[])[],
});

export const DEFAULT_CACHE_MAX = 1024;
const CACHE_SWEEP = 256;

/** A subject with an empty token (or empty) can match nothing. */
function hasEmptyToken(s: string): boolean {
  const n = s.length;
  return n === 0 || s.charCodeAt(0) === DOT || s.charCodeAt(n - 1) === DOT || s.includes('..');
}

/** Match accumulator (reused; results are copied out of it). */
class Collector<S> {
  plain: S[] = [];
  groups: Map<string, S[]> | null = null;

  add(node: TrieNode<S>): void {
    if (node.psubs !== null) for (const s of node.psubs) this.plain.push(s);
    if (node.qsubs !== null) {
      for (const [name, set] of node.qsubs) {
        if (this.groups === null) this.groups = new Map();
        let g = this.groups.get(name);
        if (g === undefined) this.groups.set(name, (g = []));
        for (const s of set) g.push(s);
      }
    }
  }
}

/**
 * The subscription index: a token trie (`*`/`>` children per level) with a bounded result cache.
 *
 * Cache: up to `cacheMax` subjects (FIFO sweep of 256 when over). Invalidation is precise and keeps
 * the cache warm: an insert/remove of a literal filter touches only the cache entry for that very
 * subject (one Map lookup); a wildcard filter updates every cached subject it matches. Cached
 * entries are replaced copy-on-write, never mutated.
 */
export class SubjectIndex<S extends Subscribable> {
  private readonly root: TrieNode<S> = newNode();
  private readonly cache = new Map<string, MatchResult<S>>();
  private readonly cacheMax: number;
  private _count = 0;
  private _generation = 0;
  /** Told about every successful insert and remove (the cluster's interest tracking); null when unused. */
  observer: ((sub: S, added: boolean) => void) | null = null;
  private inserts = 0;
  private removes = 0;
  private matches = 0;
  private hits = 0;

  constructor(options: { cacheMax?: number } = {}) {
    this.cacheMax = options.cacheMax ?? DEFAULT_CACHE_MAX;
  }

  /** Number of subscriptions in the index. */
  get count(): number {
    return this._count;
  }

  /**
   * Changes on every successful insert/remove: a per-connection L1 cache of match results may be
   * kept valid by comparing it (as nats-server's per-client cache does with the sublist genid).
   */
  get generation(): number {
    return this._generation;
  }

  /**
   * Adds a subscription under `sub.subject` (queue group `sub.queue` if non-empty). Returns false,
   * adding nothing, if the subject is not a valid subject (see isValidSubject) or `sub` is already
   * in the index.
   */
  insert(sub: S): boolean {
    const subject = sub.subject;
    if (!isValidSubject(subject)) return false;
    let node = this.root;
    let start = 0;
    const n = subject.length;
    for (;;) {
      let end = subject.indexOf('.', start);
      if (end < 0) end = n;
      let child: TrieNode<S> | null;
      if (end - start === 1 && subject.charCodeAt(start) === STAR) {
        child = node.pwc ?? (node.pwc = newNode());
      } else if (end - start === 1 && subject.charCodeAt(start) === GT) {
        child = node.fwc ?? (node.fwc = newNode());
      } else {
        const tok = subject.slice(start, end);
        if (node.next === null) node.next = new Map();
        child = node.next.get(tok) ?? null;
        if (child === null) node.next.set(tok, (child = newNode()));
      }
      node = child;
      if (end === n) break;
      start = end + 1;
    }
    const queue = sub.queue;
    if (queue === undefined || queue === '') {
      if (node.psubs === null) node.psubs = new Set();
      if (node.psubs.has(sub)) return false;
      node.psubs.add(sub);
    } else {
      if (node.qsubs === null) node.qsubs = new Map();
      let set = node.qsubs.get(queue);
      if (set === undefined) node.qsubs.set(queue, (set = new Set()));
      if (set.has(sub)) return false;
      set.add(sub);
    }
    this._count++;
    this.inserts++;
    this._generation++;
    this.updateCache(sub, true);
    if (this.observer !== null) this.observer(sub, true);
    return true;
  }

  /** Every subscription in the index (walks the trie). */
  all(): S[] {
    const out: S[] = [];
    const walk = (n: TrieNode<S>): void => {
      if (n.psubs !== null) for (const s of n.psubs) out.push(s);
      if (n.qsubs !== null) for (const set of n.qsubs.values()) for (const s of set) out.push(s);
      if (n.next !== null) for (const c of n.next.values()) walk(c);
      if (n.pwc !== null) walk(n.pwc);
      if (n.fwc !== null) walk(n.fwc);
    };
    walk(this.root);
    return out;
  }

  /** Removes a subscription (the same object that was inserted). Returns false if it was not there. */
  remove(sub: S): boolean {
    if (!isValidSubject(sub.subject)) return false;
    if (!this.removeFrom(this.root, sub, 0)) return false;
    this._count--;
    this.removes++;
    this._generation++;
    this.updateCache(sub, false);
    if (this.observer !== null) this.observer(sub, false);
    return true;
  }

  /** Removes `sub` below `node`, whose children stand for the token at `start`; prunes empty nodes. */
  private removeFrom(node: TrieNode<S>, sub: S, start: number): boolean {
    const subject = sub.subject;
    let end = subject.indexOf('.', start);
    const last = end < 0;
    if (last) end = subject.length;
    const one = end - start === 1 ? subject.charCodeAt(start) : 0;
    const key = one === STAR || one === GT ? '' : subject.slice(start, end);
    const child = one === STAR ? node.pwc : one === GT ? node.fwc : (node.next?.get(key) ?? null);
    if (child === null) return false;
    if (last) {
      const queue = sub.queue;
      if (queue === undefined || queue === '') {
        if (child.psubs === null || !child.psubs.delete(sub)) return false;
      } else {
        const set = child.qsubs === null ? undefined : child.qsubs.get(queue);
        if (set === undefined || !set.delete(sub)) return false;
        if (set.size === 0) child.qsubs!.delete(queue);
      }
    } else if (!this.removeFrom(child, sub, end + 1)) {
      return false;
    }
    if (isEmptyNode(child)) {
      if (one === STAR) node.pwc = null;
      else if (one === GT) node.fwc = null;
      else node.next!.delete(key);
    }
    return true;
  }

  /**
   * The subscriptions matching a literal subject (wildcard characters in it are matched as ordinary
   * tokens, so only wildcard filters can match them; a subject with an empty token matches nothing).
   *
   * The result and its arrays are immutable snapshots shared through the cache: never mutate them.
   * Inserts and removes never modify an array that was returned (the cache is updated
   * copy-on-write), so a caller can iterate a result while subscriptions are added or removed during
   * delivery; a subscription removed meanwhile is still in that snapshot, so check its own
   * closed/unsubscribed flag before delivering if that matters.
   */
  match(subject: string): MatchResult<S> {
    this.matches++;
    const cached = this.cache.get(subject);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    const r = this.matchUncached(subject);
    this.cache.set(subject, r);
    if (this.cache.size > this.cacheMax) this.sweep();
    return r;
  }

  /** Monitoring counters (nats-server /subsz names). Fanout is over the cached results. */
  stats(): SubjectIndexStats {
    let max = 0;
    let total = 0;
    for (const r of this.cache.values()) {
      const f = r.plain.length + r.queues.length;
      total += f;
      if (f > max) max = f;
    }
    const numCache = this.cache.size;
    return {
      num_subscriptions: this._count,
      num_cache: numCache,
      num_inserts: this.inserts,
      num_removes: this.removes,
      num_matches: this.matches,
      cache_hit_rate: this.matches === 0 ? 0 : this.hits / this.matches,
      max_fanout: max,
      avg_fanout: numCache === 0 ? 0 : total / numCache,
    };
  }

  private matchUncached(subject: string): MatchResult<S> {
    if (hasEmptyToken(subject)) return EMPTY_RESULT;
    const acc = new Collector<S>();
    this.collect(this.root, subject, 0, acc);
    if (acc.plain.length === 0 && acc.groups === null) return EMPTY_RESULT;
    return {
      plain: acc.plain,
      queues: acc.groups === null ? (EMPTY_RESULT.queues as readonly (readonly S[])[]) : [...acc.groups.values()],
    };
  }

  /** Adds the subscriptions reached from `level` by the tokens of `subject` starting at `pos`. */
  private collect(level: TrieNode<S>, subject: string, pos: number, acc: Collector<S>): void {
    const dot = subject.indexOf('.', pos);
    const last = dot < 0;
    const end = last ? subject.length : dot;
    if (level.fwc !== null) acc.add(level.fwc);
    if (level.pwc !== null) {
      if (last) acc.add(level.pwc);
      else this.collect(level.pwc, subject, end + 1, acc);
    }
    if (level.next !== null) {
      const child = level.next.get(pos === 0 && last ? subject : subject.slice(pos, end));
      if (child !== undefined) {
        if (last) acc.add(child);
        else this.collect(child, subject, end + 1, acc);
      }
    }
  }

  private sweep(): void {
    let drop = this.cache.size - this.cacheMax + CACHE_SWEEP;
    for (const key of this.cache.keys()) {
      if (drop-- <= 0) break;
      this.cache.delete(key);
    }
  }

  private updateCache(sub: S, added: boolean): void {
    if (this.cache.size === 0) return;
    const filter = sub.subject;
    if (isLiteral(filter)) {
      const r = this.cache.get(filter);
      if (r !== undefined) this.cache.set(filter, added ? withSub(r, sub) : withoutSub(r, sub));
      return;
    }
    for (const [subject, r] of this.cache) {
      if (matchLiteral(subject, filter)) this.cache.set(subject, added ? withSub(r, sub) : withoutSub(r, sub));
    }
  }
}

function withSub<S extends Subscribable>(r: MatchResult<S>, sub: S): MatchResult<S> {
  const q = sub.queue;
  if (q === undefined || q === '') return { plain: [...r.plain, sub], queues: r.queues };
  const queues = r.queues.slice();
  const k = queues.findIndex((g) => g[0]!.queue === q);
  if (k < 0) queues.push([sub]);
  else queues[k] = [...queues[k]!, sub];
  return { plain: r.plain, queues };
}

function withoutSub<S extends Subscribable>(r: MatchResult<S>, sub: S): MatchResult<S> {
  const q = sub.queue;
  if (q === undefined || q === '') {
    const k = r.plain.indexOf(sub);
    if (k < 0) return r;
    const plain = r.plain.slice();
    plain.splice(k, 1);
    return { plain, queues: r.queues };
  }
  const gi = r.queues.findIndex((g) => g[0]!.queue === q);
  if (gi < 0) return r;
  const g = r.queues[gi]!;
  const k = g.indexOf(sub);
  if (k < 0) return r;
  const queues = r.queues.slice();
  if (g.length === 1) queues.splice(gi, 1);
  else {
    const ng = g.slice();
    ng.splice(k, 1);
    queues[gi] = ng;
  }
  return { plain: r.plain, queues };
}
