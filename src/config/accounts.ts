// The `accounts {}` block (nats-server 2.9.10's parseAccounts, parseAccountExports/Imports,
// parseJetStreamForAccount, parseAccountLimits, parseAccountMappings) and `system_account`.
// See docs/accounts.md.

import type { Position } from './errors.js';
import type { MapEntry, MapNode } from './parser.js';
import { SubjectTransform, newMapping, tokenizeWildcards } from '../protocol/subject-transform.js';
import { isLiteral, isValidSubject, subjectIsSubsetOf, subjectsIntersect } from '../protocol/subjects.js';
import type {
  AccountConfig,
  AccountJetStreamOptions,
  ExportEntry,
  ImportEntry,
  MappingEntry,
  NkeyUserEntry,
  Permissions,
  ServerOptions,
  UserEntry,
} from './types.js';

/** The global account every client without an account belongs to. */
export const GLOBAL_ACCOUNT = '$G';
/** The system account nats-server creates when none is configured. */
export const DEFAULT_SYSTEM_ACCOUNT = '$SYS';

/** What the accounts parser needs from the option builder (src/config/options.ts). */
export interface AccountsBuilder {
  err(pos: Position | undefined, reason: string): void;
  warn(pos: Position, msg: string): void;
  str(e: MapEntry): string | undefined;
  int(e: MapEntry): number | undefined;
  bool(e: MapEntry): boolean | undefined;
  duration(e: MapEntry, name?: string): number | undefined;
  permissionsBlock(e: MapEntry): Permissions | undefined;
  usersBlock(e: MapEntry, nkeys: NkeyUserEntry[]): UserEntry[];
}

const B32 = /^[A-Z2-7]+$/;

/** An account public nkey's shape (`A` + 55 base32 characters); the CRC is checked where it is used. */
export function looksLikeAccountKey(s: string): boolean {
  return s.length === 56 && s[0] === 'A' && B32.test(s);
}

function describe(n: MapEntry['value']): string {
  return n.kind;
}

/** `jetstream: enabled|disabled|true|false|{...}` in an account; undefined = not enabled. */
function accountJetStream(b: AccountsBuilder, e: MapEntry): AccountJetStreamOptions | undefined | null {
  const v = e.value;
  const all: AccountJetStreamOptions = { maxMemory: -1, maxStore: -1, maxStreams: -1, maxConsumers: -1 };
  if (v.kind === 'bool') return v.value ? all : null;
  if (v.kind === 'string') {
    const s = v.value.toLowerCase();
    if (s === 'enabled' || s === 'enable') return all;
    if (s === 'disabled' || s === 'disable') return null;
    b.err(e.keyPos, `Expected 'enabled' or 'disabled' for string value, got '${v.value}'`);
    return null;
  }
  if (v.kind !== 'map') {
    b.err(e.keyPos, `Expected map, bool or string to define JetStream, got ${describe(v)}`);
    return null;
  }
  for (const f of v.entries) {
    const k = f.key.toLowerCase();
    const num = (): number | undefined => {
      const n = f.value.kind === 'integer' ? f.value.value : undefined;
      if (n === undefined) b.err(f.keyPos, `Expected a parseable size for ${JSON.stringify(f.key)}, got ${describe(f.value)}`);
      return n;
    };
    switch (k) {
      case 'max_memory':
      case 'max_mem':
      case 'mem':
      case 'memory': {
        const n = num();
        if (n !== undefined) all.maxMemory = n;
        break;
      }
      case 'max_store':
      case 'max_file':
      case 'max_disk':
      case 'store':
      case 'disk': {
        const n = num();
        if (n !== undefined) all.maxStore = n;
        break;
      }
      case 'max_streams':
      case 'streams': {
        const n = num();
        if (n !== undefined) all.maxStreams = n;
        break;
      }
      case 'max_consumers':
      case 'consumers': {
        const n = num();
        if (n !== undefined) all.maxConsumers = n;
        break;
      }
      case 'max_bytes_required':
      case 'max_stream_bytes':
      case 'max_bytes':
        if (f.value.kind === 'bool') all.maxBytesRequired = f.value.value;
        else b.err(f.keyPos, `Expected a parseable bool for ${JSON.stringify(f.key)}, got ${describe(f.value)}`);
        break;
      case 'mem_max_stream_bytes':
      case 'memory_max_stream_bytes': {
        const n = num();
        if (n !== undefined) all.memoryMaxStreamBytes = n;
        break;
      }
      case 'disk_max_stream_bytes':
      case 'store_max_stream_bytes': {
        const n = num();
        if (n !== undefined) all.storeMaxStreamBytes = n;
        break;
      }
      case 'max_ack_pending': {
        const n = num();
        if (n !== undefined) all.maxAckPending = n;
        break;
      }
      default:
        if (!f.usedAsVariable) b.err(f.keyPos, `unknown field ${JSON.stringify(f.key)}`);
    }
  }
  return all;
}

