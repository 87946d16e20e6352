// Where a listener binds, as nats-server does: Go's `net.Listen("tcp", "0.0.0.0:port")` (and the
// default host) listens on every interface, IPv4 and IPv6, through one dual-stack socket. In Node
// that is `listen()` without a host: `::` with IPv6-only off when the machine has IPv6, `0.0.0.0`
// when it has none. Every listener (client, monitoring, and the others) goes through this.

/** The `host` to pass to `server.listen()` for a configured host (undefined: every interface). */
export function bindHost(host: string | undefined): string | undefined {
  if (host === undefined || host === '' || host === '0.0.0.0') return undefined;
  return host;
}

/** Options for `server.listen()`: every interface (dual-stack) for a wildcard host. */
export function listenOptions(host: string | undefined, port: number): { host?: string; port: number; ipv6Only?: boolean } {
  const h = bindHost(host);
  if (h === undefined) return { port };
  if (h === '::' || h === '[::]') return { host: '::', port, ipv6Only: false };
  return { host: h, port };
}
