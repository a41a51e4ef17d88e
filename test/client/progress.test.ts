/** The attack client's progress display when stderr is not a terminal: lines or JSON lines, notices at once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressDisplay } from '../../src/client/progress.ts';

function sink(isTTY = false) {
  const lines: string[] = [];
  return { stream: { isTTY, write: (t: string) => lines.push(...t.split('\n').filter(Boolean)) }, lines };
}

test('auto without a terminal prints progress lines, every rate-limit notice at once, and the last state at the end', () => {
  const { stream, lines } = sink(false);
  const display = progressDisplay('auto', 'simba', 'images', stream, 60_000);
  display.update({ done: 0, total: 3, successes: 0, queries: 3 });
  display.update({ done: 1, total: 3, successes: 1, queries: 40 }); // within the interval: not printed
  display.notice('waiting 4 s');
  display.update({ done: 2, total: 3, successes: 1, queries: 80 });
  display.stop();
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^simba: 0\/3 images, 0 succeeded, 3 queries, \d+ s$/);
  assert.match(lines[1]!, /^simba: waiting 4 s \(\d+ s in\)$/);
  assert.match(lines[2]!, /^simba: 2\/3 images, 1 succeeded, 80 queries/);
});

test('the final state is printed as soon as every image is done, whatever the interval', () => {
  const { stream, lines } = sink(false);
  const display = progressDisplay('lines', 'square', 'images', stream, 60_000);
  display.update({ done: 0, total: 2, successes: 0, queries: 2 });
  display.update({ done: 2, total: 2, successes: 2, queries: 30 });
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /2\/2 images, 2 succeeded, 30 queries/);
});

test('json prints one parseable object per line', () => {
  const { stream, lines } = sink(true);
  const display = progressDisplay('json', 'hopskipjump', 'images', stream, 0);
  display.update({ done: 1, total: 4, successes: 1, queries: 120, note: 'x' });
  display.notice('rate limited');
  const [progress, notice] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual({ ...progress, elapsedS: 0 }, { attack: 'hopskipjump', event: 'progress', elapsedS: 0, done: 1, total: 4, successes: 1, queries: 120, note: 'x' });
  assert.equal(notice!.event, 'notice');
  assert.equal(notice!.message, 'rate limited');
});

test('none prints nothing', () => {
  const { stream, lines } = sink(false);
  const display = progressDisplay('none', 'simba', 'images', stream, 0);
  display.update({ done: 1, total: 1, successes: 1, queries: 1 });
  display.notice('x');
  display.stop();
  assert.deepEqual(lines, []);
});
