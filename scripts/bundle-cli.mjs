#!/usr/bin/env node
// Single-file build of the `tsnats` command (issue 15, start-up time): the compiled ESM modules
// under dist/src that the CLI reaches are turned into CommonJS (TypeScript's own transform, so
// live bindings and import cycles keep working) and put into one file, dist/tsnats-cli.cjs, with
// a tiny module registry. Node then reads and compiles one file synchronously instead of
// resolving and loading ~35 ES modules one by one (about 0.5 ms each).
//
//   dist/tsnats-cli.cjs        what every server loads (modules reached by static imports)
//   dist/tsnats-cli-lazy.cjs   modules reached only through dynamic import() (OCSP engine,
//                              monitoring endpoints, metrics, the ocsp tooling), loaded on first use
//   dist/tsnats-cli.json       size of every input file and of the two bundles, and the build time
//   dist/tsnats-cli.v8cache    V8 code cache of the bundle after a start (compiled functions)
//
// bin/tsnats uses the bundle only when no input file changed size or was written after the bundle
// (so a `tsc` run without this script never runs stale code: it falls back to dist/src/cli.js). npm packages stay outside:
// static imports of them are require()d, dynamic ones import()ed, from the module's own folder.
// `npm run build` runs this after tsc.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, posix, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(process.argv[2] ?? '.');
const dist = join(root, 'dist');
const ENTRY = 'src/cli.js';

// Without a manifest bin/tsnats runs the modules: remove it first, so a failure below (or an
// interrupted run) never leaves a bundle that does not match the compiled files.
rmSync(join(dist, 'tsnats-cli.json'), { force: true });

/** Gives up on the bundle without failing the build: bin/tsnats then runs dist/src/cli.js. */
function giveUp(e) {
  process.stderr.write(`bundle: not made, the tsnats command will load the modules: ${e.message ?? e}\n`);
  process.exit(0);
}

