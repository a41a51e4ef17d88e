/**
 * The native addon is optional: `--native off`, an addon that is not built (MODULE_NOT_FOUND) and
 * one whose library cannot be loaded (ERR_DLOPEN_FAILED) all leave gradlab on its wasm kernels,
 * with the reason in the backend status and the same gradients; the addon's base row-product
 * kernel (GRADLAB_NATIVE_GEMM=base, for CPUs without AVX2) gives them too. Each case runs in a
 * child process (the backend is chosen once per process).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../src/config.ts';
import type { NativeStatus } from '../../../src/backend/index.ts';
import { maxRelativeError } from '../../helpers/kernel-check.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/native-status.ts', import.meta.url));

function run(mode: string, env: Record<string, string> = {}): { native: NativeStatus; gemm?: string; gradient: number[]; dense: number[] } {
  const child = spawnSync(process.execPath, ['--import', 'tsx', FIXTURE, mode], {
    encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000,
  });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout);
}

test('--native off / GRADLAB_NATIVE=off is parsed (default auto)', () => {
  assert.equal(loadConfig([], {}).native, 'auto');
  assert.equal(loadConfig(['--native', 'off'], {}).native, 'off');
  assert.equal(loadConfig([], { GRADLAB_NATIVE: 'off' }).native, 'off');
  assert.throws(() => loadConfig(['--native', 'maybe'], {}), /--native/);
});

test('without the addon gradlab runs its wasm kernels and says why, with the same gradients', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gradlab-native-'));
  try {
    const notElf = path.join(dir, 'broken.node');
    writeFileSync(notElf, 'not a shared library');
    const off = run('off');
    assert.deepEqual(off.native.kernels, []);
    assert.match(off.native.reason!, /turned off/);
    const missing = run('auto', { GRADLAB_NATIVE_ADDON: path.join(dir, 'absent.node') });
    assert.deepEqual(missing.native.kernels, []);
    assert.match(missing.native.reason!, /not built/);
    const broken = run('auto', { GRADLAB_NATIVE_ADDON: notElf });
    assert.deepEqual(broken.native.kernels, []);
    assert.match(broken.native.reason!, /ERR_DLOPEN_FAILED/);
    for (const other of [missing, broken]) assert.ok(maxRelativeError(other.gradient, off.gradient) <= 1e-5);
    const auto = run('auto');
    if (auto.native.kernels.length) {
      assert.ok(maxRelativeError(auto.gradient, off.gradient) <= 1e-5);
      assert.ok(maxRelativeError(auto.dense, off.dense) <= 1e-5);
      // The addon's two row-product kernels (native/src/gemm.h) agree with the wasm ones.
      const base = run('auto', { GRADLAB_NATIVE_GEMM: 'base' });
      assert.equal(base.gemm, 'base');
      assert.match(auto.gemm!, /^(avx2|base)$/);
      assert.ok(maxRelativeError(base.dense, off.dense) <= 1e-5);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