function exportEntry(b: AccountsBuilder, item: MapEntry['value']): ExportEntry | undefined {
  if (item.kind !== 'map') {
    b.err(item.pos, `Export Items should be a map with type entry, got ${describe(item)}`);
    return undefined;
  }
  let kind: 'stream' | 'service' | undefined;
  let subject = '';
  const x: Partial<ExportEntry> = {};
  let responseAt: Position | undefined;
  let latencyAt: Position | undefined;
  for (const f of item.entries) {
    switch (f.key.toLowerCase()) {
      case 'stream':
      case 'service': {
        const k = f.key.toLowerCase() as 'stream' | 'service';
        if (kind !== undefined && kind !== k) {
          const s = f.value.kind === 'string' ? f.value.value : '';
          b.err(f.keyPos, `Detected ${k} ${JSON.stringify(s)} but already saw a ${kind}`);
          continue;
        }
        if (f.value.kind !== 'string') {
          b.err(f.keyPos, `Expected ${k} name to be string, got ${describe(f.value)}`);
          continue;
        }
        kind = k;
        subject = f.value.value;
        break;
      }
      case 'response':
      case 'response_type': {
        if (responseAt) {
          b.err(f.keyPos, 'Duplicate response type definition');
          continue;
        }
        responseAt = f.keyPos;
        const s = b.str(f);
        if (s === undefined) continue;
        const t = s.toLowerCase();
        if (t === 'single' || t === 'singleton') x.responseType = 'Singleton';
        else if (t === 'stream') x.responseType = 'Stream';
        else if (t === 'chunk' || t === 'chunked') x.responseType = 'Chunked';
        else b.err(f.keyPos, `Unknown response type: ${JSON.stringify(s)}`);
        break;
      }
      case 'threshold':
      case 'response_threshold':
      case 'response_max_time':
      case 'response_time': {
        if (x.responseThresholdMs !== undefined) {
          b.err(f.keyPos, 'Duplicate response threshold detected');
          continue;
        }
        responseAt ??= f.keyPos;
        if (f.value.kind !== 'string') {
          b.err(f.keyPos, `Expected response threshold to be a parseable time duration, got ${describe(f.value)}`);
          continue;
        }
        const d = b.duration(f, 'response threshold');
        if (d !== undefined) x.responseThresholdMs = d;
        break;
      }
      case 'accounts': {
        if (f.value.kind !== 'array') {
          b.err(f.keyPos, `Expected accounts to be an array, got ${describe(f.value)}`);
          continue;
        }
        x.accounts = [];
        for (const a of f.value.items) {
          if (a.kind === 'string') x.accounts.push(a.value);
          else b.err(a.pos, `Expected an account name, got ${describe(a)}`);
        }
        break;
      }
      case 'latency': {
        latencyAt = f.keyPos;
        const v = f.value;
        if (v.kind === 'string') {
          x.latency = { sampling: 100, subject: v.value };
          break;
        }
        if (v.kind !== 'map') {
          b.err(f.keyPos, `Expected latency entry to be a map/struct or string, got ${describe(v)}`);
          continue;
        }
        let sampling = 100;
        let subj: string | undefined;
        for (const g of v.entries) {
          const k = g.key.toLowerCase();
          if (k === 'sampling') {
            const sv = g.value;
            if (sv.kind === 'integer') sampling = sv.value;
            else if (sv.kind === 'string' && sv.value.trim().toLowerCase() === 'headers') sampling = 0;
            else if (sv.kind === 'string' && /^\s*-?\d+%?\s*$/.test(sv.value)) sampling = parseInt(sv.value, 10);
            else {
              b.err(g.keyPos, `Failed to parse latency sample: ${JSON.stringify(sv.kind === 'string' ? sv.value : sv.kind)}`);
              continue;
            }
            if (sampling !== 0 && (sampling < 1 || sampling > 100)) b.err(g.keyPos, 'sampling rate must be between 1 and 100');
          } else if (k === 'subject') {
            subj = b.str(g);
          }
        }
        if (subj === undefined) b.err(f.keyPos, 'Latency subject required, but missing');
        else x.latency = { sampling, subject: subj };
        break;
      }
      case 'account_token_position': {
        const n = b.int(f);
        if (n !== undefined) x.accountTokenPosition = n;
        break;
      }
      default:
        if (!f.usedAsVariable) b.err(f.keyPos, `unknown field ${JSON.stringify(f.key)}`);
    }
  }
  if (kind === undefined) return undefined;
  if (kind === 'stream') {
    if (responseAt) b.err(responseAt, 'Detected response directive on non-service');
    if (latencyAt) b.err(latencyAt, 'Detected latency directive on non-service');
    delete x.responseType;
    delete x.responseThresholdMs;
    delete x.latency;
  }
  return { ...x, kind, subject };
}

