// A bare NATS client over TLS that asks for an OCSP staple: read the plaintext INFO line, upgrade
// with `tls.connect({ requestOCSP: true })` (TLS status_request), keep what the server stapled and
// the certificate it presented, then speak a little NATS protocol on the same connection.

import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';

export interface StapledConnection {
  /** The server's INFO (sent in plaintext before the TLS upgrade). */
  info: Record<string, unknown>;
  socket: TLSSocket;
  /** The stapled OCSP response, or undefined when the server sent none. */
  staple: Buffer | undefined;
  /** DER of the certificate the server presented in this handshake. */
  peerCertDer: Buffer;
  protocol: string;
  cipher: string;
  /** Reads the next protocol line (without CRLF). */
  readLine(timeoutMs?: number): Promise<string>;
  send(s: string): void;
  close(): void;
}

/** Line reader over a socket's `data` events; `detach()` stops listening. */
function lineReader(sock: Socket | TLSSocket): { next(timeoutMs: number): Promise<string>; detach(): void } {
  let buf = Buffer.alloc(0);
  let waiter: ((err?: Error) => void) | undefined;
  let ended: Error | undefined;
  const onData = (d: Buffer): void => {
    buf = Buffer.concat([buf, d]);
    waiter?.();
  };
  const onEnd = (): void => {
    ended = new Error('connection closed by the server');
    waiter?.(ended);
  };
  const onError = (err: Error): void => {
    ended = err;
    waiter?.(err);
  };
  sock.on('data', onData);
  sock.on('end', onEnd);
  sock.on('close', onEnd);
  sock.on('error', onError);
  return {
    next(timeoutMs: number): Promise<string> {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          waiter = undefined;
          reject(new Error(`no reply from the server within ${timeoutMs / 1000}s`));
        }, timeoutMs);
        const check = (err?: Error): void => {
          const i = buf.indexOf('\r\n');
          if (i >= 0) {
            const line = buf.subarray(0, i).toString('utf8');
            buf = buf.subarray(i + 2);
            clearTimeout(t);
            waiter = undefined;
            resolve(line);
          } else if (err ?? ended) {
            clearTimeout(t);
            waiter = undefined;
            reject(err ?? ended);
          }
        };
        waiter = check;
        check();
      });
    },
    detach(): void {
      sock.off('data', onData);
      sock.off('end', onEnd);
      sock.off('close', onEnd);
      sock.off('error', onError);
    },
  };
}

/**
 * Connects like a NATS client (INFO first, then TLS) and requests an OCSP staple. Verifies the
 * chain against `ca` and the name `localhost`, so a staple is only reported for a trusted server.
 */
export async function connectRequestingStaple(host: string, port: number, ca: string, timeoutMs = 5000): Promise<StapledConnection> {
  const raw = netConnect({ host, port });
  try {
    await new Promise<void>((resolve, reject) => {
      raw.once('connect', resolve);
      raw.once('error', reject);
    });
    const plain = lineReader(raw);
    const infoLine = await plain.next(timeoutMs);
    plain.detach();
    if (!infoLine.startsWith('INFO ')) throw new Error(`expected INFO from the server, got ${JSON.stringify(infoLine.slice(0, 60))}`);
    const info = JSON.parse(infoLine.slice(5)) as Record<string, unknown>;

    let staple: Buffer | undefined;
    // requestOCSP is a TLSSocket option that @types/node leaves out of ConnectionOptions.
    const opts = { socket: raw, servername: 'localhost', ca, requestOCSP: true, rejectUnauthorized: true };
    const socket = tlsConnect(opts as ConnectionOptions);
    // Emitted during the handshake, before 'secureConnect': a Buffer, or null without a staple.
    socket.on('OCSPResponse', (resp: Buffer | null) => {
      staple = resp && resp.length > 0 ? Buffer.from(resp) : undefined;
    });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`TLS handshake did not finish within ${timeoutMs / 1000}s`)), timeoutMs);
      socket.once('secureConnect', () => {
        clearTimeout(t);
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(t);
        reject(new Error(`TLS handshake failed: ${err.message}`));
      });
    });
    const reader = lineReader(socket);
    const cipher = socket.getCipher();
    return {
      info,
      socket,
      staple,
      peerCertDer: socket.getPeerCertificate(false).raw,
      protocol: socket.getProtocol() ?? '?',
      cipher: cipher.standardName ?? cipher.name,
      readLine: (ms = timeoutMs) => reader.next(ms),
      send: (s: string) => void socket.write(s),
      close: () => {
        reader.detach();
        socket.destroy();
      },
    };
  } catch (err) {
    raw.destroy();
    throw err;
  }
}

/** Sends CONNECT + PING and waits for PONG (skipping PINGs/INFOs). Returns the reply seen. */
export async function handshakeNats(c: StapledConnection, name: string): Promise<string> {
  c.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, tls_required: true, name, lang: 'node', version: 'demo', protocol: 1 })}\r\nPING\r\n`);
  for (;;) {
    const l = await c.readLine();
    if (l === 'PONG') return l;
    if (l.startsWith('-ERR')) throw new Error(`server refused the connection: ${l}`);
    if (l === 'PING') c.send('PONG\r\n');
  }
}

/** Subscribes, publishes one message to itself and waits for it, on a raw connection. */
export async function rawPubSub(c: StapledConnection, subject: string, payload: string): Promise<string> {
  const body = Buffer.from(payload, 'utf8');
  c.send(`SUB ${subject} 1\r\nPUB ${subject} ${body.length}\r\n${payload}\r\n`);
  for (;;) {
    const l = await c.readLine();
    if (l.startsWith('MSG ')) {
      const data = await c.readLine();
      return data;
    }
    if (l.startsWith('-ERR')) throw new Error(`server error: ${l}`);
    if (l === 'PING') c.send('PONG\r\n');
  }
}
