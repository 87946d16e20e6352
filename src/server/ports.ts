// The pid file and the ports file (`<exe>_<pid>.ports` in `ports_file_dir`), as nats-server
// writes them; test launchers (e.g. nats.js' nst) poll for the ports file.

import { unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface PortsInfo {
  nats: string[];
  monitoring?: string[];
  cluster?: string[];
  profile?: string[];
  websocket?: string[];
  leafnodes?: string[];
}

/** The executable name nats-server uses for the ports file: basename of argv[0] (here: the script). */
export function exeNameFromArgv(argv: readonly string[] = process.argv): string {
  const script = argv[1];
  if (!script) return 'tsnats';
  return basename(script).replace(/\.(c|m)?js$/, '');
}

/** Writes the ports file; returns its path. */
export function writePortsFile(dir: string, exeName: string, info: PortsInfo): string {
  const path = join(dir, `${exeName}_${process.pid}.ports`);
  writeFileSync(path, JSON.stringify(info));
  return path;
}

export function removePortsFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

/** Writes the process id (no newline, as nats-server). */
export function writePidFile(path: string): void {
  writeFileSync(path, String(process.pid));
}

export function removePidFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}