function importEntry(b: AccountsBuilder, item: MapEntry['value']): ImportEntry | undefined {
  if (item.kind !== 'map') {
    b.err(item.pos, `Import Items should be a map with type entry, got ${describe(item)}`);
    return undefined;
  }
  let out: ImportEntry | undefined;
  let prefix: string | undefined;
  let to: string | undefined;
  let toAt: Position | undefined;
  let share = false;
  for (const f of item.entries) {
    const k = f.key.toLowerCase();
    switch (k) {
      case 'stream':
      case 'service': {
        if (out && out.kind !== k) {
          b.err(f.keyPos, `Detected ${k} but already saw a ${out.kind}`);
          continue;
        }
        if (f.value.kind !== 'map') {
          b.err(f.keyPos, `${k === 'stream' ? 'Stream' : 'Service'} entry should be an account map, got ${describe(f.value)}`);
          continue;
        }
        let account = '';
        let subject = '';
        for (const g of f.value.entries) {
          const gk = g.key.toLowerCase();
          if (gk === 'account') account = b.str(g) ?? '';
          else if (gk === 'subject') subject = b.str(g) ?? '';
          else if (!g.usedAsVariable) b.err(g.keyPos, `unknown field ${JSON.stringify(g.key)}`);
        }
        if (account === '' || subject === '') {
          b.err(f.keyPos, 'Expect an account name and a subject');
          continue;
        }
        out = { kind: k, account, subject };
        break;
      }
      case 'prefix':
        prefix = b.str(f);
        break;
      case 'to':
        to = b.str(f);
        toAt = f.keyPos;
        break;
      case 'share': {
        share = b.bool(f) ?? false;
        break;
      }
      default:
        if (!f.usedAsVariable) b.err(f.keyPos, `unknown field ${JSON.stringify(f.key)}`);
    }
  }
  if (!out) return undefined;
  if (out.kind === 'stream') {
    if (prefix !== undefined && prefix !== '' && to !== undefined && to !== '') {
      b.err(toAt, "Stream import can not have a 'prefix' and a 'to' property");
      return undefined;
    }
    if (prefix !== undefined && prefix !== '') out.prefix = prefix;
    if (to !== undefined && to !== '') out.to = to;
  } else {
    out.to = to !== undefined && to !== '' ? to : out.subject;
    if (share) out.share = true;
  }
  return out;
}

function limits(b: AccountsBuilder, e: MapEntry, acc: AccountConfig): void {
  if (e.value.kind !== 'map') {
    b.err(e.keyPos, `Expected account limits to be a map/struct, got ${describe(e.value)}`);
    return;
  }
  const l: NonNullable<AccountConfig['limits']> = {};
  for (const f of e.value.entries) {
    const n = (): number | undefined => b.int(f);
    switch (f.key.toLowerCase()) {
      case 'max_connections':
      case 'max_conn':
        l.maxConnections = n();
        break;
      case 'max_subscriptions':
      case 'max_subs':
        l.maxSubscriptions = n();
        break;
      case 'max_payload':
      case 'max_pay':
        l.maxPayload = n();
        break;
      case 'max_leafnodes':
      case 'max_leafs':
        l.maxLeafnodes = n();
        break;
      default:
        if (!f.usedAsVariable) b.err(f.keyPos, `Unknown field ${JSON.stringify(f.key)} parsing account limits`);
    }
  }
  acc.limits = l;
}

