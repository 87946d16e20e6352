// Helpers for the `tsnats ocsp` CLI tests: captured io, a PKI whose AIA points at a programmable
// responder, and a URL nothing listens on.

import * as net from 'node:net';
import { runOcspCommand, type OcspCliIo } from '../../src/cli/ocsp.js';
import { createTestPki, startResponder, type TestPki, type TestResponder, type StartResponderOptions } from '../../src/testkit/index.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (throws if it is not exactly one JSON document). */
  json(): any;
}

/** Runs `tsnats ocsp <args>` in-process with captured output. */
export async function run(args: string[], now?: () => number): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const io: OcspCliIo = {
    stdout: { write: (s: string) => ((stdout += s), true) },
    stderr: { write: (s: string) => ((stderr += s), true) },
    ...(now ? { now } : {}),
  };
  const code = await runOcspCommand(args, io);
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}

export interface Env {
  pki: TestPki;
  responder: TestResponder;
  close(): Promise<void>;
}

/** A responder whose URL is in the PKI's AIA, signing as the root (the issuer) by default. */
export async function setup(opts: StartResponderOptions = {}): Promise<Env> {
  const responder = await startResponder(opts);
  const pki = await createTestPki({ ocspUrl: responder.url });
  responder.setIssuer(pki.root);
  return {
    pki,
    responder,
    async close() {
      await responder.close();
      await pki.cleanup();
    },
  };
}

/** `http://127.0.0.1:<port>` of a port that was just free: connections are refused. */
export async function refusedUrl(): Promise<string> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
