// Parser for the NATS configuration format: tokens → a tree of positioned nodes.
//
// - Maps keep their entries in file order (a repeated key appears twice; the last
//   one wins when read), each with the key's position and the value's position.
// - `include <path>` splices the top-level keys of another file (path relative to
//   the including file) into the map being built, wherever the include appears.
//   Include cycles are errors.
// - `$name` is looked up in the maps being built, innermost first (only keys that
//   were already defined above the reference), then in the environment. An
//   environment value is itself parsed as a config value (`4222` is an integer), and
//   may refer to further variables; cycles among them are errors. Values starting
//   with `$2a$`/`$2b$`/`$2y$` are bcrypt hashes, not variables.
// - Map entries referred to as variables are flagged `usedAsVariable`, so option
//   processing does not report them as unknown fields.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, type Position } from './errors.js';
import { Lexer, type Token } from './lexer.js';

export type { Position } from './errors.js';

interface NodeBase {
  /** Where the value is written (for a value taken from `$var`, where `$var` is). */
  pos: Position;
  /** Set when the value came from a `$variable` reference. */
  variable?: string;
}

export interface StringNode extends NodeBase {
  kind: 'string';
  value: string;
}
export interface IntegerNode extends NodeBase {
  kind: 'integer';
  value: number;
  /** As written, e.g. `1k`, `-5`, `64MB`. */
  raw: string;
}
export interface FloatNode extends NodeBase {
  kind: 'float';
  value: number;
}
export interface BoolNode extends NodeBase {
  kind: 'bool';
  value: boolean;
}
export interface DatetimeNode extends NodeBase {
  kind: 'datetime';
  value: Date;
}
export interface ArrayNode extends NodeBase {
  kind: 'array';
  items: ConfigNode[];
}
export interface MapEntry {
  key: string;
  keyPos: Position;
  value: ConfigNode;
  /** Referred to by a `$variable` somewhere below its definition. */
  usedAsVariable: boolean;
}
export interface MapNode extends NodeBase {
  kind: 'map';
  entries: MapEntry[];
}

export type ConfigNode = StringNode | IntegerNode | FloatNode | BoolNode | DatetimeNode | ArrayNode | MapNode;

/** A plain JavaScript view of a config value. */
export type PlainValue = string | number | boolean | Date | PlainValue[] | { [key: string]: PlainValue };

export interface ParseOptions {
  /** Environment used to resolve variables (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Reads an included file (default: fs.readFileSync utf8). */
  readFile?: (path: string) => string;
}

/** Integer size suffixes (case-insensitive). */
const SUFFIX_MULTIPLIERS: Record<string, bigint> = (() => {
  const m: Record<string, bigint> = { '': 1n };
  const letters = ['k', 'm', 'g', 't', 'p', 'e'];
  letters.forEach((l, idx) => {
    const n = BigInt(idx + 1);
    m[l] = 1000n ** n;
    for (const s of ['b', 'i', 'ib']) m[l + s] = 1024n ** n;
  });
  return m;
})();

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const BCRYPT_RE = /^2[aby]\$/;

/** Parses an integer token's text (with optional size suffix) into a number. */
export function parseIntegerText(raw: string, pos: Position): number {
  const m = /^(-?\d+)([a-z]*)$/i.exec(raw);
  const mult = m ? SUFFIX_MULTIPLIERS[m[2]!.toLowerCase()] : undefined;
  if (!m || mult === undefined) throw new ConfigError(`Expected integer, but got '${raw}'.`, pos);
  const v = BigInt(m[1]!) * mult;
  if (v < INT64_MIN || v > INT64_MAX || v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new ConfigError(`integer '${raw}' is out of the range`, pos);
  }
  return Number(v);
}

function parseDatetime(raw: string, pos: Position): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(raw);
  const bad = (): never => {
    throw new ConfigError(`Expected Zulu formatted DateTime, but got '${raw}'.`, pos);
  };
  if (!m) return bad();
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (
    date.getUTCFullYear() !== y ||
    date.getUTCMonth() !== mo - 1 ||
    date.getUTCDate() !== d ||
    date.getUTCHours() !== h ||
    date.getUTCMinutes() !== mi ||
    date.getUTCSeconds() !== s
  ) {
    bad();
  }
  if (y < 100) date.setUTCFullYear(y);
  return date;
}

interface Container {
  node: MapNode | ArrayNode;
  /** For maps: the key waiting for its value. */
  pendingKey?: { key: string; pos: Position };
}