const STATIC_RE = /^\s*(?:import|export)\s[^;]*?\sfrom\s*(['"])([^'"]+)\1/gm;
const BARE_RE = /^\s*import\s*(['"])([^'"]+)\1/gm;
const DYNAMIC_RE = /\bimport\(\s*(['"])([^'"]+)\1\s*\)/g;

const isRelative = (s) => s.startsWith('./') || s.startsWith('../');

function deps(id) {
  const code = readFileSync(join(dist, id), 'utf8');
  const stat = [];
  const dyn = [];
  const pkgs = [];
  for (const re of [STATIC_RE, BARE_RE]) {
    for (const m of code.matchAll(re)) {
      if (isRelative(m[2])) stat.push(posix.join(posix.dirname(id), m[2]));
      else if (!m[2].startsWith('node:')) pkgs.push(m[2]);
    }
  }
  for (const m of code.matchAll(DYNAMIC_RE)) if (isRelative(m[2])) dyn.push(posix.join(posix.dirname(id), m[2]));
  return { code, stat, dyn, pkgs };
}

/**
 * A package a bundled module imports statically is require()d: it must have a CommonJS entry
 * (Node 20 cannot require() an ES module). Throws otherwise, and the bundle is not made.
 */
function checkRequirable(id, spec) {
  const req = createRequire(join(dist, id));
  let file;
  try {
    file = req.resolve(spec);
  } catch (e) {
    throw new Error(`${id} imports ${spec}, which has no CommonJS entry (${e.code ?? e.message})`);
  }
  if (file.endsWith('.mjs')) throw new Error(`${id} imports ${spec}, an ES module (${file})`);
  if (file.endsWith('.js')) {
    // The nearest package.json decides .js files.
    for (let d = dirname(file); d !== dirname(d); d = dirname(d)) {
      if (!existsSync(join(d, 'package.json'))) continue;
      if (JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')).type === 'module') throw new Error(`${id} imports ${spec}, an ES module (${file})`);
      break;
    }
  }
}

// Core: the static closure of the entry. Lazy: what dynamic imports reach, minus the core.
const info = new Map();
function closure(starts, into) {
  const todo = [...starts];
  while (todo.length) {
    const id = todo.pop();
    if (into.has(id)) continue;
    into.add(id);
    const d = info.get(id) ?? deps(id);
    info.set(id, d);
    todo.push(...d.stat);
  }
}
const core = new Set();
const lazy = new Set();
try {
  closure([ENTRY], core);
  for (;;) {
    const dynStarts = [...core, ...lazy].flatMap((id) => info.get(id).dyn).filter((id) => !core.has(id) && !lazy.has(id));
    if (dynStarts.length === 0) break;
    const add = new Set();
    closure(dynStarts, add);
    for (const id of add) if (!core.has(id)) lazy.add(id);
  }
} catch (e) {
  giveUp(e);
}

function transform(id) {
  for (const spec of info.get(id).pkgs) checkRequirable(id, spec);
  let code = info.get(id).code;
  if (/^await\s/m.test(code)) throw new Error(`${id}: top-level await cannot be bundled`);
  code = code.replace(/\bimport\.meta\.url\b/g, '__meta_url');
  // Dynamic imports of npm packages stay real import()s (ESM-only packages, default-export interop).
  code = code.replace(DYNAMIC_RE, (all, q, spec) => (isRelative(spec) || spec.startsWith('node:') ? all : `__dyn_import(${q}${spec}${q})`));
  const out = ts.transpileModule(code, {
    fileName: id,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, allowJs: true, sourceMap: false, removeComments: true },
  });
  const extra = /\b__meta_url\b|\b__dyn_import\b/.test(out.outputText) ? ', __meta_url, __dyn_import' : '';
  return `${JSON.stringify(id)}: function (exports, require, module${extra}) {\n${out.outputText}\n},`;
}

const manifest = {};
for (const id of [...core, ...lazy]) manifest[id] = statSync(join(dist, id)).size;

const header = `'use strict';
// Generated by scripts/bundle-cli.mjs from dist/src (do not edit): the tsnats command in one file.
const { createRequire } = require('node:module');
const { pathToFileURL } = require('node:url');
const path = require('node:path');
`;
const registry = `
const defs = Object.create(null);
const cache = Object.create(null);
let lazyLoaded = false;
const dynImport = (spec) => import(spec);
const loadedIds = [];
globalThis[Symbol.for('tsnats.bundle.modules')] = loadedIds;
function load(id) {
  const hit = cache[id];
  if (hit) return hit.exports;
  let def = defs[id];
  if (!def && !lazyLoaded) {
    lazyLoaded = true;
    Object.assign(defs, require('./tsnats-cli-lazy.cjs'));
    def = defs[id];
  }
  if (!def) throw new Error('tsnats bundle: no module ' + id);
  const module = { exports: {} };
  cache[id] = module;
  loadedIds.push(id);
  const file = () => path.join(__dirname, id);
  const dir = path.posix.dirname(id);
  let nodeRequire;
  const req = (spec) =>
    spec.startsWith('./') || spec.startsWith('../')
      ? load(path.posix.join(dir, spec))
      : spec.startsWith('node:')
        ? require(spec)
        : (nodeRequire ??= createRequire(file()))(spec);
  // Packages resolve the same from dist/ as from dist/src/... (one package, one node_modules).
  def.call(module.exports, module.exports, req, module, def.length > 3 ? pathToFileURL(file()).href : undefined, dynImport);
  return module.exports;
}
`;

function write(file, text) {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

let lazyText = '';
let coreText = '';
try {
  lazyText = `'use strict';\n// Generated by scripts/bundle-cli.mjs: modules the tsnats command loads on first use.\nmodule.exports = {\n${[...lazy].map(transform).join('\n')}\n};\n`;
  coreText = `${header}${registry}Object.assign(defs, {\n${[...core].map(transform).join('\n')}\n});\nmodule.exports = load(${JSON.stringify(ENTRY)});\n`;
} catch (e) {
  giveUp(e);
}
write(join(dist, 'tsnats-cli-lazy.cjs'), lazyText);
write(join(dist, 'tsnats-cli.cjs'), coreText);
// The bundles themselves are inputs too (bin/tsnats checks them before trusting the V8 cache).
rmSync(join(dist, 'tsnats-cli.v8cache'), { force: true });
for (const f of ['tsnats-cli.cjs', 'tsnats-cli-lazy.cjs']) manifest[f] = statSync(join(dist, f)).size;
// Files written after this instant (a later tsc run) make the bundle stale for bin/tsnats.
const builtAt = Math.max(Date.now(), ...Object.keys(manifest).map((f) => statSync(join(dist, f)).mtimeMs));
write(join(dist, 'tsnats-cli.json'), JSON.stringify({ entry: ENTRY, builtAt, files: manifest }));

// V8 code cache of the bundle, taken once a server has started (so the functions start-up runs
// are in it): bin/tsnats passes it to V8, which rejects it by itself if Node or V8 differ.
const gen = spawnSync(process.execPath, [join(root, 'bin', 'tsnats'), '-a', '127.0.0.1', '-p', '-1'], {
  env: { ...process.env, TSNATS_WRITE_V8_CACHE: join(dist, 'tsnats-cli.v8cache') },
  stdio: 'ignore',
  timeout: 20_000,
});
if (gen.status !== 0) process.stderr.write(`bundle: no V8 code cache (exit ${gen.status ?? gen.signal})\n`);
process.stdout.write(`bundle: ${core.size} modules in dist/tsnats-cli.cjs, ${lazy.size} in dist/tsnats-cli-lazy.cjs\n`);
