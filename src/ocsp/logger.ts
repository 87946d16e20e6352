// The engine's logger interface: any object with these methods (the server's logger, console, pino
// with a small adapter). `notice` is preferred for nats-server's Notice lines, else `info`.

export interface OcspLogger {
  debug(msg: string): void;
  notice?(msg: string): void;
  info?(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export const silentLogger: OcspLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

export function notice(logger: OcspLogger, msg: string): void {
  if (logger.notice) logger.notice(msg);
  else if (logger.info) logger.info(msg);
}
