/**
 * `GET /admin/usage`: the teacher's view of a black-box lab (src/blackbox/usage.ts), for the lab
 * page. Served only in black-box mode with keys and `--admin-key`; it answers only
 * `Authorization: Bearer <admin key>` (401 otherwise: the teacher's page shows the message). It
 * lives outside /v1 so that the students' key, budget and rate-limit hooks do not apply to it,
 * and reads the query log through its own read connection to the SQLite file.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { GradlabError } from '../src/errors.ts';
import type { AppContext } from '../src/http/context.ts';
import { KeyRing } from '../src/blackbox/keys.ts';
import { SqliteStore } from '../src/blackbox/sqlite-store.ts';
import { usageReport, type UsageReport } from '../src/blackbox/usage.ts';

/** A report is computed at most this often: the near-duplicate check reads every logged image. */
const CACHE_MS = 2000;

function adminMatches(request: FastifyRequest, secret: string): boolean {
  const auth = request.headers.authorization;
  const given = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] : undefined;
  if (given === undefined) return false;
  const [a, b] = [Buffer.from(given), Buffer.from(secret)];
  return a.length === b.length && timingSafeEqual(a, b);
}

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin form: async turns a registration error into the rejection app.register awaits
export const teacherRoutes: FastifyPluginAsync<AppContext> = async (app, ctx) => {
  const settings = ctx.config.blackbox;
  if (ctx.config.mode !== 'blackbox' || settings.adminKey === undefined || settings.apiKeys.length === 0) return;
  const adminKey = settings.adminKey;
  const keys = new KeyRing(settings.apiKeys).list();
  const store = new SqliteStore(settings.dataDir);
  app.addHook('onClose', () => store.close());
  let cached: { at: number; report: UsageReport } | undefined;

  app.get('/admin/usage', (request, reply) => {
    if (!adminMatches(request, adminKey)) {
      void reply.header('www-authenticate', 'Bearer realm="gradlab-admin"');
      throw new GradlabError('GRADLAB_UNAUTHORIZED', 'the admin key is not valid: send it as Authorization: Bearer <admin key>');
    }
    const now = Date.now();
    if (!cached || now - cached.at > CACHE_MS) cached = { at: now, report: usageReport(keys, store.allUsed(), store.entries(), now) };
    void reply.header('cache-control', 'no-store');
    return { queryLog: settings.queryLog, ...cached.report };
  });
};
