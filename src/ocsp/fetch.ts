// Fetching OCSP responses over HTTP(S): for each responder URL in order, POST the DER request, and
// if that fails at the HTTP level (or returns something that is not an OCSP response) GET
// `<url>/<url-encoded base64>`. Per-attempt timeout covering connect, head and body; a body size cap
// enforced while streaming (a 100 MB body is never buffered); HTTP status > 299 fails; redirects are
// not followed; one small concurrency cap per responder origin.

import * as http from 'node:http';
import * as https from 'node:https';
import { performance } from 'node:perf_hooks';
import { OcspError, OcspFetchError, type OcspAttempt } from './errors.js';
import { silentLogger, type OcspLogger } from './logger.js';
import { ocspGetUrl } from './request.js';

export const DEFAULT_FETCH_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024;
export const DEFAULT_PER_ORIGIN_CONCURRENCY = 8;

export interface FetchOptions<T> {
  /** Responder URLs, tried in order. Empty → `no available ocsp servers`. */
  urls: readonly string[];
  /** DER OCSPRequest. */
  request: Buffer;
  /** Per HTTP attempt (connect + response head + body). Default 10 s. */
  timeoutMs?: number;
  /** Largest accepted body. Default 256 KiB. */
  maxResponseBytes?: number;
  /** Aborts the whole fetch (ERR_OCSP_ABORTED). */
  signal?: AbortSignal;
  logger?: OcspLogger;
  /**
   * Decides whether a body is acceptable (parse + strict validation); throws an OcspError if not.
   * A refused body moves on to the next URL (after trying GET if the body was not an OCSP response).
   */
  accept: (der: Buffer) => T;
  /** Called after every attempt (for metrics and status). */
  onAttempt?: (attempt: OcspAttempt) => void;
}

export interface FetchResult<T> {
  value: T;
  der: Buffer;
  url: string;
  method: 'POST' | 'GET';
  attempts: OcspAttempt[];
}

/** Raw HTTP outcome of one attempt. */
interface HttpOutcome {
  status: number;
  body: Buffer;
}

// ---------------------------------------------------------------------------------------------
// Per-origin concurrency cap (many certificates refreshing at once must not hammer one responder).

const slots = new Map<string, { active: number; queue: (() => void)[] }>();

