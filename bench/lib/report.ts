// The comparison table: one row per metric, nats-server vs tsnats, their ratio (tsnats ÷
// nats-server), the direction that is better, the target and pass/fail.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { median } from './util.js';

export type Target =
  /** Throughput: ≥ 0.5× passes the first milestone, ≥ 1.0× the goal. */
  | 'throughput'
  /** TLS throughput / handshake rate: ≥ 1.0×. */
  | 'tls'
  /** Cost (CPU per message, memory per connection): ≤ 1.0×. */
  | 'cost'
  /** Stapling cost: tsnats' own value below 2 %. */
  | 'stapling'
  /** ocsp_peer cost (issue 13): tsnats' own connect rate lost, below 5 %. */
  | 'peer'
  /** Start-up above `node -e 0`: tsnats' own value ≤ 30 ms (issue 15). */
  | 'startup'
  /** A failure count: tsnats' own value must be 0. */
  | 'zero'
  /** Reported, no target in the issue. */
  | 'none';

export interface RowDef {
  key: string;
  scenario: string;
  metric: string;
  unit: 'msgs/s' | 'µs' | 'ms' | 'KiB' | 'conn/s' | 's' | '%' | 'req/s';
  better: 'higher' | 'lower';
  target: Target;
}

export const ROWS: RowDef[] = [
  { key: 'pub16', scenario: 'publish only, 16 B', metric: 'published', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'pub1k', scenario: 'publish only, 1 KiB', metric: 'published', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'p2p', scenario: '1 pub → 1 sub, 16 B', metric: 'delivered', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'fanout', scenario: '1 pub → 4 subs (fan-out), 128 B', metric: 'delivered, all subs', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'nn', scenario: '4 pubs → 4 subs, 128 B', metric: 'delivered, all subs', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'queue', scenario: '1 pub → queue group of 4, 128 B', metric: 'delivered', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'req_p50', scenario: 'request/reply, 1 responder, 128 B', metric: 'latency p50', unit: 'µs', better: 'lower', target: 'none' },
  { key: 'req_p99', scenario: 'request/reply, 1 responder, 128 B', metric: 'latency p99', unit: 'µs', better: 'lower', target: 'none' },
  { key: 'req_rate', scenario: 'request/reply, 1 responder, 128 B', metric: 'sequential requests', unit: 'req/s', better: 'higher', target: 'none' },
  { key: 'svc_p50', scenario: 'request/reply through a service import (account A → B), 128 B', metric: 'latency p50', unit: 'µs', better: 'lower', target: 'none' },
  { key: 'svc_p99', scenario: 'request/reply through a service import (account A → B), 128 B', metric: 'latency p99', unit: 'µs', better: 'lower', target: 'none' },
  { key: 'svc_rate', scenario: 'request/reply through a service import (account A → B), 128 B', metric: 'sequential requests', unit: 'req/s', better: 'higher', target: 'throughput' },
  { key: 'tls_p2p', scenario: 'TLS 1 pub → 1 sub, 16 B', metric: 'delivered', unit: 'msgs/s', better: 'higher', target: 'tls' },
  { key: 'ws_p2p', scenario: 'websocket 1 pub → 1 sub, 16 B', metric: 'delivered', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'ws_fanout', scenario: 'websocket 1 pub → 4 subs (fan-out), 128 B', metric: 'delivered, all subs', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'hs_on', scenario: 'TLS connects, stapling on (Must-Staple)', metric: 'full connects', unit: 'conn/s', better: 'higher', target: 'tls' },
  { key: 'hs_off', scenario: 'TLS connects, stapling off', metric: 'full connects', unit: 'conn/s', better: 'higher', target: 'tls' },
  { key: 'staple_cost', scenario: 'stapling cost (1 − on ÷ off)', metric: 'connect rate lost', unit: '%', better: 'lower', target: 'stapling' },
  { key: 'hs_on_cpu', scenario: 'TLS connects, stapling on', metric: 'server CPU per connect', unit: 'µs', better: 'lower', target: 'none' },
  { key: 'hs_off_cpu', scenario: 'TLS connects, stapling off', metric: 'server CPU per connect', unit: 'µs', better: 'lower', target: 'none' },
  { key: 'staple_cpu', scenario: 'stapling cost in server CPU', metric: 'extra CPU per connect', unit: '%', better: 'lower', target: 'none' },
  { key: 'peer_on', scenario: 'mTLS connects, ocsp_peer on, warm cache (tsnats only: nats-server 2.9.10 has no ocsp_peer)', metric: 'full connects', unit: 'conn/s', better: 'higher', target: 'none' },
  { key: 'peer_off', scenario: 'mTLS connects, ocsp_peer off (tsnats only)', metric: 'full connects', unit: 'conn/s', better: 'higher', target: 'none' },
  { key: 'peer_on_cpu', scenario: 'mTLS connects, ocsp_peer on (tsnats only)', metric: 'server CPU per connect', unit: 'µs', better: 'lower', target: 'none' },
  { key: 'peer_off_cpu', scenario: 'mTLS connects, ocsp_peer off (tsnats only)', metric: 'server CPU per connect', unit: 'µs', better: 'lower', target: 'none' },
  { key: 'peer_cost', scenario: 'ocsp_peer cost (1 − on ÷ off), tsnats only', metric: 'connect rate lost', unit: '%', better: 'lower', target: 'peer' },
  { key: 'nkey_connect', scenario: 'connects with nkey authentication (1 of 100 nkey users), 20 at a time', metric: 'full connects', unit: 'conn/s', better: 'higher', target: 'throughput' },
  { key: 'nkey_connect_cpu', scenario: 'connects with nkey authentication', metric: 'server CPU per connect', unit: 'µs', better: 'lower', target: 'none' },
  { key: 'jwt_connect', scenario: 'connects with JWT authentication (operator, MEMORY resolver, 10 accounts), 20 at a time', metric: 'full connects', unit: 'conn/s', better: 'higher', target: 'throughput' },
  { key: 'jwt_connect_cpu', scenario: 'connects with JWT authentication', metric: 'server CPU per connect', unit: 'µs', better: 'lower', target: 'none' },
  { key: 'route16', scenario: '1 pub (node A) → 1 sub (node B) across a route, 16 B', metric: 'delivered', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'route128', scenario: '1 pub (node A) → 1 sub (node B) across a route, 128 B', metric: 'delivered', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'route_mix_tn16', scenario: 'mixed pair: tsnats node A (pub) → nats-server node B (sub), 16 B; nats-server column = the nats-server pair', metric: 'delivered', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'route_mix_nt16', scenario: 'mixed pair: nats-server node A (pub) → tsnats node B (sub), 16 B; nats-server column = the nats-server pair', metric: 'delivered', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'route_queue', scenario: '1 pub (node A) → queue group of 4 spread over a route (2 on A, 2 on B), 128 B', metric: 'delivered', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'leaf16', scenario: '1 pub (spoke) → 1 sub (hub) across a leaf connection, 16 B', metric: 'delivered', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'leaf128', scenario: '1 pub (spoke) → 1 sub (hub) across a leaf connection, 128 B', metric: 'delivered', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'mem_conn', scenario: 'idle connections', metric: 'RSS per connection', unit: 'KiB', better: 'lower', target: 'cost' },
  { key: 'cpu_p2p', scenario: 'server CPU, 1 → 1, 16 B', metric: 'CPU s per 1 M delivered', unit: 's', better: 'lower', target: 'cost' },
  { key: 'cpu_ws_p2p', scenario: 'server CPU, websocket 1 → 1, 16 B', metric: 'CPU s per 1 M delivered', unit: 's', better: 'lower', target: 'cost' },
  { key: 'cpu_fanout', scenario: 'server CPU, 1 → 4, 128 B', metric: 'CPU s per 1 M delivered', unit: 's', better: 'lower', target: 'cost' },
  { key: 'startup', scenario: 'start-up, 1 server (process, no config file)', metric: 'exec → first accepted connection', unit: 'ms', better: 'lower', target: 'none' },
  { key: 'startup_over_node', scenario: 'start-up above `node -e 0` (same round)', metric: 'process start-up − node boot', unit: 'ms', better: 'lower', target: 'startup' },
  { key: 'startup_embed', scenario: 'start-up, embedded (fresh process: `import("tsnats")` + `startServer()`)', metric: 'exec → first accepted connection', unit: 'ms', better: 'lower', target: 'none' },
  { key: 'startup_embed_over_node', scenario: 'embedded start-up above `node -e 0`', metric: 'embedded start-up − node boot', unit: 'ms', better: 'lower', target: 'startup' },
  { key: 'startup3', scenario: 'start-up, 3 servers started together', metric: 'slowest exec → accept', unit: 'ms', better: 'lower', target: 'none' },
  { key: 'startup3_busy', scenario: '3 servers together under 2 busy CPUs (repeated)', metric: 'runs where a server did not accept within 500 ms', unit: '%', better: 'lower', target: 'zero' },
  { key: 'js_pub16', scenario: 'JetStream async publish, file stream, 16 B', metric: 'acknowledged', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'js_pub1k', scenario: 'JetStream async publish, file stream, 1 KiB', metric: 'acknowledged', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'js_sync_p50', scenario: 'JetStream sync publish, file, 16 B', metric: 'latency p50', unit: 'µs', better: 'lower', target: 'none' },
  { key: 'js_sync_p99', scenario: 'JetStream sync publish, file, 16 B', metric: 'latency p99', unit: 'µs', better: 'lower', target: 'none' },
  { key: 'js_consume', scenario: 'JetStream pull consume, explicit acks, 16 B', metric: 'consumed', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'js_ordered', scenario: 'JetStream ordered consumer replay, 16 B', metric: 'received', unit: 'msgs/s', better: 'higher', target: 'throughput' },
  { key: 'js_kv_put', scenario: 'KV put, 100 B, 1000 keys (sequential)', metric: 'puts', unit: 'req/s', better: 'higher', target: 'throughput' },
  { key: 'js_kv_get', scenario: 'KV get, 100 B, 1000 keys (sequential)', metric: 'gets', unit: 'req/s', better: 'higher', target: 'throughput' },
  { key: 'js_restart', scenario: 'JetStream restart, file stream, 1 M × 128 B stored', metric: 'exec → first STREAM.INFO reply', unit: 'ms', better: 'lower', target: 'cost' },
  { key: 'js_rss_fill', scenario: 'JetStream RSS, 1 M × 128 B stored, after the fill', metric: 'server RSS', unit: 'KiB', better: 'lower', target: 'none' },
  { key: 'js_rss_restart', scenario: 'JetStream RSS, 1 M × 128 B stored, after restart', metric: 'server RSS', unit: 'KiB', better: 'lower', target: 'none' },
];

