// The URL account resolver against a small HTTP account server (nsc's account server layout,
// `<url>/<account public key>`), tsnats vs nats-server 2.9.10: a .creds login fetches the account
// once (later logins use the registered account), an account the server does not know (404) and
// an account server that never answers (2 s fetch timeout) are refused, and tsnats keeps serving
// other connections while a fetch is pending.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { createAccount } from '@nats-io/nkeys';
import { SKIP_NATS_SERVER, startNatsServer, startTsnats, type Running, type TargetName } from '../wire/harness.js';
import { account, operator, outcome, rawJwt, user } from './fixtures.js';

const TARGETS: TargetName[] = ['tsnats', 'nats-server'];

interface AccountServer {
  url: string;
  hits: string[];
  hang: boolean;
  close(): Promise<void>;
}

async function accountServer(jwts: Map<string, string>, tls?: { cert: Buffer; key: Buffer }): Promise<AccountServer> {
  const hits: string[] = [];
  const st = { hang: false };
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
    hits.push(req.url ?? '');
    if (st.hang) return; // never answers
    const key = (req.url ?? '').split('/').pop() ?? '';
    if (key === '') {
      res.writeHead(200).end(); // the server's start-up check of the base URL
      return;
    }
    const j = jwts.get(key);
    if (j === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/jwt' }).end(j);
  };
  const srv: Server = tls ? createHttpsServer(tls, handler) : createServer(handler);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/jwt/v1/accounts/`,
    hits,
    get hang() {
      return st.hang;
    },
    set hang(v: boolean) {
      st.hang = v;
    },
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

function start(name: TargetName, conf: string): Promise<Running> {
  return name === 'tsnats' ? startTsnats(`debug: true\n${conf}`) : startNatsServer(`debug: true\n${conf}`);
}

describe('URL account resolver (tsnats vs nats-server)', () => {
  for (const name of TARGETS) {
    it(`fetch on first login, kept for later logins; unknown and hanging account servers refused [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 30000 }, async () => {
      const op = await operator();
      const a = await account(op.kp);
      const b = await account(op.kp);
      const u = await user(a.kp);
      const ub = await user(b.kp);
      const stranger = await user(createAccount());
      const as = await accountServer(new Map([[a.pub, a.jwt], [b.pub, b.jwt]]));
      const srv = await start(name, `operator: "${op.jwt}"\nresolver: URL(${as.url})\n`);
      try {
        for (let i = 0; i < 3; i++) {
          const nc = await connect({ port: srv.port, authenticator: credsAuthenticator(u.creds), reconnect: false });
          const sub = nc.subscribe('x', { max: 1 });
          nc.publish('x', 'y');
          for await (const m of sub) assert.equal(m.string(), 'y');
          await nc.close();
        }
        assert.equal(as.hits.filter((h) => h.endsWith(a.pub)).length, 1, `one fetch of the account: ${JSON.stringify(as.hits)}`);
        assert.ok(as.hits.includes('/jwt/v1/accounts/'), 'the base URL is checked at start');
        const c = await rawJwt(srv.port, stranger);
        assert.match(await outcome(c), /^-ERR 'Authorization Violation'/);
        c.close();
        // A hanging account server: the login waits for the 2 s fetch timeout and is refused;
        // meanwhile a user of an already known account logs in at once.
        as.hang = true;
        const t0 = Date.now();
        const slow = await rawJwt(srv.port, ub);
        const fast = await rawJwt(srv.port, u);
        assert.match(await outcome(fast, 1500), /PONG/);
        assert.ok(Date.now() - t0 < 1500, 'a known account logs in while another account is being fetched');
        fast.close();
        assert.match(await outcome(slow, 5000), /^-ERR 'Authorization Violation'/);
        assert.ok(Date.now() - t0 >= 1900, `refused after the fetch timeout (${Date.now() - t0} ms)`);
        slow.close();
      } finally {
        await srv.stop();
        await as.close();
      }
    });

    it(`https account server with resolver_tls (CA) [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 30000 }, async () => {
      const { createTestPki } = await import('../../src/testkit/index.js');
      const pki = await createTestPki({ ocspUrl: 'http://127.0.0.1:9' });
      const op = await operator();
      const a = await account(op.kp);
      const u = await user(a.kp);
      const as = await accountServer(new Map([[a.pub, a.jwt]]), { cert: readFileSync(pki.server.certFile), key: readFileSync(pki.server.keyFile) });
      try {
        const srv = await start(name, `operator: "${op.jwt}"\nresolver: URL(${as.url})\nresolver_tls { ca_file: "${pki.caFile}" }\n`);
        try {
          const nc = await connect({ port: srv.port, authenticator: credsAuthenticator(u.creds), reconnect: false });
          await nc.flush();
          await nc.close();
          assert.equal(as.hits.filter((h) => h.endsWith(a.pub)).length, 1);
        } finally {
          await srv.stop();
        }
        // Without the CA the account server's certificate is not trusted: the start-up check fails.
        await assert.rejects(start(name, `operator: "${op.jwt}"\nresolver: URL(${as.url})\n`), /could not fetch/);
      } finally {
        await as.close();
        await pki.cleanup();
      }
    });

    it(`an account server that is down stops the start [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 30000 }, async () => {
      const op = await operator();
      const as = await accountServer(new Map());
      const url = as.url;
      await as.close();
      await assert.rejects(start(name, `operator: "${op.jwt}"\nresolver: URL(${url})\n`), /could not fetch/);
    });
  }
});
