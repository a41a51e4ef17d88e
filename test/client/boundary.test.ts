/**
 * The client reaches the target through HTTP alone: nothing it imports, directly or through
 * other modules, loads or serves models or touches the server (src/http, routes, the registry,
 * loaders, batcher, model descriptions, sequence models), and it names no model folder. What it
 * may share with the server is the attack core (src/attacks, run on its own substitute), the
 * ImageModel wrapper, dataset loaders, image encoding and the tfjs backend choice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FORBIDDEN = [/^src\/http\//, /^routes\//, /^scripts\//, /^src\/sequence\//, /^src\/model\/(registry|loader|batcher|fs-io|describe)\.ts$/];

function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  // `import type` is erased before the code runs, so it brings nothing in.
  const specs = [...text.matchAll(/(?:^|\n)\s*(import|export)(\s+type\b)?[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)]
    .filter((m) => !m[2])
    .map((m) => m[3] ?? m[4]!);
  return specs.filter((s) => s.startsWith('.')).map((s) => path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), s)));
}

test('nothing the client imports loads, serves or computes gradients of the target', () => {
  const start = readdirSync(path.join(ROOT, 'src/client'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `src/client/${f}`);
  const seen = new Set<string>();
  const via = new Map<string, string>();
  const queue = [...start];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const dep of importsOf(file)) {
      if (!via.has(dep)) via.set(dep, file);
      queue.push(dep);
    }
  }
  const bad = [...seen].filter((f) => FORBIDDEN.some((re) => re.test(f))).map((f) => `${f} (imported by ${via.get(f)})`);
  assert.deepEqual(bad, []);
  assert.ok(seen.has('src/attacks/attack.ts'), 'the substitute is attacked with the white-box core');
  for (const file of start) assert.doesNotMatch(readFileSync(path.join(ROOT, file), 'utf8'), /['"`]models\//, `${file} names a model folder`);
});