interface Source {
  lexer: Lexer;
  /** Absolute path (or the name given) of the file, for include cycles. */
  id: string;
  /** Directory includes are resolved against. */
  dir: string;
}

class Parser {
  private readonly env: Record<string, string | undefined>;
  private readonly readFile: (path: string) => string;
  /** Names of environment variables being expanded (cycle detection). */
  private readonly envChain: string[];
  private readonly sources: Source[] = [];
  private readonly containers: Container[] = [];

  constructor(opts: ParseOptions, envChain: string[] = []) {
    this.env = opts.env ?? process.env;
    this.readFile = opts.readFile ?? ((p) => readFileSync(p, 'utf8'));
    this.envChain = envChain;
  }

  parse(text: string, file: string): MapNode {
    const root: MapNode = { kind: 'map', entries: [], pos: { file, line: 1, column: 1 } };
    this.containers.push({ node: root });
    this.sources.push({ lexer: new Lexer(text, file), id: resolve(file), dir: dirname(file) });
    while (this.sources.length > 0) {
      const src = this.sources[this.sources.length - 1]!;
      const t = src.lexer.next();
      if (t.type === 'eof') {
        this.sources.pop();
        continue;
      }
      this.process(t, src);
    }
    return root;
  }

  private current(): Container {
    return this.containers[this.containers.length - 1]!;
  }

  private setValue(value: ConfigNode): void {
    const c = this.current();
    if (c.node.kind === 'array') {
      c.node.items.push(value);
      return;
    }
    const k = c.pendingKey!;
    c.pendingKey = undefined;
    c.node.entries.push({ key: k.key, keyPos: k.pos, value, usedAsVariable: false });
  }

  private process(t: Token, src: Source): void {
    switch (t.type) {
      case 'key':
        this.current().pendingKey = { key: t.value, pos: t.pos };
        return;
      case 'string':
        this.setValue({ kind: 'string', value: t.value, pos: t.pos });
        return;
      case 'bool':
        this.setValue({ kind: 'bool', value: /^(true|yes|on)$/i.test(t.value), pos: t.pos });
        return;
      case 'integer':
        this.setValue({ kind: 'integer', value: parseIntegerText(t.value, t.pos), raw: t.value, pos: t.pos });
        return;
      case 'float': {
        const v = Number(t.value);
        if (!Number.isFinite(v)) throw new ConfigError(`float '${t.value}' is out of the range`, t.pos);
        this.setValue({ kind: 'float', value: v, pos: t.pos });
        return;
      }
      case 'datetime':
        this.setValue({ kind: 'datetime', value: parseDatetime(t.value, t.pos), pos: t.pos });
        return;
      case 'arrayStart':
        this.containers.push({ node: { kind: 'array', items: [], pos: t.pos } });
        return;
      case 'mapStart':
        this.containers.push({ node: { kind: 'map', entries: [], pos: t.pos } });
        return;
      case 'arrayEnd':
      case 'mapEnd': {
        const done = this.containers.pop()!;
        this.setValue(done.node);
        return;
      }
      case 'variable':
        this.setValue(this.resolveVariable(t.value, t.pos));
        return;
      case 'include':
        this.include(t, src);
        return;
      case 'eof':
        return;
    }
  }

  private include(t: Token, src: Source): void {
    const path = resolve(src.dir, t.value);
    const chain = this.sources.map((s) => s.id);
    if (chain.includes(path)) {
      const names = [...chain.slice(chain.indexOf(path)), path].join(' -> ');
      throw new ConfigError(`error parsing include file '${t.value}', include cycle: ${names}`, t.pos);
    }
    if (this.sources.length > 64) {
      throw new ConfigError(`error parsing include file '${t.value}', includes nested too deeply`, t.pos);
    }
    let text: string;
    try {
      text = this.readFile(path);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why =
        err.code === 'ENOENT'
          ? `open ${path}: no such file or directory`
          : err.code === 'EISDIR'
            ? `read ${path}: is a directory`
            : `open ${path}: ${err.message}`;
      throw new ConfigError(`error parsing include file '${t.value}', ${why}`, t.pos);
    }
    // The included file's keys land in the map currently being built.
    this.sources.push({ lexer: new Lexer(text, path), id: path, dir: dirname(path) });
  }

