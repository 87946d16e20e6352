// Readiness as JetStream sees it: the first successful `$JS.API.STREAM.INFO.<stream>` reply, over a
// raw client connection (no client library in the timing path). Polled every few ms from the
// moment the server process is exec'd, so restart time = exec → JetStream answers for the stream.
import { connect } from 'node:net';
import { sleep } from './util.js';

/** One attempt: connect, ask STREAM.INFO, resolve with the reply's JSON (or undefined). */
function streamInfoOnce(port: number, stream: string, waitMs: number): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let sent = false;
    const done = (v: Record<string, unknown> | undefined) => {
      clearTimeout(t);
      sock.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(undefined), waitMs);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const text = buf.toString('latin1');
      if (!sent && text.startsWith('INFO ') && text.includes('\r\n')) {
        sent = true;
        sock.write(`CONNECT {"verbose":false,"pedantic":false,"headers":false,"lang":"bench","version":"0"}\r\nSUB _R.jsready 1\r\nPUB $JS.API.STREAM.INFO.${stream} _R.jsready 0\r\n\r\n`);
      }
      const m = /MSG _R\.jsready 1 (\d+)\r\n/.exec(text);
      if (m) {
        const start = m.index + m[0].length;
        const len = Number(m[1]);
        if (buf.length >= start + len) {
          try {
            done(JSON.parse(buf.subarray(start, start + len).toString('utf8')) as Record<string, unknown>);
          } catch {
            done(undefined);
          }
        }
      }
    });
    sock.on('error', () => done(undefined));
    sock.on('close', () => done(undefined));
  });
}

/** A `ready` check for startServer: true once STREAM.INFO for `stream` answers without an error. */
export function streamInfoReady(stream: string, onReply?: (info: Record<string, unknown>) => void) {
  return async (port: number, timeoutMs: number, alive: () => boolean): Promise<boolean> => {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until && alive()) {
      const r = await streamInfoOnce(port, stream, 1000);
      if (r && !('error' in r)) {
        onReply?.(r);
        return true;
      }
      await sleep(r ? 20 : 5);
    }
    return false;
  };
}
