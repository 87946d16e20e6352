// Finds (and, as root on Debian, installs) what the benchmark needs besides Node:
//   nats-server                            Debian package `nats-server`
//   go + the official nats.go client       Debian packages `golang-go` and
//                                          `golang-github-nats-io-go-nats-dev` (pulls nkeys, nuid,
//                                          golang.org/x/crypto), built offline in GOPATH mode.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { capture, log, which } from './util.js';

/** Debian's GOPATH for packaged Go sources. */
export const DEBIAN_GOPATH = '/usr/share/gocode';
const NATS_GO_DIR = join(DEBIAN_GOPATH, 'src/github.com/nats-io/nats.go');

export interface Tools {
  natsServer?: string;
  go?: string;
  /** GOPATH that holds github.com/nats-io/nats.go (and its dependencies). */
  gopath?: string;
  /** Why something is missing, for the user. */
  problems: string[];
}

function findGo(): string | undefined {
  return which('go', ['/usr/lib/go/bin', '/usr/local/go/bin']);
}

function findGopath(): string | undefined {
  const candidates = [process.env.BENCH_GOPATH, DEBIAN_GOPATH].filter((x): x is string => !!x);
  for (const gp of candidates) {
    if (existsSync(join(gp, 'src/github.com/nats-io/nats.go/nats.go'))) return gp;
  }
  return undefined;
}

export function findTools(): Tools {
  const t: Tools = { natsServer: which('nats-server'), go: findGo(), gopath: findGopath(), problems: [] };
  if (!t.natsServer) t.problems.push('nats-server not found (Debian: apt-get install nats-server)');
  if (!t.go) t.problems.push('go not found (Debian: apt-get install golang-go)');
  if (!t.gopath) t.problems.push(`nats.go sources not found in ${NATS_GO_DIR} (Debian: apt-get install golang-github-nats-io-go-nats-dev)`);
  return t;
}

function aptInstall(pkgs: string[]): boolean {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...pkgs], { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;
  log(`installing ${pkgs.join(' ')} with apt-get`);
  if (install()) return true;
  log('apt-get install failed; running apt-get update and trying again');
  spawnSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  return install();
}

/**
 * Returns the tools, installing missing Debian packages first when `install` is set, we are root
 * and apt-get exists. Never throws: the caller decides what a missing tool means.
 */
export function ensureTools(install: boolean): Tools {
  let t = findTools();
  if (t.problems.length === 0 || !install) return t;
  const pkgs: string[] = [];
  if (!t.natsServer) pkgs.push('nats-server');
  if (!t.go) pkgs.push('golang-go');
  if (!t.gopath) pkgs.push('golang-github-nats-io-go-nats-dev');
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !which('apt-get')) {
    t.problems.push(
      `cannot install ${pkgs.join(', ')} automatically (${root ? 'no apt-get' : 'not root'}): ` +
        `run \`sudo apt-get install ${pkgs.join(' ')}\` (Debian/Ubuntu) and retry`,
    );
    return t;
  }
  aptInstall(pkgs);
  t = findTools();
  return t;
}

export function natsServerVersion(bin: string): string {
  const v = capture(bin, ['--version']);
  return v ? v.replace(/^nats-server:\s*/, '') : 'unknown';
}

export function goVersion(go: string): string {
  const v = capture(go, ['version']);
  return v ? v.replace(/^go version\s*/, '') : 'unknown';
}