  private resolveVariable(name: string, pos: Position): ConfigNode {
    if (BCRYPT_RE.test(name)) return { kind: 'string', value: '$' + name, pos };
    for (let i = this.containers.length - 1; i >= 0; i--) {
      const node = this.containers[i]!.node;
      if (node.kind !== 'map') continue;
      for (let j = node.entries.length - 1; j >= 0; j--) {
        const e = node.entries[j]!;
        if (e.key === name) {
          e.usedAsVariable = true;
          return { ...e.value, pos, variable: name } as ConfigNode;
        }
      }
    }
    const envValue = this.env[name];
    if (envValue !== undefined) return this.parseEnvValue(name, envValue, pos);
    throw new ConfigError(`variable reference for '${name}' on line ${pos.line} can not be found`, pos);
  }

  private parseEnvValue(name: string, text: string, pos: Position): ConfigNode {
    if (this.envChain.includes(name)) {
      const cycle = [...this.envChain.slice(this.envChain.indexOf(name)), name].join(' -> ');
      throw new ConfigError(`variable reference for '${name}' on line ${pos.line} is a cycle: ${cycle}`, pos);
    }
    const sub = new Parser({ env: this.env, readFile: this.readFile }, [...this.envChain, name]);
    let tree: MapNode;
    try {
      tree = sub.parse(`pk=${text}`, `<env ${name}>`);
    } catch (e) {
      if (e instanceof ConfigError) {
        if (/^variable reference for .* (is a cycle|can not be found|could not be parsed)/.test(e.reason)) {
          throw new ConfigError(e.reason, pos);
        }
        throw new ConfigError(`variable reference for '${name}' on line ${pos.line} could not be parsed: ${e.reason}`, pos);
      }
      throw e;
    }
    const entry = tree.entries.find((e) => e.key === 'pk');
    if (!entry || tree.entries.length !== 1) {
      throw new ConfigError(`variable reference for '${name}' on line ${pos.line} could not be parsed`, pos);
    }
    return relocate(entry.value, pos, name);
  }
}

/** A copy of a node (deep) with every position moved to `pos`. */
function relocate(node: ConfigNode, pos: Position, variable: string): ConfigNode {
  switch (node.kind) {
    case 'array':
      return { kind: 'array', items: node.items.map((n) => relocate(n, pos, variable)), pos, variable };
    case 'map':
      return {
        kind: 'map',
        entries: node.entries.map((e) => ({ ...e, keyPos: pos, value: relocate(e.value, pos, variable) })),
        pos,
        variable,
      };
    default:
      return { ...node, pos, variable };
  }
}

/**
 * Parses configuration text into a tree. `file` names the text in positions and is
 * the base for relative includes. Throws {@link ConfigError}.
 */
export function parseConfig(text: string, file: string, opts: ParseOptions = {}): MapNode {
  return new Parser(opts).parse(text, file);
}

/** Reads and parses a configuration file. Throws {@link ConfigError}. */
export function parseConfigFile(path: string, opts: ParseOptions = {}): MapNode {
  const read = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  let text: string;
  try {
    text = read(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? `open ${path}: no such file or directory` : `open ${path}: ${err.message}`;
    throw new ConfigError(`error opening config file: ${why}`);
  }
  return parseConfig(text, path, opts);
}

/** The value of a key in a map (last definition wins), or undefined. */
export function getEntry(map: MapNode, key: string): MapEntry | undefined {
  for (let i = map.entries.length - 1; i >= 0; i--) if (map.entries[i]!.key === key) return map.entries[i];
  return undefined;
}

/** A plain JavaScript view of a node: maps become objects (last key wins). */
export function toPlain(node: ConfigNode): PlainValue {
  switch (node.kind) {
    case 'array':
      return node.items.map(toPlain);
    case 'map': {
      const o: { [key: string]: PlainValue } = {};
      for (const e of node.entries) {
        Object.defineProperty(o, e.key, { value: toPlain(e.value), enumerable: true, writable: true, configurable: true });
      }
      return o;
    }
    default:
      return node.value;
  }
}

/** How nats-server (Go) names a config value's type in some of its messages. */
export function goType(n: ConfigNode): string {
  switch (n.kind) {
    case 'string':
      return 'string';
    case 'integer':
      return 'int64';
    case 'float':
      return 'float64';
    case 'bool':
      return 'bool';
    case 'datetime':
      return 'time.Time';
    case 'array':
      return '[]interface {}';
    case 'map':
      return 'map[string]interface {}';
  }
}
