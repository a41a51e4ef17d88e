/** `gradlab-attack --help` (and `help`, `-h`) prints the options and exits 0; a bad flag exits 2 with the usage. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/server-process.ts';

const run = (...args: string[]) => spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin/gradlab-attack.mjs'), ...args], { encoding: 'utf8', cwd: REPO_ROOT });

for (const args of [['--help'], ['-h'], ['help']]) {
  test(`gradlab-attack ${args.join(' ')} prints every option and exits 0`, () => {
    const r = run(...args);
    assert.equal(r.status, 0, r.stderr);
    for (const flag of ['--url', '--key', '--budget', '--progress', '--quiet']) assert.match(r.stderr, new RegExp(`${flag}\\b`));
  });
}

test('gradlab-attack with an unknown progress style names the flag and exits 2', () => {
  const r = run('simba', '--url', 'http://127.0.0.1:9/v1/models/m/classify', '--progress', 'loud');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--progress: 'loud' is not one of auto, bar, lines, json, none/);
});
