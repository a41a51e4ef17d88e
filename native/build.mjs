#!/usr/bin/env node
/**
 * gradlab's install step for its optional native kernels (native/, oneDNN 2.x through N-API).
 *
 * Builds native/build/Release/gradlab_native.node with node-gyp when oneDNN's headers
 * (`libdnnl-dev`) and a C++ compiler are present; otherwise prints one line saying why and exits
 * 0, so `npm ci` never fails for want of them (gradlab then runs on the wasm kernels alone).
 * GRADLAB_NATIVE=off skips the build. node-gyp comes with npm (`npm_config_node_gyp` inside npm
 * scripts); Node's headers come from `nodedir` (Debian: /usr/include/node), never a download.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const say = (line) => console.log(`gradlab native kernels: ${line}`);

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(here, '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((file) => file && existsSync(file));
}

function nodeHeaders() {
  const configured = process.env.npm_config_nodedir;
  if (configured && existsSync(path.join(configured, 'include', 'node', 'node_api.h'))) return configured;
  const prefix = path.join(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? path.resolve(prefix) : undefined;
}

function main() {
  if (['off', '0', 'false'].includes((process.env.GRADLAB_NATIVE ?? '').toLowerCase())) {
    return say('skipped (GRADLAB_NATIVE=off)');
  }
  const header = ['/usr/include/dnnl.hpp', '/usr/local/include/dnnl.hpp'].find((f) => existsSync(f));
  if (!header) return say('skipped: oneDNN headers not found (apt-get install libdnnl-dev); using the wasm kernels');
  const cxx = spawnSync(process.env.CXX ?? 'g++', ['--version'], { stdio: 'ignore' });
  if (cxx.status !== 0) return say('skipped: no C++ compiler (g++); using the wasm kernels');
  const gyp = nodeGyp();
  if (!gyp) return say('skipped: node-gyp not found (it ships with npm); using the wasm kernels');
  const nodedir = nodeHeaders();
  if (!nodedir) return say('skipped: Node headers (node_api.h) not found; set npm\'s nodedir; using the wasm kernels');
  const started = Date.now();
  const build = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`], { cwd: here, encoding: 'utf8' });
  if (build.status !== 0) {
    const tail = `${build.stdout}\n${build.stderr}`.trim().split('\n').slice(-15).join('\n');
    console.log(tail);
    return say('build failed (output above); using the wasm kernels');
  }
  say(`built native/build/Release/gradlab_native.node against oneDNN in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main();
