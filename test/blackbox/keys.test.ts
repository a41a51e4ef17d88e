import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyRing, keyId, parseKeyList, parseKeysFile, parseRateLimit } from '../../src/blackbox/keys.ts';

test('rates: count per unit or per n units', () => {
  assert.deepEqual(parseRateLimit('600/minute'), { max: 600, windowMs: 60_000, text: '600/minute' });
  assert.equal(parseRateLimit('10/s').windowMs, 1000);
  assert.equal(parseRateLimit('10/seconds').windowMs, 1000);
  assert.equal(parseRateLimit('5/10s').windowMs, 10_000);
  assert.equal(parseRateLimit('5/500ms').windowMs, 500);
  assert.equal(parseRateLimit('1000/hour').windowMs, 3_600_000);
  for (const bad of ['600', 'x/minute', '0/minute', '10/fortnight', '10/0s']) assert.throws(() => parseRateLimit(bad), /is not a rate|must be positive/, bad);
});

test('the env form: key:budget[:rate], comma-separated', () => {
  const specs = parseKeyList('alice:10000, bob:500:60/minute', 'GRADLAB_API_KEYS');
  assert.deepEqual(specs[0], { key: 'alice', budget: 10000 });
  assert.equal(specs[1]!.rateLimit!.max, 60);
  assert.throws(() => parseKeyList('alice', 'X'), /X, key 1: .* is not key:budget/);
  assert.throws(() => parseKeyList('alice:-3', 'X'), /whole number/);
  assert.throws(() => parseKeyList('alice:1.5', 'X'), /whole number/);
  assert.throws(() => parseKeyList('alice:5:1/min:extra', 'X'), /is not key:budget/);
});

test('keys files: JSON with names and rates, or one key:budget per line', () => {
  const json = parseKeysFile(JSON.stringify([{ key: 's3cret', name: 'team-1', budget: 20, rateLimit: '5/second' }]), 'keys.json');
  assert.deepEqual(json, [{ key: 's3cret', name: 'team-1', budget: 20, rateLimit: { max: 5, windowMs: 1000, text: '5/second' } }]);
  assert.equal(parseKeysFile(JSON.stringify({ keys: [{ key: 'k', budget: 1 }] }), 'f').length, 1);
  assert.deepEqual(parseKeysFile('# teams\nalpha:10\nbeta:20\n', 'keys.txt').map((k) => k.budget), [10, 20]);
  assert.throws(() => parseKeysFile('[{"key": "k", "budget": 1, "colour": "red"}]', 'f'), /unknown field 'colour'/);
  assert.throws(() => parseKeysFile('[{"budget": 1}]', 'f'), /a key must be/);
  assert.throws(() => parseKeysFile('{"keys": 3}', 'f'), /expected an array/);
  assert.throws(() => parseKeysFile('[{', 'f'), /not valid JSON/);
});

test('the key ring finds keys by hash and refuses duplicates', () => {
  const ring = new KeyRing([{ key: 'alice', budget: 5 }, { key: 'bob', name: 'B', budget: 7 }]);
  assert.equal(ring.lookup('alice')!.budget, 5);
  assert.equal(ring.lookup('alice')!.id, keyId('alice'));
  assert.equal(ring.lookup('alice')!.name, `key-${keyId('alice').slice(0, 8)}`);
  assert.equal(ring.lookup('bob')!.name, 'B');
  assert.equal(ring.lookup('carol'), undefined);
  assert.ok(!JSON.stringify(ring.list()).includes('alice'), 'the secret is not kept');
  assert.throws(() => new KeyRing([{ key: 'a', budget: 1 }, { key: 'a', budget: 2 }]), /listed twice/);
  assert.throws(() => new KeyRing([{ key: 'a', name: 'n', budget: 1 }, { key: 'b', name: 'n', budget: 2 }]), /two keys are named 'n'/);
});
