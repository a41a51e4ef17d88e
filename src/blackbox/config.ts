/**
 * Black-box mode's settings: API keys (variable and file), the default rate limit, how answers are
 * shaped (for all models or per model) and what the query log keeps. The options are declared here
 * and joined into gradlab's configuration by src/config.ts; a bad key list, keys file, rate or
 * output shape stops the start naming its flag and variable.
 */
import { readFileSync } from 'node:fs';
import { KeyRing, KeySpecError, parseKeyList, parseKeysFile, parseRateLimit, type ApiKeySpec, type RateLimit } from './keys.ts';
import { OutputShapeError, parseModelOutputs, parseOutputShape, type OutputShape } from './output-shaping.ts';
import { QUERY_LOG_MODES, type QueryLogMode } from './query-log.ts';
import { ConfigError, type Option, type OptionReader } from '../options.ts';

/** Black-box mode: keys, budgets, rate limits, output shaping, the query log (see src/blackbox/). */
export interface BlackboxConfig {
  /** Where budgets and the query log live (`gradlab.sqlite`); shared by replicas on one volume. */
  dataDir: string;
  /** Empty: no keys, so no authentication, budgets or rate limits (a lab server on localhost). */
  apiKeys: ApiKeySpec[];
  /** Requests per window per key, unless the key names its own. */
  rateLimit: RateLimit;
  /** How answers are shaped, for all models unless `modelOutput` names the model. */
  output: OutputShape;
  modelOutput: Record<string, OutputShape>;
  queryLog: QueryLogMode;
  /** Failed key attempts allowed per client address and window before it is answered 429. */
  keyGuessLimit: RateLimit;
  /** The secret that opens `/metrics` in black-box mode (Authorization: Bearer); undefined: not served. */
  metricsKey?: string;
  /** The secret that opens the teacher's view of the query log on the lab page (`/admin/usage`); undefined: no teacher view. */
  adminKey?: string;
  /** The operator chose an open black-box server without keys (no budgets, no log); start-up says so loudly. */
  allowNoKeys: boolean;
}

/** The client's variable: set instead of the server's, it used to leave the server open. */
export const CLIENT_KEY_VARIABLE = 'GRADLAB_API_KEY';

export const BLACKBOX_OPTIONS = {
  dataDir: { flag: '--data-dir', env: 'GRADLAB_DATA_DIR', describe: 'black-box budgets and query log (SQLite) live here (default ./data)' },
  apiKeys: { flag: '--api-keys', env: 'GRADLAB_API_KEYS', describe: 'black-box API keys as key:budget[:rate], comma-separated, e.g. alice:10000,bob:500:60/minute' },
  apiKeysFile: { flag: '--api-keys-file', env: 'GRADLAB_API_KEYS_FILE', describe: 'black-box API keys file (JSON [{key,budget,name?,rateLimit?}] or key:budget[:rate] lines)' },
  rateLimit: { flag: '--rate-limit', env: 'GRADLAB_RATE_LIMIT', describe: 'black-box requests per key and window, e.g. 600/minute (default)' },
  output: { flag: '--output', env: 'GRADLAB_OUTPUT', describe: 'black-box answers: probabilities[:decimals] (default), topk:k[:decimals] or label' },
  modelOutput: { flag: '--model-output', env: 'GRADLAB_MODEL_OUTPUT', describe: 'per-model output shaping, model=shape; repeatable, or comma-separated in the variable' },
  queryLog: { flag: '--query-log', env: 'GRADLAB_QUERY_LOG', describe: `black-box query log: ${QUERY_LOG_MODES.join('|')} (default labels; images keeps 8-bit pixels)` },
  keyGuessLimit: { flag: '--key-guess-limit', env: 'GRADLAB_KEY_GUESS_LIMIT', describe: 'black-box failed key attempts per client address and window before 429 (default 10/minute)' },
  metricsKey: { flag: '--metrics-key', env: 'GRADLAB_METRICS_KEY', describe: 'black-box: /metrics answers only with Authorization: Bearer <this key> (default: not served)' },
  adminKey: { flag: '--admin-key', env: 'GRADLAB_ADMIN_KEY', describe: "black-box: the teacher's key for the query log on the lab page (default: no teacher view)" },
  allowNoKeys: { flag: '--allow-no-keys', env: 'GRADLAB_ALLOW_NO_KEYS', describe: 'yes: start black-box mode without API keys, open to anyone (default no: refuse to start)' },
} satisfies Record<string, Option>;

