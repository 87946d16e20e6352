// `host: 0.0.0.0` (and the default host) listens on every interface, IPv4 and IPv6, as
// nats-server does (Go's dual-stack `*:port`): a client reaches the server over 127.0.0.1 and over
// ::1, on the client port and on the monitoring port. Same scenario against nats-server.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { describe, it } from 'node:test';
import { SKIP_NATS_SERVER, startTarget, type TargetName } from './harness.js';

const HAS_V6_LOOPBACK = Object.values(networkInterfaces()).some((l) => (l ?? []).some((a) => a.address === '::1'));

function greets(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no INFO from ${host}:${port}`));
    }, 3000);
    s.once('data', (d: Buffer) => {
      clearTimeout(t);
      s.destroy();
      resolve(d.toString('latin1').slice(0, 5));
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

function httpStatus(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request({ host, port, path: '/varz', timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    r.on('error', reject);
    r.end();
  });
}

for (const name of ['tsnats', 'nats-server'] as TargetName[]) {
  describe(`host 0.0.0.0 listens on IPv4 and IPv6 [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false }, () => {
    it('client and monitoring ports answer on 127.0.0.1 and ::1; log lines as nats-server', { timeout: 15000 }, async () => {
      const srv = await startTarget(name, 'host: 0.0.0.0\nhttp_port: -1');
      try {
        const mport = Number(new URL(srv.monitor!).port);
        assert.equal(await greets('127.0.0.1', srv.port), 'INFO ');
        assert.equal(await httpStatus('127.0.0.1', mport), 200);
        if (HAS_V6_LOOPBACK) {
          assert.equal(await greets('::1', srv.port), 'INFO ');
          assert.equal(await httpStatus('::1', mport), 200);
        }
        assert.match(srv.log(), new RegExp(`\\[INF\\] Listening for client connections on 0\\.0\\.0\\.0:${srv.port}\\n`));
        assert.match(srv.log(), new RegExp(`\\[INF\\] Starting http monitor on 0\\.0\\.0\\.0:${mport}\\n`));
      } finally {
        await srv.stop();
      }
    });
  });
}
