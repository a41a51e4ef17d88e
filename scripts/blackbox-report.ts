/**
 * `npm run blackbox:report [-- --data-dir DIR] [--key NAME|ID|SECRET] [--since ISO-TIME] [--json]`:
 * summarises the black-box query log (src/blackbox/report.ts) for the defender. The data dir
 * defaults to GRADLAB_DATA_DIR, else ./data, as for the server. `--key` finds a key by the name
 * the keys file gave it, by its id, or by the key itself (keys given as `alice:10000` have no name
 * and show as `key-` and the first 8 hex digits of their id; `--key alice` still finds them).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { keyId } from '../src/blackbox/keys.ts';
import { DB_FILE, SqliteStore } from '../src/blackbox/sqlite-store.ts';
import { reportMarkdown, summarise } from '../src/blackbox/report.ts';

const USAGE = `usage: npm run blackbox:report -- [options]

  --data-dir DIR     where the server keeps gradlab.sqlite (default: GRADLAB_DATA_DIR, else ./data)
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
if (!existsSync(path.join(dataDir, DB_FILE))) {
  fail(`no query log at ${path.join(dataDir, DB_FILE)} (run the server in black-box mode with API keys, or pass --data-dir)`);
}
const since = values.since ? Date.parse(values.since) : undefined;
if (values.since && Number.isNaN(since)) fail(`--since: '${values.since}' is not a date/time`);

const store = new SqliteStore(dataDir);
const known = store.loggedKeys();
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
const summaries = summarise(store.entries({ ...(key ? { key } : {}), ...(since !== undefined ? { since } : {}) }));
if (values.json) console.log(JSON.stringify(summaries, null, 2));
else {
  console.log(`## Black-box query log (${path.join(dataDir, DB_FILE)})\n`);
  console.log(reportMarkdown(summaries, store.allUsed()));
}
await store.close();
