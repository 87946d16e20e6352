// Server identity and the INFO document, in nats-server 2.9.10's field order with its omitempty
// rules (fields that are false/empty are absent, not `false`).

import { readFileSync } from 'node:fs';
import { encodeInfo } from '../protocol/encode.js';

/**
 * The NATS server version tsnats reports in INFO and /varz. Clients parse it as semver and gate
 * features on it (nats.js refuses a non-semver value), so it is a nats-server version whose core
 * protocol tsnats implements, not tsnats' own version.
 */
export const NATS_VERSION = '2.10.0';
/** Protocol level: 1 = echo control and async INFO. */
export const PROTO = 1;
/** The `go` field: the runtime tsnats runs on (nats-server reports its Go version here). */
export const RUNTIME = `node${process.versions.node}`;

function readOwnVersion(): string {
  try {
    const url = new URL('../../../package.json', import.meta.url);
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** tsnats' own version (package.json), printed by `-v` and the start-up banner. */
export const TSNATS_VERSION = readOwnVersion();

export interface InfoFields {
  server_id: string;
  server_name: string;
  version: string;
  proto: number;
  go: string;
  host: string;
  port: number;
  headers: boolean;
  auth_required?: boolean;
  tls_required?: boolean;
  tls_verify?: boolean;
  tls_available?: boolean;
  max_payload: number;
  client_id?: number;
  client_ip?: string;
  ldm?: boolean;
}

/** Builds the server-wide part of INFO in nats-server's order. */
export function baseInfo(f: {
  serverId: string;
  serverName: string;
  host: string;
  port: number;
  headers: boolean;
  authRequired: boolean;
  tlsRequired: boolean;
  tlsVerify: boolean;
  tlsAvailable: boolean;
  maxPayload: number;
}): InfoFields {
  // Declaration order of nats-server's Info struct; the optional flags sit between headers and
  // max_payload, so max_payload is added last.
  const ordered = {
    server_id: f.serverId,
    server_name: f.serverName,
    version: NATS_VERSION,
    proto: PROTO,
    go: RUNTIME,
    host: f.host,
    port: f.port,
    headers: f.headers,
  } as InfoFields;
  if (f.authRequired) ordered.auth_required = true;
  if (f.tlsRequired) ordered.tls_required = true;
  if (f.tlsVerify) ordered.tls_verify = true;
  if (f.tlsAvailable) ordered.tls_available = true;
  ordered.max_payload = f.maxPayload;
  return ordered;
}

/**
 * Pre-serialised INFO: the JSON of the server-wide fields without its closing brace, so the
 * per-connection frame is one string concatenation.
 */
export class InfoTemplate {
  readonly fields: InfoFields;
  private readonly prefix: string;

  /** Appended after client_id/client_ip (`cluster`, `connect_urls` when clustered). */
  private readonly tail: string;

  constructor(fields: InfoFields, tail = '') {
    this.fields = fields;
    this.tail = tail;
    const json = JSON.stringify(fields);
    this.prefix = json.slice(0, -1);
  }

  /** `INFO {...,"client_id":N,"client_ip":"..."[,"nonce":"..."][,"ldm":true]} \r\n` for one connection. */
  frame(clientId: number, clientIp: string, ldm = false, nonce?: string): Buffer {
    let json = this.prefix;
    if (clientId > 0) json += `,"client_id":${clientId}`;
    if (clientIp) json += `,"client_ip":${JSON.stringify(clientIp)}`;
    if (nonce) json += `,"nonce":"${nonce}"`;
    json += this.tail;
    if (ldm) json += `,"ldm":true`;
    return encodeInfo(json + '}');
  }
}
