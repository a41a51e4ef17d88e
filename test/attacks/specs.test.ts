import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ATTACK_METHODS, ATTACK_SPECS, parametersByName } from '../../src/attacks/specs.ts';
import { costFields, defaultOf, iterationCost, type ParamSpec } from '../../src/attacks/spec.ts';

test('the registry has one spec per method, named as the method', () => {
  assert.deepEqual(Object.keys(ATTACK_SPECS).sort(), [...ATTACK_METHODS].sort());
  for (const method of ATTACK_METHODS) {
    const spec = ATTACK_SPECS[method];
    assert.equal(spec.name, method);
    assert.ok(spec.paper.length > 0, `${method}: paper`);
    assert.ok(spec.norms.includes(spec.defaultNorm), `${method}: default norm ${spec.defaultNorm} is supported`);
    assert.ok(['fixed-epsilon', 'minimization'].includes(spec.kind));
  }
});

test('every parameter has a description, a default of its type inside its bounds, and numeric bounds', () => {
  for (const method of ATTACK_METHODS) {
    const spec = ATTACK_SPECS[method];
    for (const norm of spec.norms) {
      const epsilon = spec.kind === 'fixed-epsilon' ? 0.3 : undefined;
      for (const [name, param] of Object.entries<ParamSpec>(spec.params)) {
        const where = `${method}.${name} (${norm})`;
        assert.ok(param.description.length > 5, `${where}: description`);
        const value = defaultOf(param, norm, epsilon);
        if (param.type === 'boolean') {
          assert.equal(typeof value, 'boolean', where);
          continue;
        }
        if (param.type === 'string') {
          assert.ok(param.values!.includes(value as string), `${where}: default among the values`);
          continue;
        }
        assert.equal(typeof value, 'number', where);
        assert.ok(param.minimum !== undefined || param.exclusiveMinimum !== undefined, `${where}: a lower bound`);
        const v = value as number;
        if (param.type === 'integer') assert.ok(Number.isInteger(v), `${where}: integer default`);
        if (param.minimum !== undefined) assert.ok(v >= param.minimum, `${where}: ${v} ≥ ${param.minimum}`);
        if (param.exclusiveMinimum !== undefined) assert.ok(v > param.exclusiveMinimum, `${where}: ${v} > ${param.exclusiveMinimum}`);
        if (param.maximum !== undefined) assert.ok(v <= param.maximum, `${where}: ${v} ≤ ${param.maximum}`);
      }
    }
  }
});

test('iteration costs: factors are integer parameters; restarts and binary search multiply', () => {
  for (const method of ATTACK_METHODS) {
    const spec = ATTACK_SPECS[method];
    for (const f of costFields(spec)) assert.equal((spec.params[f] as ParamSpec).type, 'integer', `${method}.${f}`);
  }
  assert.equal(iterationCost(ATTACK_SPECS.pgd, { steps: 40, restarts: 3 }), 120);
  assert.equal(iterationCost(ATTACK_SPECS.cw, { steps: 100, binarySearchSteps: 5 }), 500);
  assert.equal(iterationCost(ATTACK_SPECS.deepfool, { steps: 50 }), 50);
});

test('what each method declares (the behaviour users rely on)', () => {
  const kinds = Object.fromEntries(ATTACK_METHODS.map((m) => [m, ATTACK_SPECS[m].kind]));
  assert.deepEqual(kinds, {
    fgsm: 'fixed-epsilon', bim: 'fixed-epsilon', pgd: 'fixed-epsilon', mifgsm: 'fixed-epsilon', cw: 'minimization', deepfool: 'minimization',
    'apgd-ce': 'fixed-epsilon', 'apgd-t': 'fixed-epsilon', 'fab-t': 'minimization', square: 'fixed-epsilon', autoattack: 'fixed-epsilon',
  });
  assert.deepEqual(ATTACK_SPECS.cw.norms, ['l2']);
  assert.equal(ATTACK_SPECS.deepfool.targetable, false);
  assert.deepEqual(parametersByName().get('restarts')!.methods, ['pgd']);
  assert.deepEqual(parametersByName().get('stepSize')!.methods, ['fgsm', 'bim', 'pgd', 'mifgsm']);
  const pgd = ATTACK_SPECS.pgd.params;
  assert.deepEqual([defaultOf(pgd.steps!, 'linf', 0.3), defaultOf(pgd.stepSize!, 'linf', 0.3), defaultOf(pgd.randomStart!, 'linf', 0.3)], [40, 0.01, true]);
  assert.deepEqual([defaultOf(pgd.steps!, 'l2', 2), defaultOf(pgd.stepSize!, 'l2', 2)], [50, 0.05]);
});