async function acquire(origin: string, max: number, signal?: AbortSignal): Promise<() => void> {
  let s = slots.get(origin);
  if (!s) {
    s = { active: 0, queue: [] };
    slots.set(origin, s);
  }
  const slot = s;
  if (slot.active >= max) {
    await new Promise<void>((resolve, reject) => {
      const go = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const i = slot.queue.indexOf(go);
        if (i >= 0) slot.queue.splice(i, 1);
        reject(new OcspFetchError('ERR_OCSP_ABORTED', 'OCSP fetch aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      slot.queue.push(go);
    });
  }
  slot.active++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    slot.active--;
    const next = slot.queue.shift();
    if (next) next();
    else if (slot.active === 0) slots.delete(origin);
  };
}

// ---------------------------------------------------------------------------------------------

function httpAttempt(
  method: 'POST' | 'GET',
  target: URL,
  body: Buffer | undefined,
  reqLen: number,
  timeoutMs: number,
  maxBytes: number,
  signal: AbortSignal | undefined,
): Promise<HttpOutcome> {
  return new Promise<HttpOutcome>((resolve, reject) => {
    const label = `${method} ${target.origin}${target.pathname.length > 64 ? target.pathname.slice(0, 64) + '…' : target.pathname}`;
    let done = false;
    let req: http.ClientRequest | undefined;
    const finish = (err: OcspError | undefined, out?: HttpOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        req?.destroy();
        reject(err);
      } else resolve(out!);
    };
    const timer = setTimeout(
      () => finish(new OcspFetchError('ERR_OCSP_TIMEOUT', `${label}: timeout after ${timeoutMs}ms`)),
      timeoutMs,
    );
    timer.unref();
    const onAbort = (): void => finish(new OcspFetchError('ERR_OCSP_ABORTED', `${label}: aborted`));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    const headers: http.OutgoingHttpHeaders = { Accept: 'application/ocsp-response', Connection: 'close' };
    if (body) {
      headers['Content-Type'] = 'application/ocsp-request';
      headers['Content-Length'] = body.length;
    }
    const mod = target.protocol === 'https:' ? https : http;
    try {
      req = mod.request(target, { method, headers, agent: false });
    } catch (err) {
      return finish(new OcspFetchError('ERR_OCSP_NETWORK', `${label}: ${(err as Error).message}`, [], { cause: err }));
    }
    req.on('error', (err) =>
      finish(new OcspFetchError('ERR_OCSP_NETWORK', `${label}: ${err.message}`, [], { cause: err })),
    );
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status > 299 || status < 200) {
        res.resume();
        return finish(
          new OcspFetchError(
            'ERR_OCSP_HTTP_STATUS',
            `non-ok http status on ${method} request (reqlen=${reqLen}): ${status}`,
            [],
            { httpStatus: status },
          ),
        );
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        return finish(
          new OcspFetchError('ERR_OCSP_TOO_LARGE', `${label}: response of ${declared} bytes exceeds the limit of ${maxBytes} bytes`),
        );
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          finish(new OcspFetchError('ERR_OCSP_TOO_LARGE', `${label}: response exceeds the limit of ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        if (!res.complete) {
          finish(new OcspFetchError('ERR_OCSP_NETWORK', `${label}: connection closed before the response was complete`));
          return;
        }
        finish(undefined, { status, body: Buffer.concat(chunks, size) });
      });
      res.on('aborted', () =>
        finish(new OcspFetchError('ERR_OCSP_NETWORK', `${label}: connection closed before the response was complete`)),
      );
      res.on('error', (err) => finish(new OcspFetchError('ERR_OCSP_NETWORK', `${label}: ${err.message}`, [], { cause: err })));
    });
    req.end(body);
  });
}

function fetchStatus(err: unknown): number | undefined {
  return err instanceof OcspFetchError ? err.httpStatus : undefined;
}

/**
 * Tries every responder in order until one returns a response `accept` takes. Throws an
 * OcspFetchError: `no available ocsp servers`; `exhausted ocsp servers: <POST error>\n<GET error>`
 * (the last URL's errors, as nats-server); or, when the last responder answered but its response
 * was refused, `failed to get remote status: <reason>` with that check's code.
 * Every attempt is listed in `attempts`.
 */
export async function fetchOcspResponse<T>(opts: FetchOptions<T>): Promise<FetchResult<T>> {
  const logger = opts.logger ?? silentLogger;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const attempts: OcspAttempt[] = [];
  if (opts.urls.length === 0) throw new OcspFetchError('ERR_OCSP_NO_RESPONDERS', 'no available ocsp servers');
  const b64Len = opts.request.toString('base64').length;
  let lastErrors: OcspError[] = [];
  let lastRefused: OcspError | undefined;

  for (const rawUrl of opts.urls) {
    lastErrors = [];
    lastRefused = undefined;
    const base = rawUrl.replace(/\/+$/, '');
    let baseUrl: URL;
    try {
      baseUrl = new URL(base);
      if (baseUrl.protocol !== 'http:' && baseUrl.protocol !== 'https:') throw new Error(`unsupported scheme ${baseUrl.protocol}`);
    } catch (err) {
      const e = new OcspFetchError('ERR_OCSP_BAD_URL', `bad OCSP responder URL '${rawUrl}': ${(err as Error).message}`);
      attempts.push({ url: rawUrl, method: 'POST', durationMs: 0, error: e });
      opts.onAttempt?.(attempts[attempts.length - 1]!);
      lastErrors = [e];
      continue;
    }
    for (const method of ['POST', 'GET'] as const) {
      if (opts.signal?.aborted) throw new OcspFetchError('ERR_OCSP_ABORTED', 'OCSP fetch aborted', attempts);
      const target = method === 'POST' ? baseUrl : new URL(ocspGetUrl(base, opts.request));
      const reqLen = method === 'POST' ? opts.request.length : b64Len;
      const release = await acquire(baseUrl.origin, DEFAULT_PER_ORIGIN_CONCURRENCY, opts.signal);
      const started = performance.now();
      let outcome: HttpOutcome | undefined;
      let error: OcspError | undefined;
      try {
        outcome = await httpAttempt(
          method,
          target,
          method === 'POST' ? opts.request : undefined,
          reqLen,
          timeoutMs,
          maxBytes,
          opts.signal,
        );
      } catch (err) {
        error = err instanceof OcspError ? err : new OcspFetchError('ERR_OCSP_NETWORK', String(err));
      } finally {
        release();
      }
      const durationMs = performance.now() - started;
      const httpStatus = outcome?.status ?? fetchStatus(error);
      if (httpStatus !== undefined) {
        logger.debug(
          `Received OCSP response (method=${method}, status=${httpStatus}, url=${base}, duration=${(durationMs / 1000).toFixed(3)}s)`,
        );
      } else if (error) {
        logger.debug(`OCSP request failed (method=${method}, url=${base}, duration=${(durationMs / 1000).toFixed(3)}s): ${error.message}`);
      }
      if (error?.code === 'ERR_OCSP_ABORTED') {
        attempts.push({ url: base, method, durationMs, error });
        throw new OcspFetchError('ERR_OCSP_ABORTED', 'OCSP fetch aborted', attempts);
      }
      let value: T | undefined;
      let accepted = false;
      if (outcome) {
        try {
          value = opts.accept(outcome.body);
          accepted = true;
        } catch (err) {
          error = err instanceof OcspError ? err : new OcspFetchError('ERR_OCSP_MALFORMED', String(err));
        }
      }
      const attempt: OcspAttempt = { url: base, method, httpStatus, durationMs, ...(error ? { error } : {}) };
      attempts.push(attempt);
      opts.onAttempt?.(attempt);
      if (accepted) return { value: value as T, der: outcome!.body, url: base, method, attempts };
      lastErrors.push(error!);
      // The responder answered with a real OCSP response that we refused: GET would get the same.
      if (outcome && error!.code !== 'ERR_OCSP_MALFORMED') {
        lastRefused = error;
        break;
      }
    }
  }
  if (lastRefused) {
    throw new OcspFetchError(lastRefused.code, `failed to get remote status: ${lastRefused.message}`, attempts, {
      cause: lastRefused,
    });
  }
  const exhausted = lastErrors.map((e) => (e.code === 'ERR_OCSP_MALFORMED' ? `failed to get remote status: ${e.message}` : e.message));
  throw new OcspFetchError('ERR_OCSP_EXHAUSTED', `exhausted ocsp servers: ${exhausted.join('\n')}`, attempts, {
    cause: lastErrors[lastErrors.length - 1],
  });
}
