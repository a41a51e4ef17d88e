/**
 * OIP v2 infer over a listening server, with requests built by hand from the specification
 * (test/helpers/oip.ts) as tritonclient sends them: JSON tensors, the binary tensor extension (its
 * default), BYTES inputs carrying PNGs, the classification extension and the echoed id, each checked
 * against `/v1/.../classify` answers to the same image; errors as `{"error": "..."}` 4xx, no tensor left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { FastifyInstance } from 'fastify';
import { build } from '../../helpers/build.ts';
import { encodeGrey, greyPixels } from '../../helpers/images.ts';
import { binaryBody, bytesElements, float32Le, readAnswer } from '../../helpers/oip.ts';

const INFER = '/v2/models/tiny/infer';
const image = (seed: number) => Array.from({ length: 64 }, (_, i) => ((i * 7 + seed * 3) % 11) / 11);
const nested = (flat: number[]) => Array.from({ length: 8 }, (_, y) => Array.from({ length: 8 }, (_, x) => [flat[y * 8 + x]!]));

async function listen(t: Parameters<typeof build>[0]): Promise<{ app: FastifyInstance; base: string }> {
  const { app } = await build(t);
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base };
}

/** `/v1` probabilities by class index for each image. */
async function v1Probabilities(base: string, images: unknown[]): Promise<number[][]> {
  const res = await fetch(`${base}/v1/models/tiny/classify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ images, topK: 3 }) });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { results: { predictions: { index: number; probability: number }[] }[] };
  return body.results.map((r) => {
    const v = [0, 0, 0];
    for (const p of r.predictions) v[p.index] = p.probability;
    return v;
  });
}

async function post(url: string, body: Buffer | string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : new Uint8Array(body) });
  return { status: res.status, answer: Buffer.from(await res.arrayBuffer()), headerLength: res.headers.get('inference-header-content-length'), type: res.headers.get('content-type') };
}

test('JSON tensors (flat and nested data) answer the same probabilities as /v1, with the id echoed', async (t) => {
  const { base } = await listen(t);
  const images = [image(1), image(2)];
  const expected = await v1Probabilities(base, images.map(nested));
  for (const data of [images.flat(), images.map(nested)]) {
    const request = { id: 'req-42', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 8, 8, 1], data }] };
    const res = await post(`${base}${INFER}`, JSON.stringify(request), { 'content-type': 'application/json' });
    assert.equal(res.status, 200, res.answer.toString());
    const { header, values } = readAnswer(res.answer, res.headerLength);
    assert.equal(header.id, 'req-42');
    assert.equal(header.model_name, 'tiny');
    assert.deepEqual(header.outputs[0]!.shape, [2, 3]);
    const probs = values.get('probabilities') as number[];
    expected.flat().forEach((p, i) => assert.ok(Math.abs(p - probs[i]!) < 1e-6, `${p} vs ${probs[i]}`));
  }
});

test('binary tensor extension both ways (tritonclient default): binary FP32 in, binary FP32 out', async (t) => {
  const { base } = await listen(t);
  const images = [image(3), image(4), image(5)];
  const expected = await v1Probabilities(base, images.map(nested));
  const data = float32Le(images.flat());
  const { body, headers } = binaryBody(
    { inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 8, 8, 1], parameters: { binary_data_size: data.length } }], outputs: [{ name: 'probabilities', parameters: { binary_data: true } }] },
    [data],
  );
  const res = await post(`${base}${INFER}`, body, headers);
  assert.equal(res.status, 200, res.answer.toString());
  assert.equal(res.type, 'application/octet-stream');
  assert.ok(res.headerLength !== null);
  const { header, values } = readAnswer(res.answer, res.headerLength);
  assert.equal(header.outputs[0]!.parameters?.binary_data_size, 3 * 3 * 4);
  const probs = values.get('probabilities') as number[];
  // float32 on the wire: equal to /v1's numbers at float32 precision.
  expected.flat().forEach((p, i) => assert.equal(Math.fround(p), probs[i]));
  // binary_data_output at the request level, with no outputs named, answers in binary too; no content type at all is accepted.
  const all = binaryBody({ inputs: [{ name: 'input', datatype: 'FP32', shape: [3, 8, 8, 1], parameters: { binary_data_size: data.length } }], parameters: { binary_data_output: true } }, [data]);
  const res2 = await post(`${base}${INFER}`, all.body, { 'inference-header-content-length': all.headers['inference-header-content-length']! });
  assert.equal(res2.status, 200, res2.answer.toString());
  assert.deepEqual(readAnswer(res2.answer, res2.headerLength).values.get('probabilities'), probs);
});

test('BYTES inputs carry encoded PNGs, in JSON (base64) and binary, and answer as /v1 does for the same PNG', async (t) => {
  const { base } = await listen(t);
  const png = await encodeGrey(8, 8, 'png');
  const expected = (await v1Probabilities(base, [png.toString('base64')]))[0]!;
  const json = { inputs: [{ name: 'input', datatype: 'BYTES', shape: [1], data: [png.toString('base64')] }] };
  const elements = bytesElements([png, png]);
  const binary = binaryBody({ inputs: [{ name: 'input', datatype: 'BYTES', shape: [2, 1], parameters: { binary_data_size: elements.length } }] }, [elements]);
  for (const [body, headers, n] of [[JSON.stringify(json), { 'content-type': 'application/json' }, 1], [binary.body, binary.headers, 2]] as const) {
    const res = await post(`${base}${INFER}`, body, headers);
    assert.equal(res.status, 200, res.answer.toString());
    const probs = readAnswer(res.answer, res.headerLength).values.get('probabilities') as number[];
    assert.equal(probs.length, 3 * n);
    probs.forEach((p, i) => assert.ok(Math.abs(p - expected[i % 3]!) < 1e-6));
  }
});

test('UINT8 pixels are 0..255 on the model range, as the same PNG decodes', async (t) => {
  const { base } = await listen(t);
  const pixels = greyPixels(8, 8);
  const expected = (await v1Probabilities(base, [(await encodeGrey(8, 8, 'png')).toString('base64')]))[0]!;
  const request = { inputs: [{ name: 'input', datatype: 'UINT8', shape: [1, 8, 8, 1], data: Array.from(pixels) }] };
  const res = await post(`${base}${INFER}`, JSON.stringify(request));
  assert.equal(res.status, 200, res.answer.toString());
  (readAnswer(res.answer, null).values.get('probabilities') as number[]).forEach((p, i) => assert.ok(Math.abs(p - expected[i]!) < 1e-5));
});

test('classification extension: top k as value:index:label strings, best first, JSON and binary; versions/1 is the same model', async (t) => {
  const { base } = await listen(t);
  const expected = (await v1Probabilities(base, [nested(image(6))]))[0]!;
  const order = [0, 1, 2].sort((a, b) => expected[b]! - expected[a]!);
  for (const binary of [false, true]) {
    const request = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 8, 8, 1], data: image(6) }], outputs: [{ name: 'probabilities', parameters: { classification: 2, binary_data: binary } }] };
    const res = await post(`${base}/v2/models/tiny/versions/1/infer`, JSON.stringify(request));
    assert.equal(res.status, 200, res.answer.toString());
    const { header, values } = readAnswer(res.answer, res.headerLength);
    assert.equal(header.outputs[0]!.datatype, 'BYTES');
    assert.deepEqual(header.outputs[0]!.shape, [1, 2]);
    const strings = values.get('probabilities') as string[];
    assert.equal(strings.length, 2);
    strings.forEach((s, i) => {
      const [value, index, label] = s.split(':');
      assert.equal(Number(index), order[i]);
      assert.equal(label, ['circle', 'square', 'triangle'][order[i]!]);
      assert.ok(Math.abs(Number(value) - expected[order[i]!]!) < 1e-6);
    });
  }
});

test('bad requests: 4xx {"error"} naming the field, never a 500, and no tensor left behind', async (t) => {
  const { base } = await listen(t);
  const good = { name: 'input', datatype: 'FP32', shape: [1, 8, 8, 1], data: image(0) };
  const short = binaryBody({ inputs: [{ ...good, data: undefined, parameters: { binary_data_size: 256 } }] }, [Buffer.alloc(100)]);
  const cases: [string, Buffer | string, Record<string, string>, number, RegExp][] = [
    ['not JSON', 'nope', {}, 400, /not valid JSON/],
    ['empty', '', {}, 400, /empty/],
    ['no inputs', JSON.stringify({}), {}, 400, /inputs/],
    ['wrong input name', JSON.stringify({ inputs: [{ ...good, name: 'x' }] }), {}, 400, /inputs\[0\]\.name/],
    ['wrong shape', JSON.stringify({ inputs: [{ ...good, shape: [1, 8, 8, 3] }] }), {}, 400, /inputs\[0\]\.shape.*\[N, 8, 8, 1\]/],
    ['too few values', JSON.stringify({ inputs: [{ ...good, data: image(0).slice(1) }] }), {}, 400, /inputs\[0\]\.data.*63 elements/],
    ['out of range', JSON.stringify({ inputs: [{ ...good, data: image(0).map(() => 7) }] }), {}, 400, /outside the model's value range/],
    ['NaN as string', JSON.stringify({ inputs: [{ ...good, data: ['NaN', ...image(0).slice(1)] }] }), {}, 400, /not a finite number/],
    ['bad datatype', JSON.stringify({ inputs: [{ ...good, datatype: 'INT64' }] }), {}, 400, /inputs\[0\]\.datatype/],
    ['too many images', JSON.stringify({ inputs: [{ ...good, shape: [65, 8, 8, 1] }] }), {}, 413, /more than the limit of 64/],
    ['bad output name', JSON.stringify({ inputs: [good], outputs: [{ name: 'logits' }] }), {}, 400, /outputs\[0\]\.name/],
    ['bad classification', JSON.stringify({ inputs: [good], outputs: [{ name: 'probabilities', parameters: { classification: 9 } }] }), {}, 400, /classification.*1 to 3/],
    ['header length past the body', '{}', { 'inference-header-content-length': '99' }, 400, /inference-header-content-length/],
    ['binary size past the body', short.body, short.headers, 400, /binary_data_size/],
    ['bytes not an image', JSON.stringify({ inputs: [{ name: 'input', datatype: 'BYTES', shape: [1], data: [Buffer.from('hello').toString('base64')] }] }), {}, 415, /inputs\[0\]\.data\[0\]/],
    ['unknown model', JSON.stringify({ inputs: [good] }), {}, 404, /no-such/],
  ];
  const before = tf.memory().numTensors;
  for (const [name, body, headers, status, pattern] of cases) {
    const url = name === 'unknown model' ? `${base}/v2/models/no-such/infer` : `${base}${INFER}`;
    const res = await post(url, body, headers);
    assert.equal(res.status, status, `${name}: ${res.answer.toString()}`);
    const answer = JSON.parse(res.answer.toString()) as { error: unknown };
    assert.equal(typeof answer.error, 'string', name);
    assert.match(answer.error as string, pattern, name);
  }
  assert.equal(tf.memory().numTensors, before);
});
