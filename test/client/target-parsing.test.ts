/** The targets' small parsers: classification strings, JSON paths, prediction forms, URLs, .npy. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oipModelUrl, parseClassification } from '../../src/client/targets/oip.ts';
import { rankPrediction, v1ModelUrl } from '../../src/client/targets/kserve.ts';
import { readPath } from '../../src/client/targets/generic.ts';
import { float32Npy, readFloat32Npy } from '../../src/client/npy.ts';

const model = { name: 'm', labels: ['cat', 'dog', 'eel'], inputShape: [2, 2, 1] as [number, number, number] };

test('classification strings: value:index:label, value:index, and :index:label (no value revealed)', () => {
  assert.deepEqual(parseClassification('0.75:2:eel'), { index: 2, probability: 0.75 });
  assert.deepEqual(parseClassification('0.5:1'), { index: 1, probability: 0.5 });
  assert.deepEqual(parseClassification(':1:a:b'), { index: 1 });
  assert.throws(() => parseClassification('eel'), /not a classification string/);
});

test('predictions in every form a predict endpoint answers', () => {
  assert.deepEqual(rankPrediction([0.1, 0.7, 0.2], model, 'x').map((r) => r.index), [1, 2, 0]);
  assert.deepEqual(rankPrediction(2, model, 'x'), [{ index: 2 }]);
  assert.deepEqual(rankPrediction('dog', model, 'x'), [{ index: 1 }]);
  assert.deepEqual(rankPrediction([{ index: 0, label: 'cat' }], model, 'x'), [{ index: 0, label: 'cat' }]);
  assert.throws(() => rankPrediction([0.5, 0.5], model, 'x'), /2 probabilities, but the model has 3 classes/);
  assert.throws(() => rankPrediction('fox', model, 'x'), /not one of the model's labels/);
});

test('JSON paths with [] mapping over arrays', () => {
  const answer = { outcome: { scores: [1, 2] }, results: [{ s: [1] }, { s: [2] }] };
  assert.deepEqual(readPath(answer, 'outcome.scores'), [1, 2]);
  assert.deepEqual(readPath(answer, 'results[].s'), [[1], [2]]);
  assert.equal(readPath(answer, 'nothing.here'), undefined);
});

test('model URLs from a base and a name, or the full URL', () => {
  assert.equal(oipModelUrl('http://h/v2/models/m/versions/1/infer'), 'http://h/v2/models/m/versions/1');
  assert.equal(oipModelUrl('http://h/', 'm'), 'http://h/v2/models/m');
  assert.throws(() => oipModelUrl('http://h'), /give the model name/);
  assert.equal(v1ModelUrl('http://h/v1/models/m:predict'), 'http://h/v1/models/m');
  assert.equal(v1ModelUrl('http://h', 'm'), 'http://h/v1/models/m');
});

test('.npy: float32 round trip with the header NumPy expects (64-byte aligned)', () => {
  const data = Float32Array.from({ length: 12 }, (_, i) => i / 7);
  const file = float32Npy(data, [2, 3, 2]);
  const headerLength = file.readUInt16LE(8);
  assert.equal((10 + headerLength) % 64, 0);
  assert.match(file.toString('latin1', 10, 10 + headerLength), /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3, 2\), \} *\n$/);
  const back = readFloat32Npy(file);
  assert.deepEqual(back.shape, [2, 3, 2]);
  assert.deepEqual(back.data, data);
});
