// JetStream for tsnats: loaded (dynamic import) only when the configuration enables it.
// The server talks to it through JsPort (port.ts); it imports nothing from src/server/.

import { JetStream, type JetStreamOptions } from './engine.js';
import type { JsPort } from './port.js';

export type { JsPort, MsgHandler, InternalSub } from './port.js';
export { JetStream, type JetStreamOptions } from './engine.js';

/** Starts the engine: directories, start-up log, recovery, API subscriptions. */
export async function startJetStream(port: JsPort, opts: JetStreamOptions): Promise<JetStream> {
  const js = new JetStream(port, opts);
  await js.start();
  return js;
}
