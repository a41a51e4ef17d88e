/**
 * Docker cannot run here, so this checks what the Dockerfiles rely on: every COPY source exists,
 * the start command and the health check are the ones the server tests exercise, and the GPU
 * image installs the tfjs-node-gpu version that matches its CUDA base.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/server-process.ts';

for (const file of ['docker/Dockerfile', 'docker/Dockerfile.gpu']) {
  test(`${file}: copies files that exist, starts the server and checks /readyz`, () => {
    const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
    const copies = [...text.matchAll(/^COPY (?!--from)(.+)$/gm)].map((m) => m[1]!.trim().split(/\s+/).slice(0, -1)).flat();
    assert.ok(copies.length >= 5);
    for (const source of copies) assert.ok(existsSync(path.join(REPO_ROOT, source)), `${file}: COPY ${source} does not exist`);
    assert.match(text, /^CMD \["node", "--import", "tsx", "src\/http\/server\.ts"\]$/m);
    assert.match(text, /^HEALTHCHECK .*\n\s+CMD \["node", "docker\/healthcheck\.mjs"\]$/m);
    assert.match(text, /EXPOSE 8080/);
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    assert.ok(pkg.dependencies.tsx, 'tsx must be a production dependency: the image runs TypeScript through it');
    const tfjs = pkg.dependencies['@tensorflow/tfjs'].replace(/^\^/, '');
    const native = text.match(/@tensorflow\/tfjs-node(?:-gpu)?@([\d.]+)/);
    assert.ok(native, 'installs a native tfjs binding');
    assert.equal(native[1], tfjs, 'the native binding matches the tfjs version');
  });
}

test('the GPU image uses the CUDA 11.2 / cuDNN 8 base that tfjs-node-gpu 4.22 needs', () => {
  const text = readFileSync(path.join(REPO_ROOT, 'docker/Dockerfile.gpu'), 'utf8');
  assert.match(text, /nvidia\/cuda:11\.2\.\d+-cudnn8-runtime/);
  assert.match(text, /GRADLAB_BACKEND=tensorflow/);
});
