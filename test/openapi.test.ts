/**
 * openapi.yaml is the contract: every route the app serves is documented, every documented route
 * is served, and the request parameters the routes validate match the document's schemas.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { TObject } from '@sinclair/typebox';
import { buildApp } from '../src/http/app.ts';
import { loadConfig } from '../src/config.ts';
import { initBackend } from '../src/backend/index.ts';
import { createModelRegistry } from '../src/http/model-registry.ts';
import { OPENAPI_PATH } from '../routes/docs.ts';
import { ClassifyParams } from '../routes/schemas/classify.ts';
import { ExplainParams } from '../routes/schemas/explain.ts';
import { VisualizeParams } from '../routes/schemas/visualize.ts';
import { ScoreParams, SequenceExplainParams } from '../routes/schemas/score.ts';
import { AttackParams } from '../routes/schemas/attack.ts';

type Doc = { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, { properties?: Record<string, Record<string, unknown>> }> } };
const doc = parse(readFileSync(OPENAPI_PATH, 'utf8')) as Doc;

/** Routes added by the Swagger UI plugin to serve its own assets, not part of the API. */
const isDocsAsset = (url: string) => url.startsWith('/docs/') || url === '/docs/';

async function servedRoutes(mode: 'whitebox' | 'blackbox'): Promise<Set<string>> {
  const backend = await initBackend('wasm');
  const config = loadConfig(['--mode', mode, ...(mode === 'blackbox' ? ['--allow-no-keys', 'yes'] : [])], {});
  const registry = createModelRegistry({ batching: config.batching });
  const routes = new Set<string>();
  const app = await buildApp({
    config,
    registry,
    backend,
    logger: false,
    onRoute: ({ method, url }) => {
      for (const m of [method].flat()) {
        if (m === 'HEAD' || isDocsAsset(url)) continue;
        // KServe v1's `/v1/models/:model(^[^:/]+)::predict` is the path /v1/models/{model}:predict.
        routes.add(`${m} ${url.replace('(^[^:/]+)::', '\u0000').replace(/:(\w+)/g, '{$1}').replace('\u0000', ':')}`);
      }
    },
  });
  await app.ready();
  await app.close();
  return routes;
}

function documentedRoutes(): Set<string> {
  const out = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) {
      if (['get', 'post', 'put', 'delete', 'patch'].includes(method)) out.add(`${method.toUpperCase()} ${path}`);
    }
  }
  return out;
}

test('every served route is documented and every documented route is served', async () => {
  const served = await servedRoutes('whitebox');
  const documented = documentedRoutes();
  assert.deepEqual([...served].filter((r) => !documented.has(r)), [], 'served but not in openapi.yaml');
  // The teacher's view exists only in black-box mode with keys and an admin key (routes/teacher.ts).
  const blackboxOnly = new Set(['GET /admin/usage']);
  assert.deepEqual([...documented].filter((r) => !served.has(r) && !blackboxOnly.has(r)), [], 'in openapi.yaml but not served');
});

test('black-box mode serves a subset of the documented routes', async () => {
  const served = await servedRoutes('blackbox');
  const documented = documentedRoutes();
  for (const r of served) assert.ok(documented.has(r), r);
  assert.ok(!served.has('GET /docs'));
});

/** The literal values a schema allows (TypeBox unions of literals, OpenAPI enums), sorted; undefined if open. */
function allowedValues(schema: Record<string, unknown>): string[] | undefined {
  if (Array.isArray(schema.enum)) return [...(schema.enum as string[])].sort();
  // A literal (TypeBox) or const (OpenAPI) is a string, number or boolean.
  const literal = schema.const as string | number | boolean | undefined;
  if (literal !== undefined) return [String(literal)];
  const options = (schema.anyOf ?? schema.oneOf) as Record<string, unknown>[] | undefined;
  if (!options) return undefined;
  const values = options.map(allowedValues);
  return values.every((v) => v) ? values.flat().map(String).sort() : undefined;
}

/** The document's request schema must list the same parameters, types and bounds as the route's TypeBox schema. */
function assertSameParameters(schemaName: string, typebox: TObject, imageFields: string[]) {
  const documented = doc.components.schemas[schemaName]?.properties ?? {};
  const names = Object.keys(documented).filter((n) => !imageFields.includes(n)).sort();
  assert.deepEqual(names, Object.keys(typebox.properties).sort(), `${schemaName}: parameter names`);
  for (const name of names) {
    const d = documented[name]!;
    const s = typebox.properties[name] as Record<string, unknown>;
    for (const key of ['type', 'minimum', 'maximum', 'exclusiveMinimum', 'minItems', 'maxItems']) {
      assert.deepEqual(d[key], s[key], `${schemaName}.${name}.${key}`);
    }
    assert.deepEqual(allowedValues(d), allowedValues(s), `${schemaName}.${name}: allowed values`);
  }
}

test('request parameters agree with the route schemas', () => {
  assertSameParameters('ClassifyRequest', ClassifyParams, ['image', 'images']);
  assertSameParameters('ExplainRequest', ExplainParams, ['image', 'images']);
  assertSameParameters('VisualizeRequest', VisualizeParams, []);
  assertSameParameters('ScoreRequest', ScoreParams, []);
  assertSameParameters('SequenceExplainRequest', SequenceExplainParams, []);
  assertSameParameters('AttackRequest', AttackParams, ['image', 'images']);
  // The multipart forms Swagger UI's "Try it out" renders: a file picker and every parameter.
  assertSameParameters('ExplainForm', ExplainParams, ['image']);
  assertSameParameters('AttackForm', AttackParams, ['image']);
});

test('the multipart forms of explain and attack offer a file picker (image: binary files)', () => {
  for (const form of ['ExplainForm', 'AttackForm']) {
    const image = doc.components.schemas[form]?.properties?.image as { type?: string; items?: { format?: string } } | undefined;
    assert.equal(image?.type, 'array', form);
    assert.equal(image?.items?.format, 'binary', form);
  }
  for (const path of ['/v1/models/{model}/explain', '/v1/models/{model}/attack']) {
    const body = (doc.paths[path]?.post as { requestBody: { content: Record<string, { schema: { $ref?: string } }> } }).requestBody;
    assert.match(body.content['multipart/form-data']?.schema.$ref ?? '', /Form$/, path);
  }
});
