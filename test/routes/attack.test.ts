import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import * as tf from '@tensorflow/tfjs';
import request from 'supertest';
import { build } from '../helpers/build.ts';
import { encodeGrey, pixelArray } from '../helpers/images.ts';

const url = '/v1/models/tiny/attack';
const image = pixelArray(8, 8, (y, x) => ((y * 3 + x * 5) % 11) / 11);
const other = pixelArray(8, 8, (y, x) => ((y + x) % 4) / 4);

test('one image: success, predictions, the adversarial floats inside the ε-ball, PNGs, norms', async (t) => {
  const { app } = await build(t);
  const res = await request(app.server).post(url).send({ image, method: 'pgd', epsilon: 0.3, steps: 10, seed: 1 });
  assert.equal(res.status, 200, res.text);
  const b = res.body;
  assert.equal(b.method, 'pgd');
  assert.equal(b.norm, 'linf');
  assert.equal(b.targeted, false);
  assert.equal(b.epsilon, 0.3);
  assert.equal(typeof b.success, 'boolean');
  assert.equal(typeof b.successQuantized, 'boolean');
  assert.deepEqual(b.adversarial.image.shape, [8, 8, 1]);
  const flat = image.flat();
  const adv: number[] = b.adversarial.image.data;
  assert.ok(adv.every((v, i) => v >= 0 && v <= 1 && Math.abs(v - flat[i]!) <= 0.3 + 1e-6));
  assert.ok(Math.abs(Math.max(...adv.map((v, i) => Math.abs(v - flat[i]!))) - b.perturbation.linf) < 1e-6);
  for (const png of [b.adversarial.png, b.perturbation.png]) assert.equal(Buffer.from(png, 'base64').subarray(1, 4).toString(), 'PNG');
  assert.equal(b.original.predictions[0].index, b.label.index);
  assert.equal(b.iterations, 10);
  assert.ok(b.elapsedMs >= 0);
});

test('targeted, batches, ε curves, multipart', async (t) => {
  const { app } = await build(t);
  const targeted = await request(app.server).post(url).send({ image, method: 'bim', epsilon: 0.5, steps: 20, target: 'square' });
  assert.equal(targeted.status, 200);
  assert.equal(targeted.body.targeted, true);
  assert.deepEqual(targeted.body.target, { index: 1, label: 'square' });
  if (targeted.body.success) assert.equal(targeted.body.adversarial.predictions[0].label, 'square');
  const batch = await request(app.server).post(url).send({ images: [image, other], method: 'fgsm', epsilon: 0.2 });
  assert.equal(batch.status, 200);
  assert.equal(batch.body.results.length, 2);
  assert.equal(typeof batch.body.successRate, 'number');
  assert.equal(typeof batch.body.robustAccuracy, 'number');
  const curve = await request(app.server).post(url).send({ images: [image, other], method: 'fgsm', epsilons: [0.05, 0.1, 0.3] });
  assert.deepEqual(curve.body.epsilons.map((e: { epsilon: number }) => e.epsilon), [0.05, 0.1, 0.3]);
  assert.equal(curve.body.epsilons[2].results.length, 2);
  const multipart = await request(app.server).post(url).field('method', 'deepfool').field('norm', 'l2').attach('image', await encodeGrey(8, 8, 'png'), 'x.png');
  assert.equal(multipart.status, 200, multipart.text);
  assert.equal(multipart.body.norm, 'l2');
  const cw = await request(app.server).post(url).send({ image, method: 'cw', steps: 20, binarySearchSteps: 2 });
  assert.equal(cw.status, 200, cw.text);
});

test('Accept: text/event-stream streams progress events, then the result', async (t) => {
  const { app } = await build(t);
  const res = await request(app.server).post(url).set('accept', 'text/event-stream').send({ image, method: 'pgd', epsilon: 0.3, steps: 5 });
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'] ?? '', /text\/event-stream/);
  const events = res.text.trim().split('\n\n').map((block) => {
    const [eventLine, dataLine] = block.split('\n');
    return { event: eventLine!.replace('event: ', ''), data: JSON.parse(dataLine!.replace('data: ', '')) };
  });
  const progress = events.filter((e) => e.event === 'progress');
  assert.ok(progress.length >= 1);
  assert.equal(progress.at(-1)!.data.step, 5);
  assert.ok(Array.isArray(progress[0]!.data.top) && typeof progress[0]!.data.loss === 'number');
  assert.equal(events.at(-1)!.event, 'result');
  assert.equal(events.at(-1)!.data.method, 'pgd');
  const bad = await request(app.server).post(url).set('accept', 'text/event-stream').send({ image, method: 'pgd', epsilon: 0.3, target: 'nope' });
  assert.equal(bad.status, 400, 'validation errors are still plain 400s');
});

