// The official JavaScript client's own operator-mode authentication tests (nats.js
// core/tests/auth_test.ts: "auth - creds", "auth - custom", "auth - jwt", "auth - expiration is
// notified"), replayed with the same configurations against tsnats and nats-server 2.9.10. The
// operator, account and user JWTs of the first three are the client suite's fixed v1-format JWTs
// (no `version` field, 2018 issue dates, operator expiring in 2028), so this also checks that
// tsnats reads JWTs in the older format as nats-server does.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, credsAuthenticator, jwtAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { encodeAccount, encodeOperator, encodeUser } from '@nats-io/jwt';
import { createAccount, createOperator, createUser, fromSeed } from '@nats-io/nkeys';
import { SKIP_NATS_SERVER, startNatsServer, startTsnats, type Running, type TargetName } from '../wire/harness.js';

const TARGETS: TargetName[] = ['tsnats', 'nats-server'];

const OPERATOR_JWT =
  'eyJ0eXAiOiJqd3QiLCJhbGciOiJlZDI1NTE5In0.eyJhdWQiOiJURVNUUyIsImV4cCI6MTg1OTEyMTI3NSwianRpIjoiWE5MWjZYWVBIVE1ESlFSTlFPSFVPSlFHV0NVN01JNVc1SlhDWk5YQllVS0VRVzY3STI1USIsImlhdCI6MTU0Mzc2MTI3NSwiaXNzIjoiT0NBVDMzTVRWVTJWVU9JTUdOR1VOWEo2NkFIMlJMU0RBRjNNVUJDWUFZNVFNSUw2NU5RTTZYUUciLCJuYW1lIjoiU3luYWRpYSBDb21tdW5pY2F0aW9ucyBJbmMuIiwibmJmIjoxNTQzNzYxMjc1LCJzdWIiOiJPQ0FUMzNNVFZVMlZVT0lNR05HVU5YSjY2QUgyUkxTREFGM01VQkNZQVk1UU1JTDY1TlFNNlhRRyIsInR5cGUiOiJvcGVyYXRvciIsIm5hdHMiOnsic2lnbmluZ19rZXlzIjpbIk9EU0tSN01ZRlFaNU1NQUo2RlBNRUVUQ1RFM1JJSE9GTFRZUEpSTUFWVk40T0xWMllZQU1IQ0FDIiwiT0RTS0FDU1JCV1A1MzdEWkRSVko2NTdKT0lHT1BPUTZLRzdUNEhONk9LNEY2SUVDR1hEQUhOUDIiLCJPRFNLSTM2TFpCNDRPWTVJVkNSNlA1MkZaSlpZTVlXWlZXTlVEVExFWjVUSzJQTjNPRU1SVEFCUiJdfX0.hyfz6E39BMUh0GLzovFfk3wT4OfualftjdJ_eYkLfPvu5tZubYQ_Pn9oFYGCV_6yKy3KMGhWGUCyCdHaPhalBw';
const ACCOUNT_PUB = 'ACZSWBJ4SYILK7QVDELO64VX3EFWB6CXCPMEBUKA36MJJQRPXGEEQ2WJ';
const ACCOUNT_JWT =
  'eyJ0eXAiOiJqd3QiLCJhbGciOiJlZDI1NTE5In0.eyJqdGkiOiJXVFdYVDNCT1JWSFNLQkc2T0pIVVdFQ01QRVdBNldZVEhNRzVEWkJBUUo1TUtGU1dHM1FRIiwiaWF0IjoxNTQ0MjE3NzU3LCJpc3MiOiJPQ0FUMzNNVFZVMlZVT0lNR05HVU5YSjY2QUgyUkxTREFGM01VQkNZQVk1UU1JTDY1TlFNNlhRRyIsInN1YiI6IkFDWlNXQko0U1lJTEs3UVZERUxPNjRWWDNFRldCNkNYQ1BNRUJVS0EzNk1KSlFSUFhHRUVRMldKIiwidHlwZSI6ImFjY291bnQiLCJuYXRzIjp7ImxpbWl0cyI6eyJzdWJzIjotMSwiY29ubiI6LTEsImltcG9ydHMiOi0xLCJleHBvcnRzIjotMSwiZGF0YSI6LTEsInBheWxvYWQiOi0xLCJ3aWxkY2FyZHMiOnRydWV9fX0.q-E7bBGTU0uoTmM9Vn7WaEHDzCUrqvPDb9mPMQbry_PNzVAjf0RG9vd15lGxW5lu7CuGVqpj4CYKhNDHluIJAg';
