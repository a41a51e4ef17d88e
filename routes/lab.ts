/**
 * The lab page: `GET /` (the HTML shell), `GET /lab/:asset` (the script and style sheet, built in
 * memory from web/ by src/http/web-bundle.ts: `lab.*` in white-box mode, `student.*` in black-box) and, in white-box mode, `GET /v1/models/:model/samples`
 * (a gallery of held-out images with their labels from the model folder's `samples.json`, for the
 * page's Input view). The page is a client of /v1 like any other; in black-box mode it is the
 * student's view (another bundle, without the lab's code) and the samples route does not exist.
 * Nothing the page loads leaves the server's origin: the Content-Security-Policy forbids it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { badParameter, GradlabError } from '../src/errors.ts';
import type { AppContext } from '../src/http/context.ts';
import { webBundle, type WebAsset } from '../src/http/web-bundle.ts';
import { ModelParams } from './schemas/common.ts';

const CSP = [
  "default-src 'self'", "img-src 'self' data: blob:", "style-src 'self'", "script-src 'self'", "connect-src 'self'",
  "object-src 'none'", "base-uri 'none'", "frame-ancestors 'self'", "form-action 'none'",
].join('; ');

export const MAX_SAMPLES = 100;
const AssetParams = Type.Object({ asset: Type.String({ minLength: 1, maxLength: 64 }) });
// A query string holds strings (the app does not coerce types): the route reads the number itself.
const SamplesQuery = Type.Object({ limit: Type.Optional(Type.String({ maxLength: 8 })) }, { additionalProperties: false });

function sampleLimit(text: string | undefined): number {
  if (text === undefined) return MAX_SAMPLES;
  const limit = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(limit >= 1 && limit <= MAX_SAMPLES)) throw badParameter('limit', `limit must be a whole number from 1 to ${MAX_SAMPLES}, not '${text}'`);
  return limit;
}

interface Sample { label: string; index: number; png: string }
interface SampleSet { source: string; samples: Sample[] }

function shell(page: string, teacher: boolean, css: WebAsset | undefined, js: WebAsset | undefined): string {
  const version = (asset: WebAsset | undefined) => encodeURIComponent(asset?.etag.replaceAll('"', '') ?? '');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${teacher ? '<meta name="gradlab-teacher" content="on">\n' : ''}<title>${page === 'lab' ? 'gradlab lab' : 'gradlab prediction API'}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/lab/${page}.css?v=${version(css)}">
</head>
<body>
<div id="app"><noscript>The gradlab lab page needs JavaScript. The API works without it: see /docs.</noscript></div>
<script type="module" src="/lab/${page}.js?v=${version(js)}"></script>
</body>
</html>
`;
}

/** Reads a model folder's samples.json once; a model without one has an empty gallery. */
async function readSamples(source: string): Promise<SampleSet> {
  if (/^[a-z]+:\/\//i.test(source)) return { source: 'none (the model was loaded from a URL)', samples: [] };
  let text: string;
  try {
    text = await readFile(path.join(source, 'samples.json'), 'utf8');
  } catch {
    return { source: 'none (the model folder has no samples.json)', samples: [] };
  }
  let parsed: Partial<SampleSet>;
  try {
    parsed = JSON.parse(text) as Partial<SampleSet>;
  } catch {
    return { source: 'none (the model folder\'s samples.json is not valid JSON)', samples: [] };
  }
  const samples = (parsed.samples ?? []).slice(0, MAX_SAMPLES).map(({ label, index, png }) => ({ label, index, png }));
  return { source: String(parsed.source ?? ''), samples };
}

function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: WebAsset, versioned: boolean) {
  void reply.header('etag', asset.etag).header('content-type', asset.contentType).header('x-content-type-options', 'nosniff');
  // A versioned URL (?v=hash) never changes content: cache it for good; the bare name revalidates.
  void reply.header('cache-control', versioned ? 'public, max-age=31536000, immutable' : 'no-cache');
  void reply.header('vary', 'accept-encoding');
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  if (/\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) return reply.header('content-encoding', 'gzip').send(asset.gzip);
  return reply.send(asset.body);
}

export const labRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  // Built while the app starts: a broken front-end fails the start, not the first visitor.
  const built = await webBundle();
  // Black-box mode serves the student's page only: the lab's script is not even downloadable there.
  const page = ctx.config.mode === 'whitebox' ? 'lab' : 'student';
  const bundle = new Map([...built].filter(([name]) => name.startsWith(`${page}.`)));
  // The teacher's view of the query log exists only with an admin key (routes/teacher.ts).
  const { blackbox } = ctx.config;
  const teacher = page === 'student' && blackbox.adminKey !== undefined && blackbox.apiKeys.length > 0;
  const html = shell(page, teacher, bundle.get(`${page}.css`), bundle.get(`${page}.js`));

  app.get('/', (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').send(html));

  app.get<{ Params: Static<typeof AssetParams> }>('/lab/:asset', { schema: { params: AssetParams } }, (request, reply) => {
    const asset = bundle.get(request.params.asset);
    if (!asset) throw new GradlabError('GRADLAB_NOT_FOUND', `the lab page has no asset '${request.params.asset}'`, 'asset');
    return sendAsset(request, reply, asset, typeof (request.query as { v?: unknown }).v === 'string');
  });

  if (ctx.config.mode !== 'whitebox') return;
  const cache = new Map<string, Promise<SampleSet>>();
  app.get<{ Params: Static<typeof ModelParams>; Querystring: Static<typeof SamplesQuery> }>(
    '/v1/models/:model/samples',
    { schema: { params: ModelParams, querystring: SamplesQuery } },
    async (request) => {
      const model = ctx.registry.get(request.params.model);
      const limit = sampleLimit(request.query.limit);
      let set = cache.get(model.name);
      if (!set) {
        set = readSamples(model.source);
        cache.set(model.name, set);
      }
      const { source, samples } = await set;
      return { model: model.name, source, samples: samples.slice(0, limit) };
    },
  );
};
