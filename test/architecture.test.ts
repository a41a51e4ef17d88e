/**
 * gradlab's architecture, checked on every import in src/ and routes/ (see README, Architecture):
 * (a) no import cycle between files; (b) each top-level folder imports only the folders the table
 * below allows, only src/http and routes/ import Fastify, explain/attacks/sequence never import
 * each other; (c) no source file over 260 lines. web/ (the lab page, in the browser) imports none of it. Failures name the files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { findCycles, graphOf, importEdges, importSpecifiers, sourceFiles } from './helpers/import-graph.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAX_LINES = 260;

/** The part of gradlab a file belongs to: `routes`, a folder of src/ (`src/model`) or a file of src/. */
function unitOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'routes' || parts[0] === 'web') return parts[0];
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : file;
}

const CORE = ['src/errors.ts', 'src/options.ts', 'src/deadline.ts', 'src/backend', 'src/datasets', 'src/model', 'src/images',
  'src/explain', 'src/attacks', 'src/sequence', 'src/blackbox', 'src/work', 'src/jobs', 'src/config.ts'];
const BESIDE_THE_MODEL = ['src/model', 'src/backend', 'src/deadline.ts', 'src/errors.ts'];

/** Which units each unit may import (its own files always). Bottom first. */
export const MAY_IMPORT: Record<string, string[]> = {
  'src/errors.ts': [],
  'src/options.ts': [],
  'src/backend': ['src/errors.ts'],
  'src/deadline.ts': ['src/errors.ts'],
  'src/datasets': ['src/backend', 'src/errors.ts'],
  'src/model': ['src/backend', 'src/errors.ts'],
  'src/images': ['src/model', 'src/backend', 'src/errors.ts'],
  'src/explain': [...BESIDE_THE_MODEL, 'src/images'],
  'src/attacks': [...BESIDE_THE_MODEL, 'src/images'],
  'src/sequence': BESIDE_THE_MODEL,
  'src/blackbox': ['src/model', 'src/options.ts', 'src/errors.ts'],
  // Work classes and the heavy executor: runs the explain/attack cores, in this thread or in workers.
  'src/work': [...BESIDE_THE_MODEL, 'src/explain', 'src/attacks', 'src/options.ts'],
  // Jobs: the queue (in process, or BullMQ on Redis) that runs heavy work asynchronously and in worker processes.
  'src/jobs': [...BESIDE_THE_MODEL, 'src/work', 'src/options.ts'],
  'src/config.ts': ['src/backend', 'src/model', 'src/blackbox', 'src/work', 'src/jobs', 'src/options.ts'],
  // The attack client reaches its target over HTTP only; the rest is for its substitute network.
  'src/client': ['src/backend', 'src/datasets', 'src/images', 'src/model', 'src/attacks'],
  'src/http': [...CORE, 'routes'],
  routes: [...CORE, 'src/http'],
  // The lab page runs in the browser and reaches the server over HTTP only.
  web: [],
};

const FASTIFY = /^(fastify|@fastify\/.*)$/;
const MAY_IMPORT_FASTIFY = new Set(['src/http', 'routes']);
const NEVER_EACH_OTHER = ['src/explain', 'src/attacks', 'src/sequence'];

const files = sourceFiles(ROOT, ['src', 'routes', 'web']);
const edges = importEdges(ROOT, files);

test('the import parser sees static, type, re-export, dynamic and require imports, not comments or strings', () => {
  const source = [
    "import type { A } from './a.ts';",
    "import { b } from '../b.ts';",
    "export { c } from './c.ts';",
    "export * from './d.ts';",
    "const e = await import('./e.ts');",
    "const f = require('./f.cjs');",
    "// import { g } from './g.ts';",
    "const h = \"import('./h.ts')\";",
    'const i = await import(someVariable);',
  ].join('\n');
  assert.deepEqual(importSpecifiers(source), ['./a.ts', '../b.ts', './c.ts', './d.ts', './e.ts', './f.cjs']);
});

test('the cycle finder finds every cycle and prints it as a path', () => {
  const acyclic = graphOf([{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'a', to: 'c' }]);
  assert.deepEqual(findCycles(acyclic), []);
  const cyclic = graphOf([
    { from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'a' }, { from: 'c', to: 'd' },
    { from: 'x', to: 'y' }, { from: 'y', to: 'x' }, { from: 's', to: 's' },
  ]);
  assert.deepEqual(findCycles(cyclic).sort(), [['a', 'b', 'c', 'a'], ['s', 's'], ['x', 'y', 'x']]);
});

test('the folder rules catch a forbidden import', () => {
  assert.deepEqual(forbiddenImports([{ from: 'src/model/registry.ts', to: 'src/sequence/loader.ts', external: false }]),
    ['src/model/registry.ts imports src/sequence/loader.ts (src/model may not import src/sequence)']);
  assert.deepEqual(forbiddenImports([{ from: 'src/model/classes.ts', to: 'fastify', external: true }]),
    ['src/model/classes.ts imports fastify (only src/http and routes/ import Fastify)']);
  assert.deepEqual(forbiddenImports([{ from: 'web/lab.tsx', to: 'src/errors.ts', external: false }]),
    ['web/lab.tsx imports src/errors.ts (web may not import src/errors.ts)']);
});

test('every relative import names an existing source file', () => {
  const known = new Set(files);
  const missing = edges.filter((e) => !e.external && !known.has(e.to) && !/\.(json|cjs|css)$/.test(e.to));
  assert.deepEqual(missing.map((e) => `${e.from} -> ${e.to}`), []);
});

test('no import cycle between files in src/ and routes/', () => {
  const cycles = findCycles(graphOf(edges.filter((e) => !e.external)));
  assert.deepEqual(cycles.map((c) => c.join(' -> ')), [], `import cycles:\n${cycles.map((c) => `  ${c.join(' -> ')}`).join('\n')}`);
});

function forbiddenImports(list: typeof edges): string[] {
  const problems: string[] = [];
  for (const { from, to, external } of list) {
    const unit = unitOf(from);
    if (external) {
      if (FASTIFY.test(to) && !MAY_IMPORT_FASTIFY.has(unit)) problems.push(`${from} imports ${to} (only src/http and routes/ import Fastify)`);
      continue;
    }
    const target = unitOf(to);
    if (target === unit) continue;
    const allowed = MAY_IMPORT[unit];
    if (!allowed) problems.push(`${from} is in ${unit}, which the architecture table does not list`);
    else if (!allowed.includes(target)) problems.push(`${from} imports ${to} (${unit} may not import ${target})`);
  }
  return problems;
}

test('each folder imports only what the architecture table allows', () => {
  assert.deepEqual(forbiddenImports(edges), []);
});

test('explain, attacks and sequence never import each other', () => {
  const crossing = edges.filter((e) => NEVER_EACH_OTHER.includes(unitOf(e.from)) && NEVER_EACH_OTHER.includes(unitOf(e.to)) && unitOf(e.from) !== unitOf(e.to));
  assert.deepEqual(crossing.map((e) => `${e.from} -> ${e.to}`), []);
});

test(`no file in src/, routes/ or web/ is over ${MAX_LINES} lines`, () => {
  const long = files
    .map((file) => ({ file, lines: readFileSync(path.join(ROOT, file), 'utf8').split('\n').length - 1 }))
    .filter(({ lines }) => lines > MAX_LINES);
  assert.deepEqual(long.map(({ file, lines }) => `${file}: ${lines} lines`), [], `files over ${MAX_LINES} lines:\n${long.map(({ file, lines }) => `  ${file}: ${lines}`).join('\n')}`);
});
