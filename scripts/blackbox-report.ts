/**
 * `npm run blackbox:report [-- --data-dir DIR] [--key NAME|ID] [--since ISO-TIME] [--json]`:
 * summarises the black-box query log (src/blackbox/report.ts) for the defender. The data dir
 * defaults to GRADLAB_DATA_DIR, else ./data, as for the server.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DB_FILE, SqliteStore } from '../src/blackbox/sqlite-store.ts';
import { reportMarkdown, summarise } from '../src/blackbox/report.ts';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    key: { type: 'string' },
    since: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const dataDir = values['data-dir'] ?? process.env.GRADLAB_DATA_DIR ?? 'data';
if (!existsSync(path.join(dataDir, DB_FILE))) {
  console.error(`no query log at ${path.join(dataDir, DB_FILE)} (run the server in black-box mode with API keys, or pass --data-dir)`);
  process.exit(2);
}
const since = values.since ? Date.parse(values.since) : undefined;
if (values.since && Number.isNaN(since)) {
  console.error(`--since: '${values.since}' is not a date/time`);
  process.exit(2);
}
const store = new SqliteStore(dataDir);
const summaries = summarise(store.entries({ ...(values.key ? { key: values.key } : {}), ...(since !== undefined ? { since } : {}) }));
if (values.json) console.log(JSON.stringify(summaries, null, 2));
else {
  console.log(`## Black-box query log (${path.join(dataDir, DB_FILE)})\n`);
  console.log(reportMarkdown(summaries, store.allUsed()));
}
await store.close();