export type BlackboxOption = keyof typeof BLACKBOX_OPTIONS;

/**
 * The black-box settings; a bad key list, keys file, rate or output shape names its flag. In
 * black-box mode a server without keys refuses to start (it would be an open API) unless the
 * operator says `--allow-no-keys yes`, and so does one that was given the client's variable
 * (GRADLAB_API_KEY) instead of the server's.
 */
export function blackboxConfig(options: OptionReader<BlackboxOption>, mode = 'blackbox', env: NodeJS.ProcessEnv = {}): BlackboxConfig {
  const { raw, where } = options;
  const guard = <T>(key: BlackboxOption, parse: () => T): T => {
    try {
      return parse();
    } catch (err) {
      if (err instanceof KeySpecError || err instanceof OutputShapeError) throw new ConfigError(`${where(key)}: ${err.message}`);
      throw err;
    }
  };
  const apiKeys: ApiKeySpec[] = [];
  const list = raw('apiKeys');
  if (list !== undefined) apiKeys.push(...guard('apiKeys', () => parseKeyList(list, BLACKBOX_OPTIONS.apiKeys.env)));
  const file = raw('apiKeysFile');
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${where('apiKeysFile')}: cannot read '${file}' (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    apiKeys.push(...guard('apiKeysFile', () => parseKeysFile(text, file)));
  }
  // Duplicates between the variable and the file are caught here, at start.
  guard(file !== undefined ? 'apiKeysFile' : 'apiKeys', () => new KeyRing(apiKeys));
  const queryLog = options.oneOf('queryLog', QUERY_LOG_MODES, 'labels');
  const allowNoKeys = options.oneOf('allowNoKeys', ['yes', 'no'] as const, 'no') === 'yes';
  const metricsKey = raw('metricsKey');
  if (metricsKey !== undefined && metricsKey.length < 16) throw new ConfigError(`${where('metricsKey')}: use at least 16 characters`);
  const adminKey = raw('adminKey');
  if (adminKey !== undefined && adminKey.length < 16) throw new ConfigError(`${where('adminKey')}: use at least 16 characters`);
  const settings: BlackboxConfig = {
    dataDir: raw('dataDir') ?? 'data',
    apiKeys,
    rateLimit: guard('rateLimit', () => parseRateLimit(raw('rateLimit') ?? '600/minute')),
    output: guard('output', () => parseOutputShape(raw('output') ?? 'probabilities')),
    modelOutput: guard('modelOutput', () => parseModelOutputs(options.list('modelOutput'))),
    queryLog,
    keyGuessLimit: guard('keyGuessLimit', () => parseRateLimit(raw('keyGuessLimit') ?? '10/minute')),
    ...(metricsKey !== undefined ? { metricsKey } : {}),
    ...(adminKey !== undefined ? { adminKey } : {}),
    allowNoKeys,
  };
  // Checked last, so that a mistyped rate or shape is reported as such first.
  if (mode === 'blackbox' && apiKeys.length === 0) {
    if (env[CLIENT_KEY_VARIABLE]) {
      throw new ConfigError(`${CLIENT_KEY_VARIABLE} is set, but it is the client's variable: the server reads its keys from ${where('apiKeys')} (key:budget,...) or ${where('apiKeysFile')}`);
    }
    if (!allowNoKeys) {
      throw new ConfigError(
        `black-box mode needs API keys (${where('apiKeys')} or ${where('apiKeysFile')}); ` +
          `to run it open to anyone, without keys, budgets or query log, pass --allow-no-keys yes (GRADLAB_ALLOW_NO_KEYS=yes)`,
      );
    }
  }
  return settings;
}
