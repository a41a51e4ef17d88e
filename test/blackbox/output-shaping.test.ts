import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answeredClasses, formatOutputShape, parseModelOutputs, parseOutputShape, shapePredictions } from '../../src/blackbox/output-shaping.ts';

const ranked = [
  { label: 'b', index: 1, probability: 0.61234 },
  { label: 'c', index: 2, probability: 0.3 },
  { label: 'a', index: 0, probability: 0.08766 },
];

test('shapes parse and print back', () => {
  for (const spec of ['probabilities', 'probabilities:3', 'topk:1', 'topk:5:2', 'label']) assert.equal(formatOutputShape(parseOutputShape(spec)), spec);
  for (const bad of ['topk', 'topk:0', 'label:2', 'probabilities:x', 'scores', 'topk:2:3:4', 'probabilities:2:2']) assert.throws(() => parseOutputShape(bad), Error, bad);
  assert.deepEqual(parseModelOutputs(['mnist=label,fashion=topk:3:2', 'x=probabilities']), {
    mnist: { kind: 'label' },
    fashion: { kind: 'topk', k: 3, decimals: 2 },
    x: { kind: 'probabilities' },
  });
  assert.throws(() => parseModelOutputs(['label']), /is not model=shape/);
});

test('how many classes an answer ranks', () => {
  assert.equal(answeredClasses({ kind: 'probabilities' }, 10), 10);
  assert.equal(answeredClasses({ kind: 'probabilities' }, 10, 3), 3);
  assert.equal(answeredClasses({ kind: 'topk', k: 2 }, 10, 5), 2);
  assert.equal(answeredClasses({ kind: 'topk', k: 20 }, 10), 10);
  assert.equal(answeredClasses({ kind: 'label' }, 10, 5), 1);
});

test('answers keep the ranking and reveal only what the shape allows', () => {
  assert.deepEqual(shapePredictions(ranked, { kind: 'probabilities' }), ranked);
  assert.deepEqual(shapePredictions(ranked, { kind: 'probabilities', decimals: 1 }).map((p) => p.probability), [0.6, 0.3, 0.1]);
  assert.deepEqual(shapePredictions(ranked, { kind: 'topk', k: 2, decimals: 2 }), [
    { label: 'b', index: 1, probability: 0.61 },
    { label: 'c', index: 2, probability: 0.3 },
  ]);
  assert.deepEqual(shapePredictions(ranked, { kind: 'label' }), [{ label: 'b', index: 1 }]);
  assert.equal(shapePredictions(ranked, { kind: 'topk', k: 3 }, 1).length, 1);
});
