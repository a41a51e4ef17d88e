/** The API contract (`GET /openapi.yaml`, the file at the repository root) and an interactive page for it (`GET /docs`). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { GradlabError } from '../src/errors.ts';
import { errorHandler, handleNotFound } from '../src/http/error-handler.ts';

export const OPENAPI_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'openapi.yaml');

// Docs are served in white-box mode only; no request limit is in play on these routes.
const answerError = errorHandler(undefined, false);

export const docsRoutes: FastifyPluginAsync = async (app) => {
  // The page's static files are served by @fastify/send, which refuses a path leaving its folder
  // (`/docs/static/%2e%2e/…`) or naming no file with a 4xx error of its own: such a path is one the
  // server does not serve, answered exactly as any unknown path.
  app.setErrorHandler((err, request, reply) => {
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500 && !(err instanceof GradlabError)) return handleNotFound(request, reply);
    return answerError(err, request, reply);
  });
  const document = readFileSync(OPENAPI_PATH, 'utf8');
  app.get('/openapi.yaml', async (_request, reply) => reply.type('application/yaml; charset=utf-8').send(document));
  await app.register(swagger, { mode: 'static', specification: { path: OPENAPI_PATH, baseDir: path.dirname(OPENAPI_PATH) } });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    // The stock policy ends with `upgrade-insecure-requests`, which makes a browser fetch the
    // page's own scripts over https: a blank page on any plain-http address but localhost (a
    // teacher's server, a container seen from another machine). gradlab serves http.
    transformStaticCSP: (header) => header.replace(/;?\s*upgrade-insecure-requests\s*;?/g, ';').replace(/;+\s*$/, ''),
  });
};
