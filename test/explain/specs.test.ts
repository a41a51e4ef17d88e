/**
 * Table-driven over every explanation spec (src/explain/registry.ts), alone and under every
 * wrapper, on the tiny fixture models: what each spec declares (rendering, default score,
 * requirements, parameters, convergence, cost) is what explaining an image does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { GradlabError } from '../../src/errors.ts';
import { explainImages, type ExplainRequest } from '../../src/explain/explain.ts';
import { layerWalk } from '../../src/explain/layer-walk.ts';
import { allParameters, appliesOnlyTo, BASE_SPECS, METHOD_SPECS, WRAPPER_SPECS } from '../../src/explain/registry.ts';
import { checkRequirements, gradientsPerImage } from '../../src/explain/resolve.ts';
import type { BaseMethodSpec, ParameterSpec, WrapperSpec } from '../../src/explain/spec.ts';
import { ImageModel } from '../../src/model/image-model.ts';
import { buildFixtureNet, FIXTURE_LABELS } from '../helpers/fixture-model.ts';
import { handReluNet, manifestFor, smoothNet } from '../helpers/tiny-models.ts';

await initBackend(process.env.GRADLAB_TEST_BACKEND === 'cpu' ? 'cpu' : 'wasm');

/** The conv fixture on 3 channels, so that a map's channel count shows. */
const rgbFixture = () => new ImageModel(manifestFor('rgb', [8, 8, 3], FIXTURE_LABELS), buildFixtureNet({ channels: 3 }), 'memory');
const image = (seed: number) => new Float32Array(8 * 8 * 3).map((_, i) => ((i * 13 + seed * 7) % 17) / 17);

/** Every way to run a base method: alone, and under each wrapper (few samples, to stay quick). */
const runs: { base: BaseMethodSpec; wrapper?: WrapperSpec; request: ExplainRequest }[] = BASE_SPECS.flatMap((base) => [
  { base, request: { method: base.name, steps: 8 } as ExplainRequest },
  ...WRAPPER_SPECS.map((wrapper) => ({ base, wrapper, request: { method: wrapper.name, [wrapper.baseParameter]: base.name, samples: 2, seed: 1, steps: 8 } as ExplainRequest })),
]);

test('every spec, alone and wrapped: map shape, finite values, what the spec declares, no leaked tensor', async () => {
  const model = rgbFixture();
  await explainImages(model, [image(0)], { method: 'gradient' });
  for (const { base, wrapper, request } of runs) {
    const label = wrapper ? `${wrapper.name}(${base.name})` : base.name;
    const before = tf.memory().numTensors;
    const results = await explainImages(model, [image(1), image(2)], request);
    assert.equal(tf.memory().numTensors, before, `${label}: tensors leaked`);
    assert.equal(results.length, 2);
    for (const r of results) {
      const [h, w, c] = r.map.shape;
      assert.deepEqual([h, w], [8, 8], label);
      // Grad-CAM's heat map has one channel; every other map has the input's.
      assert.equal(c, base.rendering === 'heat' ? 1 : 3, label);
      assert.equal(r.map.data.length, 8 * 8 * c, label);
      assert.ok(r.map.data.every(Number.isFinite), `${label}: finite`);
      assert.ok(r.map.data.some((v) => v !== 0), `${label}: not all zero`);
      assert.equal(r.rendering, base.rendering, label);
      assert.equal(r.score, base.defaultScore, label);
      assert.equal(r.method, request.method, label);
      assert.equal(r.base, wrapper ? base.name : undefined, label);
      assert.equal(r.layer !== undefined, base.explainedLayer !== undefined, `${label}: layer reported`);
      // The convergence check belongs to the base method's own map, not to a wrapper's average.
      assert.equal(r.completeness !== undefined, base.convergence !== undefined && !wrapper, `${label}: completeness`);
      if (r.completeness) assert.ok(Number.isFinite(r.completeness.relativeError), label);
    }
  }
  model.dispose();
});

/** A functional model that applies one ReLU dense layer twice: no single wiring to follow layer by layer. */
function sharedLayerNet(): ImageModel {
  const input = tf.input({ shape: [1, 2, 1] });
  const dense = tf.layers.dense({ units: 2, activation: 'relu' });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  const twice = dense.apply(dense.apply(flat)) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2 }).apply(twice) as tf.SymbolicTensor;
  return new ImageModel(manifestFor('shared', [1, 2, 1], ['a', 'b']), tf.model({ inputs: input, outputs: out }), 'memory');
}

