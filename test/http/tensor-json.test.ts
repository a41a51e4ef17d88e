import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensorJson } from '../../src/http/tensor-json.ts';

test('float: exact numbers; base64: the same floats as little-endian float32, views into larger buffers included', () => {
  const whole = new Float32Array([9, 0.1, -2.5, 1e-8, 3.4e38, -0, 7]);
  const view = whole.subarray(1, 6); // byteOffset 4: only these five values may be encoded
  assert.deepEqual(tensorJson([5], view), { shape: [5], data: [Math.fround(0.1), -2.5, Math.fround(1e-8), Math.fround(3.4e38), -0] });
  const packed = tensorJson([5, 1], view, 'base64');
  assert.ok('encoding' in packed && packed.encoding === 'base64' && packed.dtype === 'float32');
  assert.deepEqual(packed.shape, [5, 1]);
  const bytes = Buffer.from(packed.data, 'base64');
  assert.equal(bytes.length, 20);
  assert.deepEqual(Array.from({ length: 5 }, (_, i) => bytes.readFloatLE(i * 4)), Array.from(view));
});
