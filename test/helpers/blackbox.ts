/** Helpers for black-box tests: a temporary data directory and a key-authenticated request. */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

export async function tempDataDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gradlab-data-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** An 8×8 grey pixel array for the fixture model. */
export function fixtureImage(seed = 0): number[][] {
  return Array.from({ length: 8 }, (_, y) => Array.from({ length: 8 }, (_, x) => ((y * 8 + x + seed) % 7) / 7));
}

/**
 * A models folder with the shipped MNIST model twice: `mnist` and `mnist-labels` (same weights,
 * another name), so that one server can answer probabilities for one and labels for the other.
 */
export async function twoMnistModels(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gradlab-bb-models-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await copyMnistAs(dir, 'mnist');
  await copyMnistAs(dir, 'mnist-labels');
  return dir;
}

export async function copyMnistAs(modelsDir: string, name: string, from = 'models/mnist'): Promise<void> {
  const target = path.join(modelsDir, name);
  await cp(from, target, { recursive: true });
  const manifestPath = path.join(target, 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { name: string };
  manifest.name = name;
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
}