/**
 * `mappings { src: dest }` (an account's, or the top level's for `$G`), checked as nats-server's
 * parseAccountMappings / parseAccountMapDest / AddWeightedMappings. A weighted list
 * (`src: [ {destination, weight, cluster}, ... ]`, or one such map) gives one entry per destination.
 */
export function parseMappings(b: AccountsBuilder, e: MapEntry): MappingEntry[] {
  if (e.value.kind !== 'map') {
    b.err(e.keyPos, `Expected mappings to be a map, got ${describe(e.value)}`);
    return [];
  }
  const out: MappingEntry[] = [];
  for (const f of e.value.entries) {
    if (f.usedAsVariable) continue;
    if (!isValidSubject(f.key)) {
      b.err(f.keyPos, `Subject ${JSON.stringify(f.key)} is not a valid subject`);
      continue;
    }
    const v = f.value;
    if (v.kind === 'string') {
      try {
        newMapping(f.key, v.value);
      } catch (err) {
        b.err(f.keyPos, `Error adding mapping for ${JSON.stringify(f.key)} to ${JSON.stringify(v.value)} : ${(err as Error).message}`);
        continue;
      }
      out.push({ source: f.key, destination: v.value });
      continue;
    }
    const items = v.kind === 'array' ? v.items : [v];
    const dests: MappingEntry[] = [];
    let bad = false;
    for (const it of items) {
      const d = mapDest(b, f.key, it, f.keyPos);
      if (d) dests.push(d);
      else bad = true;
    }
    if (bad) continue;
    const err = weightedError(f.key, dests);
    if (err !== undefined) {
      b.err(f.keyPos, `Error adding mapping for ${JSON.stringify(f.key)} : ${err}`);
      continue;
    }
    out.push(...dests);
  }
  return out;
}

/** One `{destination, weight, cluster}` of a weighted mapping (nats-server's parseAccountMapDest). */
function mapDest(b: AccountsBuilder, source: string, v: MapEntry['value'], at: Position): MappingEntry | undefined {
  if (v.kind !== 'map') {
    b.err(v.pos ?? at, 'Expected an entry for the mapping destination');
    return undefined;
  }
  const d: MappingEntry = { source, destination: '' };
  let weight: number | undefined;
  for (const g of v.entries) {
    switch (g.key.toLowerCase()) {
      case 'dest':
      case 'destination':
        d.destination = b.str(g) ?? '';
        break;
      case 'weight': {
        const w = g.value;
        let n: number;
        if (w.kind === 'integer') n = w.value;
        else if (w.kind === 'string') {
          const t = w.value.endsWith('%') ? w.value.slice(0, -1) : w.value;
          if (!/^[+-]?\d+$/.test(t)) {
            b.err(g.keyPos, `Invalid weight ${JSON.stringify(t)} for mapping destination`);
            return undefined;
          }
          n = parseInt(t, 10);
        } else {
          b.err(g.keyPos, `Unknown entry type for weight of ${w.kind}`);
          return undefined;
        }
        if (n > 100 || n < 0) {
          b.err(g.keyPos, `Invalid weight ${n} for mapping destination`);
          return undefined;
        }
        weight = n;
        break;
      }
      case 'cluster':
        d.cluster = b.str(g);
        break;
      default:
        b.err(g.keyPos, `Unknown field ${JSON.stringify(g.key)} for mapping destination`);
        return undefined;
    }
  }
  if (weight === undefined) {
    b.err(v.pos ?? at, `Missing weight for mapping destination ${JSON.stringify(d.destination)}`);
    return undefined;
  }
  d.weight = weight;
  return d;
}