const USER_JWT =
  'eyJ0eXAiOiJqd3QiLCJhbGciOiJlZDI1NTE5In0.eyJqdGkiOiJFU1VQS1NSNFhGR0pLN0FHUk5ZRjc0STVQNTZHMkFGWERYQ01CUUdHSklKUEVNUVhMSDJBIiwiaWF0IjoxNTQ0MjE3NzU3LCJpc3MiOiJBQ1pTV0JKNFNZSUxLN1FWREVMTzY0VlgzRUZXQjZDWENQTUVCVUtBMzZNSkpRUlBYR0VFUTJXSiIsInN1YiI6IlVBSDQyVUc2UFY1NTJQNVNXTFdUQlAzSDNTNUJIQVZDTzJJRUtFWFVBTkpYUjc1SjYzUlE1V002IiwidHlwZSI6InVzZXIiLCJuYXRzIjp7InB1YiI6e30sInN1YiI6e319fQ.kCR9Erm9zzux4G6M-V2bp7wKMKgnSNqMBACX05nwePRWQa37aO_yObbhcJWFGYjo1Ix-oepOkoyVLxOJeuD8Bw';
const USER_SEED = 'SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4';

const CONF = `operator: "${OPERATOR_JWT}"\nresolver: MEMORY\nresolver_preload: {\n  ${ACCOUNT_PUB}: "${ACCOUNT_JWT}"\n}\n`;

const CREDS = `-----BEGIN NATS USER JWT-----
    ${USER_JWT}
  ------END NATS USER JWT------

************************* IMPORTANT *************************
  NKEY Seed printed below can be used sign and prove identity.
    NKEYs are sensitive and should be treated as secrets.

  -----BEGIN USER NKEY SEED-----
    ${USER_SEED}
  ------END USER NKEY SEED------
`;

function scenario(title: string, conf: () => Promise<string> | string, body: (srv: Running) => Promise<void>, timeout = 20000): void {
  for (const name of TARGETS) {
    it(`${title} [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout }, async () => {
      const c = await conf();
      const srv = name === 'tsnats' ? await startTsnats(c) : await startNatsServer(c);
      try {
        await body(srv);
      } finally {
        await srv.stop();
      }
    });
  }
}

async function roundTrip(nc: NatsConnection): Promise<void> {
  const got = new Promise<string>((r) => nc.subscribe('rt', { max: 1, callback: (_e, m) => r(m.string()) }));
  nc.publish('rt', 'hello');
  assert.equal(await got, 'hello');
  await nc.close();
}

describe('nats.js auth tests in operator mode (v1 JWTs of the client suite)', () => {
  scenario('auth - creds', () => CONF, async (srv) => {
    await roundTrip(await connect({ port: srv.port, reconnect: false, authenticator: credsAuthenticator(new TextEncoder().encode(CREDS)) }));
  });

  scenario('auth - custom authenticator (nkey, sig, jwt)', () => CONF, async (srv) => {
    const authenticator = (nonce?: string) => {
      const kp = fromSeed(new TextEncoder().encode(USER_SEED));
      const sig = Buffer.from(kp.sign(new TextEncoder().encode(nonce))).toString('base64url');
      return { nkey: kp.getPublicKey(), sig, jwt: USER_JWT };
    };
    await roundTrip(await connect({ port: srv.port, reconnect: false, authenticator }));
  });

  scenario('auth - jwt (static and from a function)', () => CONF, async (srv) => {
    const seed = new TextEncoder().encode(USER_SEED);
    await roundTrip(await connect({ port: srv.port, reconnect: false, authenticator: jwtAuthenticator(USER_JWT, seed) }));
    await roundTrip(await connect({ port: srv.port, reconnect: false, authenticator: jwtAuthenticator(() => USER_JWT, seed) }));
  });

  const O = createOperator();
  const A = createAccount();
  scenario(
    'auth - expiration is notified (bearer user JWT expiring in 3 s)',
    async () => {
      const acc = await encodeAccount('A', A, { limits: { conn: -1, subs: -1 } } as never, { signer: O });
      return `operator: "${await encodeOperator('O', O)}"\nresolver: MEMORY\nresolver_preload: {\n  ${A.getPublicKey()}: "${acc}"\n}\n`;
    },
    async (srv) => {
      const ujwt = await encodeUser('U', createUser(), A, { bearer_token: true } as never, { exp: Math.round(Date.now() / 1000) + 3 });
      const nc = await connect({ port: srv.port, reconnect: false, authenticator: jwtAuthenticator(ujwt) });
      let expired = 0;
      (async () => {
        for await (const s of nc.status()) {
          if (s.type === 'error' && /expired/i.test(String((s as { error?: Error }).error?.message ?? ''))) expired++;
        }
      })().catch(() => undefined);
      const err = await nc.closed();
      assert.ok(err, 'closed with an error');
      assert.match(String(err.message) + String((err as { cause?: Error }).cause?.message ?? ''), /expired/i);
      assert.ok(expired >= 1, 'the client was told (status error)');
      // (The client suite reconnects forever and ends on the expiry error because it aborts on a
      // repeated auth error; a reconnect with the expired JWT is refused as Authorization Violation
      // by nats-server 2.9.10 and tsnats alike.)
    },
  );
});
