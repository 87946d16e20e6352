// /varz: nats-server 2.9.10's field names and order for what tsnats has; sections registered by
// other modules (Monitor.addVarzSection) are appended.

import { availableParallelism } from 'node:os';
import { NATS_VERSION, PROTO, RUNTIME } from '../info.js';
import type { Server } from '../server.js';
import { goUptime, preciseNow, rfc3339 } from './format.js';

let lastCpu = process.cpuUsage();
let lastCpuAt = performance.now();
let lastCpuPct = 0;

/** Process CPU use in percent since the previous call (nats-server reports a similar sample). */
function cpuPercent(): number {
  const now = performance.now();
  const elapsedMs = now - lastCpuAt;
  if (elapsedMs < 100) return lastCpuPct;
  const u = process.cpuUsage(lastCpu);
  lastCpu = process.cpuUsage();
  lastCpuAt = now;
  lastCpuPct = Math.round(((u.user + u.system) / 1000 / elapsedMs) * 1000) / 10;
  return lastCpuPct;
}

export function varz(s: Server): Record<string, unknown> {
  const o = s.options;
  const info = s.infoFields;
  const now = preciseNow();
  const v: Record<string, unknown> = {
    server_id: s.serverId,
    server_name: s.serverName,
    version: NATS_VERSION,
    proto: PROTO,
    go: RUNTIME,
    host: o.host,
    port: s.port,
  };
  if (info.auth_required) v.auth_required = true;
  if (info.tls_required) v.tls_required = true;
  if (info.tls_verify) v.tls_verify = true;
  v.max_connections = o.maxConnections;
  if (o.maxSubscriptions > 0) v.max_subscriptions = o.maxSubscriptions;
  v.ping_interval = o.pingIntervalMs * 1e6;
  v.ping_max = o.pingMax;
  v.http_host = o.httpHost ?? o.host;
  v.http_port = o.httpPort ?? 0;
  v.http_base_path = o.httpBasePath ?? '';
  v.https_port = o.httpsPort ?? 0;
  v.auth_timeout = s.auth.timeoutMs / 1000;
  v.max_control_line = o.maxControlLine;
  v.max_payload = o.maxPayload;
  v.max_pending = o.maxPending;
  v.cluster = {};
  v.gateway = {};
  v.leaf = {};
  v.mqtt = {};
  v.websocket = s.websocket?.varz() ?? {};
  v.jetstream = {};
  v.tls_timeout = (o.tls?.timeoutMs ?? 2000) / 1000;
  v.write_deadline = o.writeDeadlineMs * 1e6;
  v.start = rfc3339(s.startTime);
  v.now = rfc3339(now);
  v.uptime = goUptime(now - s.startTime);
  v.mem = process.memoryUsage.rss();
  v.cores = availableParallelism();
  v.gomaxprocs = 1;
  v.cpu = cpuPercent();
  v.connections = s.clients.size;
  v.total_connections = s.totalConnections;
  v.routes = 0;
  v.remotes = 0;
  v.leafnodes = 0;
  v.in_msgs = s.inMsgs;
  v.out_msgs = s.outMsgs;
  v.in_bytes = s.inBytes;
  v.out_bytes = s.outBytes;
  v.slow_consumers = s.slowConsumers;
  v.subscriptions = s.numSubscriptions;
  const stats: Record<string, number> = {};
  for (const k of [...s.monitor.requestStats.keys()].sort()) stats[k] = s.monitor.requestStats.get(k)!;
  v.http_req_stats = stats;
  v.config_load_time = rfc3339(s.configLoadTime);
  if (s.options.serverTags && s.options.serverTags.length > 0) v.tags = s.options.serverTags;
  // nats-server 2.9.10 creates the system account (`$SYS` unless configured) unless no_system_account.
  if (!o.noSystemAccount) v.system_account = o.systemAccount || '$SYS';
  if (s.configDigest) v.config_digest = s.configDigest;
  for (const [k, val] of s.monitor.varzSections()) v[k] = val;
  return v;
}
