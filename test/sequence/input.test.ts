/** Bad sequences are 400s that name the problem and the step; manifests name the bad field. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GradlabError } from '../../src/errors.ts';
import { ManifestError } from '../../src/model/manifest.ts';
import { parseSequenceManifest, type SequenceInputSpec } from '../../src/sequence/manifest.ts';
import { encodeSequence, makeVocabulary } from '../../src/sequence/input.ts';

function rejects(raw: unknown, spec: SequenceInputSpec, field: string, message: RegExp, max = 10, vocab?: string[]) {
  assert.throws(
    () => encodeSequence(raw, spec, max, vocab ? makeVocabulary(vocab) : undefined),
    (err: unknown) => {
      assert.ok(err instanceof GradlabError, String(err));
      assert.equal(err.statusCode, 400);
      assert.equal(err.code, 'GRADLAB_BAD_PARAMETER');
      assert.equal(err.field, field);
      assert.match(err.message, message);
      return true;
    },
  );
}

const bits: SequenceInputSpec = { type: 'bits', encoding: 'values' };
const pairs: SequenceInputSpec = { type: 'pairs', encoding: 'values' };
const numbers: SequenceInputSpec = { type: 'numbers', encoding: 'values' };
const chars: SequenceInputSpec = { type: 'characters', encoding: 'one-hot', vocabulary: ['a', 'b', ' '] };
const words: SequenceInputSpec = { type: 'words', encoding: 'ids', vocabulary: ['<unk>', 'free', 'money'], unknown: '<unk>', lowercase: true };

test('bits: non-binary symbols, empty and over-long sequences are 400s naming the step', () => {
  rejects([0, 1, 2], bits, 'sequence[2]', /2 is not a bit/);
  rejects('01a1', bits, 'sequence[2]', /"a" is not a bit/);
  rejects([0, 0.5], bits, 'sequence[1]', /not a bit/);
  rejects([], bits, 'sequence', /is empty/);
  rejects('', bits, 'sequence', /is empty/);
  rejects('0'.repeat(11), bits, 'sequence', /11 steps, more than the limit of 10/);
  rejects({ bits: [1] }, bits, 'sequence', /array of bits/);
  const ok = encodeSequence('0110', bits, 10);
  assert.deepEqual(Array.from(ok.values), [0, 1, 1, 0]);
});

test('pairs and numbers: wrong pair shapes and non-numbers are 400s', () => {
  rejects([[1, 2], [3]], pairs, 'sequence[1]', /must be a pair/);
  rejects([[1, 2, 3]], pairs, 'sequence[0]', /must be a pair/);
  rejects([1, 2], pairs, 'sequence[0]', /must be a pair/);
  rejects([[1, 'x']], pairs, 'sequence[0][1]', /not a finite number/);
  rejects([1, null], numbers, 'sequence[1]', /not a finite number/);
  rejects('123', numbers, 'sequence', /array of numbers/);
  assert.deepEqual(encodeSequence([[1, 2], [3, 4]], pairs, 10).display, [[1, 2], [3, 4]]);
});

test('text: characters outside the vocabulary are 400s; words use the unknown token', () => {
  rejects('abz', chars, 'sequence[2]', /"z" is not in the model's vocabulary/, 10, ['a', 'b', ' ']);
  rejects([1, 2], chars, 'sequence', /must be a string/, 10, ['a', 'b', ' ']);
  const c = encodeSequence('ab a', chars, 10, makeVocabulary(['a', 'b', ' ']));
  assert.equal(c.width, 3);
  assert.deepEqual(Array.from(c.ids!), [0, 1, 2, 0]);
  const w = encodeSequence('FREE money, now!', words, 10, makeVocabulary(['<unk>', 'free', 'money']));
  assert.deepEqual(w.display, ['free', 'money', 'now', '!']);
  assert.deepEqual(Array.from(w.values), [1, 2, 0, 0]);
});

test('sequence manifests: problems name the file and the field', () => {
  const good = {
    name: 'p', kind: 'sequence', task: 'classifier', format: 'hand-wired', model: 'weights.json',
    input: { type: 'bits' }, labels: ['even', 'odd'], construction: 'by hand',
  };
  assert.equal(parseSequenceManifest(good, 'm.json').input.encoding, 'values');
  const cases: [Record<string, unknown>, string][] = [
    [{ ...good, task: 'poetry' }, 'task'],
    [{ ...good, format: 'onnx' }, 'format'],
    [{ ...good, input: { type: 'images' } }, 'input.type'],
    [{ ...good, labels: ['one'] }, 'labels'],
    [{ ...good, construction: undefined }, 'construction'],
    [{ ...good, input: { type: 'characters' } }, 'input.vocabulary'],
    [{ ...good, input: { type: 'characters', vocabulary: ['a', 'bb'] } }, 'input.vocabulary'],
    [{ ...good, input: { type: 'words', vocabulary: ['a', 'b'], unknown: 'c' } }, 'input.unknown'],
    [{ ...good, task: 'language-model', labels: undefined }, 'task'],
  ];
  for (const [raw, field] of cases) {
    assert.throws(() => parseSequenceManifest(raw, 'm.json'), (err: unknown) => {
      assert.ok(err instanceof ManifestError);
      assert.match(err.message, new RegExp(`^m\\.json: field '${field.replace('.', '\\.')}'`));
      return true;
    }, field);
  }
});

test('hand-wired weight files: wrong shapes and unit types name the file and the field', async () => {
  const { parseHandWiredWeights } = await import('../../src/sequence/hand-wired.ts');
  const good = { hiddenUnits: 'threshold', outputUnits: 'threshold', W_xh: [[1], [1]], W_yh: [[1], [1]], b_h: [-1.5, -0.5], W_hy: [[-1, 1]], b_y: [-0.5] };
  assert.deepEqual(parseHandWiredWeights(good, 1, 'w.json').W_hh, [[0, 0], [0, 0]]);
  const cases: [Record<string, unknown>, string][] = [
    [{ ...good, hiddenUnits: 'relu' }, 'hiddenUnits'],
    [{ ...good, W_xh: [[1, 2], [1, 2]] }, 'W_xh'],
    [{ ...good, W_yh: [[1]] }, 'W_yh'],
    [{ ...good, b_h: [1] }, 'b_h'],
    [{ ...good, W_hy: [[1]] }, 'W_hy'],
    [{ ...good, W_hh: [[0, 'x'], [0, 0]] }, 'W_hh'],
  ];
  for (const [raw, field] of cases) {
    assert.throws(() => parseHandWiredWeights(raw, 1, 'w.json'), (err: unknown) => {
      assert.ok(err instanceof ManifestError);
      assert.match(err.message, new RegExp(`^w\\.json: field '${field}'`));
      return true;
    }, field);
  }
});
