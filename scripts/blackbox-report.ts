/**
 * `npm run blackbox:report [-- --data-dir DIR | --redis-url URL] [--key NAME|ID|SECRET] [--since ISO-TIME] [--json]`:
 * summarises the black-box query log (src/blackbox/report.ts) for the defender. The data dir
 * defaults to GRADLAB_DATA_DIR, else ./data, as for the server; with `--redis-url` (or
 * GRADLAB_REDIS_URL, as for the server) the log of the whole deployment is read from Redis. `--key` finds a key by the name
 * the keys file gave it, by its id, or by the key itself (keys given as `alice:10000` have no name
 * and show as `key-` and the first 8 hex digits of their id; `--key alice` still finds them).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { keyId } from '../src/blackbox/keys.ts';
import { DB_FILE, SqliteStore } from '../src/blackbox/sqlite-store.ts';
import { RedisStore } from '../src/blackbox/redis-store.ts';
import type { QueryLogEntry } from '../src/blackbox/query-log.ts';
import { reportMarkdown, summarise } from '../src/blackbox/report.ts';

const USAGE = `usage: npm run blackbox:report -- [options]

  --data-dir DIR     where the server keeps gradlab.sqlite (default: GRADLAB_DATA_DIR, else ./data)
  --redis-url URL    read the deployment's shared log from Redis instead (default: GRADLAB_REDIS_URL)
  --key KEY          one key only: its name (e.g. team-1 or key-2bd806c9), its id, or the key itself
  --since TIME       only queries at or after this ISO date/time (e.g. 2026-01-01T10:00)
  --json             the summaries as JSON instead of Markdown
  --help, -h         this text`;

function fail(message: string): never {
  console.error(`blackbox:report: ${message}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      'redis-url': { type: 'string' },
      key: { type: 'string' },
      since: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (err) {
  console.error(`blackbox:report: ${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const dataDir = values['data-dir'] ?? process.env.GRADLAB_DATA_DIR ?? 'data';
const redisUrl = values['data-dir'] === undefined ? (values['redis-url'] ?? process.env.GRADLAB_REDIS_URL) : values['redis-url'];
if (!redisUrl && !existsSync(path.join(dataDir, DB_FILE))) {
  fail(`no query log at ${path.join(dataDir, DB_FILE)} (run the server in black-box mode with API keys, or pass --data-dir or --redis-url)`);
}
const since = values.since ? Date.parse(values.since) : undefined;
if (values.since && Number.isNaN(since)) fail(`--since: '${values.since}' is not a date/time`);

/** The two stores behind one asynchronous face: SQLite answers at once, Redis over the network. */
interface LogSource {
  where: string;
  loggedKeys(): Promise<{ keyId: string; keyName: string }[]>;
  entries(filter: { key?: string; since?: number }): Promise<QueryLogEntry[]>;
  allUsed(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

async function openSource(): Promise<LogSource> {
  if (redisUrl) {
    const redis = new RedisStore(redisUrl);
    try {
      await redis.ready(5_000);
    } catch {
      await redis.close();
      fail(`cannot reach Redis at ${redisUrl}`);
    }
    return { where: `Redis ${redisUrl.replace(/\/\/[^@/]*@/, '//***@')}`, loggedKeys: () => redis.loggedKeys(), entries: (f) => redis.entries(f), allUsed: () => redis.allUsed(), close: () => redis.close() };
  }
  const sqlite = new SqliteStore(dataDir);
  return {
    where: path.join(dataDir, DB_FILE),
    loggedKeys: () => Promise.resolve(sqlite.loggedKeys()),
    entries: (f) => Promise.resolve(sqlite.entries(f)),
    allUsed: () => Promise.resolve(sqlite.allUsed()),
    close: () => sqlite.close(),
  };
}

const store = await openSource();
const known = await store.loggedKeys();
let key: string | undefined;
if (values.key !== undefined) {
  const given = values.key;
  const match = known.find((k) => k.keyName === given || k.keyId === given) ?? known.find((k) => k.keyId === keyId(given));
  if (!match) {
    await store.close();
    const names = known.map((k) => k.keyName).join(', ');
    fail(`--key: no key named '${given}' (nor with that id, nor that key) has queries in the log; ${names ? `keys in it: ${names}` : 'the log is empty'}`);
  }
  key = match.keyId;
}
const summaries = summarise(await store.entries({ ...(key ? { key } : {}), ...(since !== undefined ? { since } : {}) }));
if (values.json) console.log(JSON.stringify(summaries, null, 2));
else {
  console.log(`## Black-box query log (${store.where})\n`);
  console.log(reportMarkdown(summaries, await store.allUsed()));
}
await store.close();
