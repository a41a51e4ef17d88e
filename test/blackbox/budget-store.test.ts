/** The budget store contract, for every store: exact, all-or-nothing charges; SQLite also across handles and reopenings. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBudgetStore, type BudgetStore } from '../../src/blackbox/budget-store.ts';
import { SqliteStore } from '../../src/blackbox/sqlite-store.ts';
import { tempDataDir } from '../helpers/blackbox.ts';

const stores: [string, (dir: string) => BudgetStore][] = [
  ['memory', () => new MemoryBudgetStore()],
  ['sqlite', (dir) => new SqliteStore(dir)],
];

for (const [name, open] of stores) {
  test(`${name}: charges are all-or-nothing and never pass the budget`, async (t) => {
    const store = open(await tempDataDir(t));
    t.after(() => store.close());
    assert.equal(await store.used('k'), 0);
    assert.deepEqual(await store.charge('k', 3, 5), { granted: true, used: 3, remaining: 2 });
    assert.deepEqual(await store.charge('k', 3, 5), { granted: false, used: 3, remaining: 2 });
    assert.deepEqual(await store.charge('k', 2, 5), { granted: true, used: 5, remaining: 0 });
    assert.deepEqual(await store.charge('k', 1, 5), { granted: false, used: 5, remaining: 0 });
    assert.deepEqual(await store.charge('other', 1, 1), { granted: true, used: 1, remaining: 0 });
    assert.deepEqual(await store.charge('k', 1, 3), { granted: false, used: 5, remaining: 0 }, 'a lowered budget leaves nothing');
    await assert.rejects(store.charge('k', 0, 5), RangeError);
  });

  test(`${name}: 1,000 interleaved charges grant exactly the budget`, async (t) => {
    const store = open(await tempDataDir(t));
    t.after(() => store.close());
    const results = await Promise.all(Array.from({ length: 1000 }, () => store.charge('k', 1, 637)));
    assert.equal(results.filter((r) => r.granted).length, 637);
    assert.equal(await store.used('k'), 637);
  });
}

test('sqlite: two handles on one file share the counts, and a reopened file keeps them', async (t) => {
  const dir = await tempDataDir(t);
  const a = new SqliteStore(dir);
  const b = new SqliteStore(dir);
  let granted = 0;
  for (let i = 0; i < 50; i++) {
    if ((await (i % 2 ? a : b).charge('k', 1, 31)).granted) granted++;
  }
  assert.equal(granted, 31);
  await a.close();
  await b.close();
  const c = new SqliteStore(dir);
  t.after(() => c.close());
  assert.equal(await c.used('k'), 31);
});