/** Values per server name, per row key, one entry per round. */
export type Samples = Record<string, Record<string, number[]>>;

export interface Outcome {
  row: RowDef;
  a: number; // nats-server (median)
  b: number; // tsnats (median)
  ratio: number;
  result: string;
  n: number;
}

export function fmt(v: number, unit: RowDef['unit']): string {
  if (!Number.isFinite(v)) return 'n/a';
  switch (unit) {
    case 'msgs/s':
    case 'conn/s':
    case 'req/s':
      if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
      if (v >= 1e4) return `${(v / 1e3).toFixed(0)} k`;
      if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
      return v.toFixed(0);
    case 'µs':
      return v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(0)} µs`;
    case 'KiB':
      return `${v.toFixed(1)} KiB`;
    case 's':
      return `${v.toFixed(2)} s`;
    case 'ms':
      return `${v.toFixed(1)} ms`;
    case '%':
      return `${v.toFixed(1)} %`;
  }
}

function judge(row: RowDef, b: number, ratio: number): string {
  switch (row.target) {
    case 'none':
      return '—';
    case 'stapling':
      if (!Number.isFinite(b)) return 'n/a';
      return b < 2 ? 'PASS' : 'FAIL';
    case 'peer':
      if (!Number.isFinite(b)) return 'n/a';
      return b < 5 ? 'PASS' : 'FAIL';
    case 'startup':
      if (!Number.isFinite(b)) return 'n/a';
      return b <= 30 ? 'PASS' : 'FAIL';
    case 'zero':
      if (!Number.isFinite(b)) return 'n/a';
      return b === 0 ? 'PASS' : 'FAIL';
    case 'throughput':
      if (!Number.isFinite(ratio)) return 'n/a';
      return ratio >= 1 ? 'PASS (goal)' : ratio >= 0.5 ? 'PASS (M1)' : 'FAIL';
    case 'tls':
      if (!Number.isFinite(ratio)) return 'n/a';
      return ratio >= 1 ? 'PASS' : 'FAIL';
    case 'cost':
      if (!Number.isFinite(ratio)) return 'n/a';
      return ratio <= 1 ? 'PASS' : 'FAIL';
  }
}

function targetText(row: RowDef): string {
  switch (row.target) {
    case 'throughput':
      return '≥ 0.5× (goal 1.0×)';
    case 'tls':
      return '≥ 1.0×';
    case 'cost':
      return '≤ 1.0×';
    case 'stapling':
      return 'tsnats < 2 %';
    case 'peer':
      return 'tsnats < 5 %';
    case 'startup':
      return 'tsnats ≤ 30 ms';
    case 'zero':
      return 'tsnats 0 %';
    case 'none':
      return 'none set';
  }
}

/** Deliveries missing in any round above this share make a throughput row fail. */
export const LOSS_LIMIT_PCT = 0.01;

function fmtPct(v: number): string {
  return v >= 1 ? `${v.toFixed(0)} %` : `${v.toFixed(2)} %`;
}

export function outcomes(samples: Samples, names: [string, string], keys?: Set<string>): Outcome[] {
  const [an, bn] = names;
  const out: Outcome[] = [];
  for (const row of ROWS) {
    if (keys && !keys.has(row.key)) continue;
    const av = samples[an]?.[row.key] ?? [];
    const bv = samples[bn]?.[row.key] ?? [];
    const a = median(av);
    const b = median(bv);
    const ratio = row.unit === '%' ? NaN : a > 0 ? b / a : NaN;
    let result = judge(row, b, ratio);
    // The stapling rows only mean something if every stapling-on connect really got a staple.
    if (['hs_on', 'staple_cost', 'hs_on_cpu', 'staple_cpu'].includes(row.key)) {
      const staples = (n: string) => Math.min(...(samples[n]?.stapled_pct ?? [NaN]));
      if (staples(bn) < 100) result = `FAIL (${bn} stapled ${staples(bn).toFixed(0)} %)`;
      else if (staples(an) < 100) result = `n/a (${an} stapled ${staples(an).toFixed(0)} %)`;
    }
    // A delivery rate with messages missing is not comparable: flag the row.
    const lostPct = (n: string) => Math.max(...(samples[n]?.[`${row.key}_lost_pct`] ?? [0]));
    if (lostPct(bn) > LOSS_LIMIT_PCT) result = `FAIL (${bn} lost ${fmtPct(lostPct(bn))})`;
    else if (lostPct(an) > LOSS_LIMIT_PCT) result = `${result}; ${an} lost ${fmtPct(lostPct(an))}`;
    out.push({ row, a, b, ratio, result, n: Math.max(av.length, bv.length) });
  }
  return out;
}

export function markdownTable(rows: Outcome[], names: [string, string]): string {
  const head = `| Scenario | Metric (better) | ${names[0]} | ${names[1]} | ${names[1]} ÷ ${names[0]} | Target | Result |`;
  const sep = '|---|---|--:|--:|--:|---|---|';
  const lines = rows.map((o) => {
    const dir = o.row.better === 'higher' ? 'higher is better' : 'lower is better';
    const ratio = o.row.unit === '%' ? '—' : Number.isFinite(o.ratio) ? `${o.ratio.toFixed(2)}×` : 'n/a';
    return `| ${o.row.scenario} | ${o.row.metric}, ${o.row.unit} (${dir}) | ${fmt(o.a, o.row.unit)} | ${fmt(o.b, o.row.unit)} | ${ratio} | ${targetText(o.row)} | ${o.result} |`;
  });
  return [head, sep, ...lines].join('\n');
}

/**
 * Replaces the text between `<!-- bench:<section>:begin -->` and `<!-- bench:<section>:end -->` in
 * `file` (appending the section when the markers are missing, creating the file when absent).
 */
export function writeSection(file: string, section: string, body: string): void {
  const begin = `<!-- bench:${section}:begin -->`;
  const end = `<!-- bench:${section}:end -->`;
  const block = `${begin}\n${body.trim()}\n${end}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) text = text.slice(0, i) + block + text.slice(j + end.length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, text);
}