/** nats-server's AddWeightedMappings checks, or undefined. */
function weightedError(source: string, dests: MappingEntry[]): string | undefined {
  const seen = new Set<string>();
  let total = 0;
  for (const d of dests) {
    if (seen.has(d.destination)) return `duplicate entry for ${JSON.stringify(d.destination)}`;
    seen.add(d.destination);
    const w = d.weight ?? 100;
    if (w > 100) return 'individual weights need to be <= 100';
    total += w;
    if (total > 100) return 'total weight needs to be <= 100';
    try {
      newMapping(source, d.destination);
    } catch (err) {
      return (err as Error).message;
    }
  }
  return undefined;
}

/**
 * `accounts { NAME { ... } }` or `accounts: [A, B]` → AccountConfig list. Users are tagged with
 * their account; cross-account checks (imports naming defined accounts, duplicate users) happen in
 * `checkAccounts` once the whole file is read.
 */
export function parseAccountsBlock(b: AccountsBuilder, e: MapEntry, o: ServerOptions): AccountConfig[] {
  const v = e.value;
  const out: AccountConfig[] = [];
  const names = new Set<string>();
  const add = (name: string, pos: Position): AccountConfig | undefined => {
    if (name === GLOBAL_ACCOUNT) {
      b.err(pos, `${JSON.stringify(name)} is a Reserved Account`);
      return undefined;
    }
    if (names.has(name)) {
      b.err(pos, `Duplicate Account Entry: ${name}`);
      return undefined;
    }
    names.add(name);
    const acc: AccountConfig = { name, users: [], exports: [], imports: [] };
    out.push(acc);
    return acc;
  };
  if (v.kind === 'array') {
    for (const it of v.items) {
      if (it.kind !== 'string') b.err(it.pos, `Expected an account name, got ${describe(it)}`);
      else add(it.value, it.pos);
    }
    return out;
  }
  if (v.kind !== 'map') {
    b.err(e.keyPos, `Expected map or array to define accounts, got ${describe(v)}`);
    return out;
  }
  for (const ae of v.entries) {
    if (ae.usedAsVariable) continue;
    if (ae.value.kind !== 'map') {
      b.err(ae.keyPos, 'Expected map entries for accounts');
      continue;
    }
    const acc = add(ae.key, ae.keyPos);
    if (!acc) continue;
    let usersAt: Position | undefined;
    for (const f of (ae.value as MapNode).entries) {
      switch (f.key.toLowerCase()) {
        case 'nkey': {
          const s = f.value.kind === 'string' ? f.value.value : undefined;
          if (s === undefined || !looksLikeAccountKey(s)) b.err(f.keyPos, `Not a valid public nkey for an account: ${JSON.stringify(s ?? f.value.kind)}`);
          else acc.nkey = s;
          break;
        }
        case 'users': {
          usersAt = f.keyPos;
          const nk: NkeyUserEntry[] = [];
          acc.users = b.usersBlock(f, nk);
          if (nk.length > 0) acc.nkeys = nk;
          break;
        }
        case 'exports': {
          if (f.value.kind !== 'array') {
            b.err(f.keyPos, `Exports should be an array, got ${describe(f.value)}`);
            break;
          }
          for (const it of f.value.items) {
            const x = exportEntry(b, it);
            if (x) acc.exports.push(x);
          }
          break;
        }
        case 'imports': {
          if (f.value.kind !== 'array') {
            b.err(f.keyPos, `Imports should be an array, got ${describe(f.value)}`);
            break;
          }
          const svc = new Map<string, ImportEntry>();
          for (const it of f.value.items) {
            const x = importEntry(b, it);
            if (!x) continue;
            if (x.kind === 'service') {
              const dup = svc.get(x.to!);
              if (dup) {
                b.err(it.pos, `Duplicate service import subject ${JSON.stringify(x.to)}, previously used in import for account ${JSON.stringify(dup.account)}, subject ${JSON.stringify(dup.subject)}`);
                continue;
              }
              svc.set(x.to!, x);
            }
            acc.imports.push(x);
          }
          break;
        }
        case 'jetstream': {
          const js = accountJetStream(b, f);
          if (js) acc.jetstream = js;
          break;
        }
        case 'default_permissions': {
          const p = b.permissionsBlock(f);
          if (p) acc.defaultPermissions = p;
          break;
        }
        case 'mappings':
        case 'maps':
          acc.mappings = parseMappings(b, f);
          break;
        case 'limits':
          limits(b, f, acc);
          break;
        default:
          if (!f.usedAsVariable) b.err(f.keyPos, `unknown field ${JSON.stringify(f.key)}`);
      }
    }
    const hasUsers = acc.users.length > 0 || (acc.nkeys?.length ?? 0) > 0;
    if (hasUsers && o.authorization?.user !== undefined) b.err(usersAt, 'Can not have a single user/pass and accounts');
    else if (hasUsers && o.authorization?.token !== undefined) b.err(usersAt, 'Can not have a token and accounts');
    for (const u of acc.users) {
      u.account = acc.name;
      if (!u.permissions && acc.defaultPermissions) u.permissions = acc.defaultPermissions;
    }
    for (const n of acc.nkeys ?? []) {
      n.account = acc.name;
      if (!n.permissions && acc.defaultPermissions) n.permissions = acc.defaultPermissions;
    }
  }
  return out;
}