test('a client that disconnects stops the attack', async (t) => {
  const { app } = await build(t, { argv: ['--max-steps', '1000000'] });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const steps = async () => {
    const text = (await request(app.server).get('/metrics')).text;
    return Number(text.match(/gradlab_attack_steps_total\{model="tiny",method="pgd"\} (\d+)/)?.[1] ?? 0);
  };
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: url, method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' } }, (res) => {
      res.once('data', () => {
        req.destroy(); // the first progress event arrived: hang up
        resolve();
      });
    });
    req.on('error', () => {});
    req.on('close', () => resolve());
    req.end(JSON.stringify({ image, method: 'pgd', epsilon: 0.3, steps: 500_000 }));
    setTimeout(() => reject(new Error('no progress event')), 30_000);
  });
  await new Promise((r) => setTimeout(r, 300));
  const afterHangUp = await steps();
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await steps(), afterHangUp, 'no more steps after the client left');
  assert.ok(afterHangUp < 500_000);
});

test('bad parameters answer 400 naming them; the step limit is enforced; no tensor leaks', async (t) => {
  const { app } = await build(t, { argv: ['--max-steps', '100'] });
  const cases: [Record<string, unknown>, string][] = [
    [{ image, method: 'pgd', epsilon: -0.1 }, 'epsilon'],
    [{ image, method: 'pgd' }, 'epsilon'],
    [{ image, method: 'pgd', epsilon: 0.1, steps: 101 }, 'steps'],
    [{ image, method: 'pgd', epsilon: 0.1, steps: 60, restarts: 2 }, 'steps'],
    [{ image, method: 'cw', binarySearchSteps: 5 }, 'binarySearchSteps'],
    [{ image, method: 'pgd', epsilon: 0.1, target: 'nope' }, 'target'],
    [{ image, method: 'cw', norm: 'linf' }, 'norm'],
    [{ image, method: 'deepfool', target: 1 }, 'target'],
    [{ image, method: 'boom' }, 'method'],
    [{ image, method: 'pgd', epsilon: 0.1, norm: 'l1' }, 'norm'],
    [{ image, method: 'pgd', epsilons: [] }, 'epsilons'],
    [{ image, method: 'pgd', epsilon: 'big' }, 'epsilon'],
  ];
  for (const [body, field] of cases) {
    const res = await request(app.server).post(url).send(body);
    assert.equal(res.status, 400, `${field}: ${res.text}`);
    assert.equal(res.body.error.field, field, res.text);
  }
  await request(app.server).post(url).send({ image, method: 'fgsm', epsilon: 0.1 });
  const before = tf.memory().numTensors;
  for (const method of ['fgsm', 'bim', 'pgd', 'mifgsm', 'cw', 'deepfool']) {
    const res = await request(app.server).post(url).send({ images: [image, other], method, epsilon: 0.2, ...(method === 'cw' ? { steps: 5, binarySearchSteps: 2 } : method === 'fgsm' || method === 'deepfool' ? {} : { steps: 5 }) });
    assert.equal(res.status, 200, `${method}: ${res.text}`);
  }
  assert.equal(tf.memory().numTensors, before);
});

test('the schema lists exactly the attack specs’ parameters, with their bounds', async () => {
  const { AttackParams } = await import('../../routes/schemas/attack.ts');
  const { ATTACK_METHODS, ATTACK_SPECS, parametersByName } = await import('../../src/attacks/specs.ts');
  const common = ['method', 'norm', 'epsilon', 'epsilons', 'target', 'label', 'seed', 'scale', 'encodingFormat'];
  const own = Object.keys(AttackParams.properties).filter((p) => !common.includes(p)).sort();
  assert.deepEqual(own, [...new Set(ATTACK_METHODS.flatMap((m) => Object.keys(ATTACK_SPECS[m].params)))].sort());
  const methods = (AttackParams.properties.method as { anyOf: { const: string }[] }).anyOf.map((s) => s.const);
  assert.deepEqual(methods, [...ATTACK_METHODS]);
  for (const [name, { specs }] of parametersByName()) {
    const schema = (AttackParams.properties as Record<string, unknown>)[name] as Record<string, unknown>;
    const loosestMin = Math.min(...specs.map((s) => s.minimum ?? Infinity));
    if (Number.isFinite(loosestMin)) assert.equal(schema.minimum, loosestMin, name);
    if (specs.every((s) => s.maximum !== undefined)) assert.equal(schema.maximum, Math.max(...specs.map((s) => s.maximum!)), name);
    else assert.equal(schema.maximum, undefined, `${name}: one method has no maximum`);
    assert.equal(typeof schema.description, 'string');
  }
});

test('the step limit scales C&W defaults to fit and names the flag for explicit values over it', async (t) => {
  const { app } = await build(t, { argv: ['--max-steps', '50'] });
  const cw = await request(app.server).post(url).send({ image, method: 'cw' });
  assert.equal(cw.status, 200, cw.text);
  assert.equal(cw.body.iterations, 50, '⌊50 / 5⌋ = 10 Adam steps × 5 binary-search steps');
  const over = await request(app.server).post(url).send({ image, method: 'cw', steps: 20 });
  assert.equal(over.status, 400);
  assert.equal(over.body.error.field, 'steps');
  assert.match(over.body.error.message, /^steps: 100 is over the configured maximum of 50 \(--max-steps\)$/);
});