test('each unmet requirement is a 400 naming the field and what is missing', async () => {
  // smoothNet: tanh dense layers (no ReLU, no convolution); handReluNet: ReLU, no convolution.
  const models = [smoothNet(), handReluNet([[1, 0], [0, 1]], [[1, 0], [0, 1]])];
  let refusals = 0;
  for (const model of models) {
    const ctx = { model, walk: layerWalk(model) };
    for (const { base, wrapper, request } of runs) {
      const unmet = base.requires.find((r) => r.missing(ctx) !== undefined);
      const input = new Float32Array(model.pixelsPerImage).fill(0.5);
      const before = tf.memory().numTensors;
      if (!unmet) {
        await explainImages(model, [input], request);
        assert.equal(tf.memory().numTensors, before);
        continue;
      }
      const field = wrapper ? wrapper.baseParameter : 'method';
      await assert.rejects(explainImages(model, [input], request), (e) => {
        assert.ok(e instanceof GradlabError, String(e));
        assert.equal(e.code, 'GRADLAB_UNSUPPORTED_OPERATION');
        assert.equal(e.statusCode, 400);
        assert.equal(e.field, field);
        assert.ok(e.message.startsWith(`${field}: '${base.name}' needs ${unmet.needs}; ${unmet.missing(ctx)}`), e.message);
        return true;
      });
      assert.equal(tf.memory().numTensors, before);
      refusals++;
    }
  }
  assert.ok(refusals > 0);
  const [dense, hand] = models;
  await assert.rejects(explainImages(dense!, [new Float32Array(9)], { method: 'guided-backprop' }), /method: 'guided-backprop' needs ReLU activations that it can replace; 'smooth' has none/);
  await assert.rejects(explainImages(hand!, [new Float32Array(2)], { method: 'gradcam' }), /method: 'gradcam' needs a convolutional layer; 'hand' has none/);
  // A model gradlab cannot run node by node (a layer used twice): the refusal says why and
  // suggests the methods that need nothing of the model.
  const shared = sharedLayerNet();
  const unwalked = { model: shared, walk: layerWalk(shared) };
  assert.equal(unwalked.walk, undefined);
  const needsWalk = BASE_SPECS.filter((s) => s.requires.some((r) => r.suggestUnrestricted && r.missing(unwalked) !== undefined));
  assert.deepEqual(needsWalk.map((s) => s.name).sort(), ['gradcam', 'guided-backprop', 'guided-gradcam']);
  for (const spec of needsWalk) {
    assert.throws(() => checkRequirements(spec, unwalked, 'method'), (e) => {
      assert.ok(e instanceof GradlabError && e.field === 'method');
      assert.equal(e.message, `method: '${spec.name}' needs a model that gradlab can run node by node; 'shared' is a layers model with shared layers, nested models or several inputs, which gradlab cannot follow layer by layer (use gradient or integrated-gradients)`);
      return true;
    });
  }
  for (const spec of BASE_SPECS.filter((s) => !needsWalk.includes(s))) assert.doesNotThrow(() => checkRequirements(spec, unwalked, 'method'), spec.name);
  shared.dispose();
  models.forEach((m) => m.dispose());
});

/** A valid value of a parameter, to give it to a method that does not take it. */
function sampleValue(param: ParameterSpec): unknown {
  switch (param.type) {
    case 'integer':
    case 'number':
      return param.minimum ?? 1;
    case 'enum':
      return param.values![0];
    case 'string':
      return 'conv1';
    case 'image':
      return new Float32Array(8 * 8 * 3);
    case 'base-method':
      return BASE_SPECS[0]!.name;
  }
}

test('a parameter given to a method that does not take it is refused or ignored, as its spec says', async () => {
  const model = rgbFixture();
  const owner = (spec: BaseMethodSpec, wrapper?: WrapperSpec) => (name: string) => name in spec.parameters || (wrapper !== undefined && name in wrapper.parameters);
  let refused = 0;
  let ignored = 0;
  for (const { base, wrapper, request } of runs) {
    const takes = owner(base, wrapper);
    for (const [name, param] of allParameters()) {
      if (takes(name)) continue;
      const withIt = { ...request, [name]: sampleValue(param) };
      if (param.elsewhere === 'refuse') {
        await assert.rejects(explainImages(model, [image(3)], withIt), (e) => {
          assert.ok(e instanceof GradlabError && e.statusCode === 400 && e.field === name, String(e));
          assert.equal(e.message, `${name}: ${appliesOnlyTo(name)}`);
          return true;
        });
        refused++;
      } else {
        const [a] = await explainImages(model, [image(3)], withIt);
        const [b] = await explainImages(model, [image(3)], request);
        assert.deepEqual(a!.map.data, b!.map.data, `${name} is ignored by ${request.method}`);
        ignored++;
      }
    }
  }
  assert.ok(refused > 0 && ignored > 0);
  // The generated messages are today's.
  assert.equal(appliesOnlyTo('layer'), 'applies only to gradcam and guided-gradcam');
  assert.equal(appliesOnlyTo('baseline'), 'applies only to integrated-gradients');
  assert.equal(appliesOnlyTo('rule'), 'applies only to integrated-gradients');
  assert.equal(appliesOnlyTo('base'), "applies only to method 'smoothgrad'");
  model.dispose();
});

test('cost in gradient evaluations per image: as declared, multiplied by a wrapper', () => {
  for (const base of BASE_SPECS) {
    const alone = gradientsPerImage({ method: base.name, steps: 10 });
    assert.ok(Number.isInteger(alone) && alone >= 1, base.name);
    for (const wrapper of WRAPPER_SPECS) {
      assert.equal(gradientsPerImage({ method: wrapper.name, [wrapper.baseParameter]: base.name, steps: 10, samples: 3 }), 3 * alone, `${wrapper.name}(${base.name})`);
    }
  }
  assert.equal(gradientsPerImage({ method: 'gradient' }), 1);
  assert.equal(gradientsPerImage({ method: 'guided-gradcam' }), 2);
  assert.equal(gradientsPerImage({ method: 'integrated-gradients', steps: 10 }), 11);
  assert.equal(gradientsPerImage({ method: 'integrated-gradients' }), 65, 'default 64 steps');
  assert.equal(gradientsPerImage({ method: 'smoothgrad' }), 25, 'default: 25 samples of gradient');
  // Every method name is a spec's, once.
  assert.equal(new Set(METHOD_SPECS.map((s) => s.name)).size, METHOD_SPECS.length);
});