/**
 * The checks nats-server makes once every account is known: users and nkeys unique across
 * accounts and the authorization block, exports/imports naming defined accounts, the system
 * account defined. `pos` is the `accounts` key (nats-server reports these at the block's last token).
 */
export function checkAccounts(b: AccountsBuilder, o: ServerOptions, pos: Position | undefined, sysPos: Position | undefined): void {
  const accs = o.accounts ?? [];
  const byName = new Map(accs.map((a) => [a.name, a] as const));
  const seen = new Set<string>();
  for (const u of o.authorization?.users ?? []) seen.add(u.user);
  for (const n of o.authorization?.nkeys ?? []) seen.add(n.nkey);
  for (const a of accs) {
    a.users = a.users.filter((u) => {
      if (seen.has(u.user)) {
        b.err(pos, `Duplicate user ${JSON.stringify(u.user)} detected`);
        return false;
      }
      seen.add(u.user);
      return true;
    });
    for (const n of a.nkeys ?? []) {
      if (seen.has(n.nkey)) b.err(pos, `Duplicate nkey ${JSON.stringify(n.nkey)} detected`);
      seen.add(n.nkey);
    }
  }
  const known = (n: string): boolean => byName.has(n) || n === GLOBAL_ACCOUNT;
  const failed = new Set<ImportEntry>();
  for (const a of accs) {
    for (const x of a.exports) {
      for (const n of x.accounts ?? []) {
        if (!known(n)) b.err(pos, `${JSON.stringify(n)} account not defined for ${x.kind} export`);
      }
      if (x.latency) b.err(pos, `service latency tracking ("latency") of export ${JSON.stringify(x.subject)} is not supported by tsnats yet`);
    }
    for (const i of a.imports) {
      if (!known(i.account)) {
        b.err(pos, `${JSON.stringify(i.account)} account not defined for ${i.kind} import`);
        failed.add(i);
        continue;
      }
      const exporter = byName.get(i.account);
      // nats-server refuses an import with no matching export (or one that does not list the
      // importer) when the configuration is loaded.
      if (exporter && !exporter.exports.some((x) => x.kind === i.kind && exportAllows(x, i.subject, a.name))) {
        const what = i.kind === 'stream' ? 'stream import' : 'service import';
        b.err(pos, `Error adding ${what} ${JSON.stringify(i.subject)}: ${i.kind} import not authorized`);
        failed.add(i);
        continue;
      }
      const bad = importSubjectsError(i);
      if (bad) {
        b.err(pos, `Error adding ${i.kind} import ${JSON.stringify(i.subject)}: ${bad}`);
        failed.add(i);
      }
    }
  }
  checkImportCycles(b, accs, pos, failed);
  const sys = o.systemAccount;
  if (sys !== undefined && sys !== '' && sys !== DEFAULT_SYSTEM_ACCOUNT && !byName.has(sys) && !o.operator) {
    b.err(sysPos, `error resolving system account: account missing`);
  }
}

/**
 * nats-server's streamImportFormsCycle / serviceImportFormsCycle, with the imports added in file
 * order (streams first, as nats-server adds them). nats-server adds them in its map's order, so a
 * file whose cycle depends on that order is refused by it only sometimes; tsnats decides by the
 * file order, always the same way.
 */
function checkImportCycles(b: AccountsBuilder, accs: AccountConfig[], pos: Position | undefined, failed: Set<ImportEntry>): void {
  const byName = new Map(accs.map((a) => [a.name, a] as const));
  const streams = new Map<string, { acc: string; to: string }[]>();
  const services = new Map<string, { acc: string; from: string; to: string }[]>();
  const streamCycle = (accName: string, to: string, visited: Set<string>): boolean => {
    const acc = byName.get(accName);
    if (!acc || !acc.exports.some((x) => x.kind === 'stream' && subjectIsSubsetOf(to, x.subject))) return false;
    for (const si of streams.get(accName) ?? []) {
      if (!subjectsIntersect(to, si.to)) continue;
      if (visited.has(si.acc)) return true;
      visited.add(accName);
      if (subjectIsSubsetOf(si.to, to)) to = si.to;
      if (visited.size < 1024 && streamCycle(si.acc, to, visited)) return true;
    }
    return false;
  };
  const serviceCycle = (accName: string, from: string, visited: Set<string>): boolean => {
    for (const si of services.get(accName) ?? []) {
      if (!subjectsIntersect(from, si.to)) continue;
      if (visited.has(si.acc)) return true;
      visited.add(accName);
      if (subjectIsSubsetOf(si.from, from)) from = si.from;
      if (visited.size < 1024 && serviceCycle(si.acc, from, visited)) return true;
    }
    return false;
  };
  for (const kind of ['stream', 'service'] as const) {
    for (const a of accs) {
      for (const i of a.imports) {
        if (i.kind !== kind || !byName.has(i.account) || failed.has(i)) continue;
        if (kind === 'stream') {
          const to = i.prefix !== undefined ? (i.prefix.endsWith('.') ? i.prefix : `${i.prefix}.`) + i.subject : (i.to ?? i.subject);
          if (streamCycle(i.account, to, new Set([a.name]))) {
            b.err(pos, `Error adding stream import ${JSON.stringify(i.subject)}: import forms a cycle`);
            continue;
          }
          const l = streams.get(a.name) ?? [];
          l.push({ acc: i.account, to });
          streams.set(a.name, l);
        } else {
          const from = i.to ?? i.subject;
          if (serviceCycle(i.account, from, new Set([a.name]))) {
            b.err(pos, `Error adding service import ${JSON.stringify(i.subject)}: import forms a cycle`);
            continue;
          }
          const l = services.get(a.name) ?? [];
          l.push({ acc: i.account, from, to: i.subject });
          services.set(a.name, l);
        }
      }
    }
  }
}

/** nats-server's checks of an import's subjects (AddStreamImport / AddServiceImport), or undefined. */
function importSubjectsError(i: ImportEntry): string | undefined {
  const wild = (s: string): boolean => !isLiteral(s);
  try {
    if (i.kind === 'stream') {
      let to = i.to ?? i.subject;
      if (i.prefix !== undefined) {
        if (wild(i.prefix)) return 'stream import prefix can not contain wildcard tokens';
        to = (i.prefix.endsWith('.') ? i.prefix : `${i.prefix}.`) + i.subject;
      }
      if (wild(i.subject) && to !== i.subject) {
        try {
          new SubjectTransform(i.subject, tokenizeWildcards(to));
        } catch (e) {
          return `failed to create mapping transform for stream import subject ${JSON.stringify(i.subject)} to ${JSON.stringify(to)}: ${(e as Error).message}`;
        }
      }
      return undefined;
    }
    const local = i.to ?? i.subject;
    if (!isValidSubject(local) || !isValidSubject(i.subject)) return 'invalid subject';
    if (wild(i.subject) && local !== i.subject) {
      try {
        new SubjectTransform(i.subject, tokenizeWildcards(local));
      } catch (e) {
        return `failed to create mapping transform for service import subject ${JSON.stringify(local)} to ${JSON.stringify(i.subject)}: ${(e as Error).message}`;
      }
    }
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

/** Does export `x` cover `subject` for importer `importer` (subset of its subject, and listed if private)? */
export function exportAllows(x: ExportEntry, subject: string, importer: string): boolean {
  if (x.accounts !== undefined && x.accounts.length > 0 && !x.accounts.includes(importer)) return false;
  if (x.accountTokenPosition !== undefined && x.accountTokenPosition > 0) {
    const toks = subject.split('.');
    if (toks[x.accountTokenPosition - 1] !== importer) return false;
  }
  return subjectIsSubsetOf(subject, x.subject);
}
