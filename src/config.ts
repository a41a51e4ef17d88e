/**
 * gradlab's configuration: command-line flags override environment variables, which override
 * defaults. Validated once at start-up; a bad value stops the process with a message naming the
 * flag and the variable, never at the first request.
 */
import { readFileSync } from 'node:fs';
import type { BatchingConfig } from './model/batcher.ts';
import { BACKEND_CHOICES, NATIVE_CHOICES, type BackendChoice, type NativeMode } from './backend/index.ts';
import { defaultThreadCount, MAX_WASM_THREADS } from './backend/threaded-wasm.ts';
import { KeyRing, KeySpecError, parseKeyList, parseKeysFile, parseRateLimit, type ApiKeySpec, type RateLimit } from './blackbox/keys.ts';
import { OutputShapeError, parseModelOutputs, parseOutputShape, type OutputShape } from './blackbox/output-shaping.ts';
import { QUERY_LOG_MODES, type QueryLogMode } from './blackbox/query-log.ts';

export const MODES = ['whitebox', 'blackbox'] as const;
export type Mode = (typeof MODES)[number];

export interface Limits {
  /** Largest encoded image accepted, in bytes (multipart file or decoded base64). */
  maxImageBytes: number;
  /** Largest decoded image, in pixels (sharp's limitInputPixels). */
  maxImagePixels: number;
  /** Most images in one request. */
  maxBatchSize: number;
  /** Largest request body, in bytes (JSON with base64 images or pixel arrays). */
  maxBodyBytes: number;
  /** Longest a request may take, in milliseconds, before it is answered 503. */
  requestTimeoutMs: number;
  /** Most iterations one request may ask for: attack and visualisation steps, IG steps, SmoothGrad samples. */
  maxSteps: number;
  /** Most steps (numbers, pairs, bits, characters or words) in one sequence sent to a sequence model. */
  maxSequenceLength: number;
}

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
}

export interface Config {
  port: number;
  host: string;
  backend: BackendChoice;
  /** Compute threads of the wasm backend (1 = tfjs' single-threaded module). */
  threads: number;
  /** gradlab's native (oneDNN) kernels on the wasm backend: auto (when built) or off. */
  native: NativeMode;
  mode: Mode;
  modelsDir: string;
  /** Extra model sources: `file://` or `http(s)://` URLs of a model folder or its manifest.json. */
  modelUrls: string[];
  logLevel: string;
  limits: Limits;
  batching: BatchingConfig;
  blackbox: BlackboxConfig;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

interface Option {
  flag: string;
  env: string;
  describe: string;
}

const OPTIONS = {
  port: { flag: '--port', env: 'PORT', describe: 'TCP port (default 8080)' },
  host: { flag: '--host', env: 'GRADLAB_HOST', describe: 'address to listen on (default 0.0.0.0)' },
  backend: { flag: '--backend', env: 'GRADLAB_BACKEND', describe: `compute backend: ${BACKEND_CHOICES.join('|')} (default auto)` },
  threads: { flag: '--threads', env: 'GRADLAB_THREADS', describe: `wasm backend compute threads, 1-${MAX_WASM_THREADS} (default: one per CPU, here ${defaultThreadCount()})` },
  native: { flag: '--native', env: 'GRADLAB_NATIVE', describe: 'native oneDNN kernels on the wasm backend: auto|off (default auto: used when built)' },
  mode: { flag: '--mode', env: 'GRADLAB_MODE', describe: 'whitebox|blackbox (default whitebox)' },
  modelsDir: { flag: '--models-dir', env: 'GRADLAB_MODELS_DIR', describe: 'folder of model folders (default ./models)' },
  modelUrls: { flag: '--model-url', env: 'GRADLAB_MODEL_URLS', describe: 'extra model URL (file:// or http(s)://); repeatable, or comma-separated in the variable' },
  logLevel: { flag: '--log-level', env: 'GRADLAB_LOG_LEVEL', describe: 'pino level (default info)' },
  maxImageBytes: { flag: '--max-image-bytes', env: 'GRADLAB_MAX_IMAGE_BYTES', describe: 'largest encoded image (default 5 MiB)' },
  maxImagePixels: { flag: '--max-image-pixels', env: 'GRADLAB_MAX_IMAGE_PIXELS', describe: 'largest decoded image in pixels (default 16777216)' },
  maxBatchSize: { flag: '--max-batch-size', env: 'GRADLAB_MAX_BATCH_SIZE', describe: 'most images per request (default 64)' },
  maxBodyBytes: { flag: '--max-body-bytes', env: 'GRADLAB_MAX_BODY_BYTES', describe: 'largest request body (default 32 MiB)' },
  requestTimeoutMs: { flag: '--request-timeout-ms', env: 'GRADLAB_REQUEST_TIMEOUT_MS', describe: 'time limit per request (default 60000)' },
  maxSteps: { flag: '--max-steps', env: 'GRADLAB_MAX_STEPS', describe: 'most steps/samples one request may ask for (default 1000)' },
  maxSequenceLength: { flag: '--max-sequence-length', env: 'GRADLAB_MAX_SEQUENCE_LENGTH', describe: 'most steps in one sequence for sequence models (default 1000)' },
  batching: { flag: '--batching', env: 'GRADLAB_BATCHING', describe: 'dynamic batching on|off (default on)' },
  batchMaxSize: { flag: '--batch-max-size', env: 'GRADLAB_BATCH_MAX_SIZE', describe: 'most images in one merged forward pass (default 32)' },
  batchMaxWaitMs: { flag: '--batch-max-wait-ms', env: 'GRADLAB_BATCH_MAX_WAIT_MS', describe: 'longest wait for a batch to fill (default 2)' },
  dataDir: { flag: '--data-dir', env: 'GRADLAB_DATA_DIR', describe: 'black-box budgets and query log (SQLite) live here (default ./data)' },
  apiKeys: { flag: '--api-keys', env: 'GRADLAB_API_KEYS', describe: 'black-box API keys as key:budget[:rate], comma-separated, e.g. alice:10000,bob:500:60/minute' },
  apiKeysFile: { flag: '--api-keys-file', env: 'GRADLAB_API_KEYS_FILE', describe: 'black-box API keys file (JSON [{key,budget,name?,rateLimit?}] or key:budget[:rate] lines)' },
  rateLimit: { flag: '--rate-limit', env: 'GRADLAB_RATE_LIMIT', describe: 'black-box requests per key and window, e.g. 600/minute (default)' },
  output: { flag: '--output', env: 'GRADLAB_OUTPUT', describe: 'black-box answers: probabilities[:decimals] (default), topk:k[:decimals] or label' },
  modelOutput: { flag: '--model-output', env: 'GRADLAB_MODEL_OUTPUT', describe: 'per-model output shaping, model=shape; repeatable, or comma-separated in the variable' },
  queryLog: { flag: '--query-log', env: 'GRADLAB_QUERY_LOG', describe: `black-box query log: ${QUERY_LOG_MODES.join('|')} (default labels; images keeps 8-bit pixels)` },
} satisfies Record<string, Option>;

type Key = keyof typeof OPTIONS;

export function usage(): string {
  return Object.values(OPTIONS)
    .map((o) => `  ${o.flag.padEnd(22)} ${o.env.padEnd(28)} ${o.describe}`)
    .join('\n');
}

/** Parses `--flag value` / `--flag=value` pairs; repeated flags collect into arrays. */
function parseArgv(argv: string[]): Map<string, string[]> {
  const known = new Map(Object.entries(OPTIONS).map(([k, o]) => [o.flag, k as Key]));
  const out = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument '${arg}'\n${usage()}`);
    const eq = arg.indexOf('=');
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const key = known.get(flag);
    if (!key) throw new ConfigError(`unknown flag '${flag}'\n${usage()}`);
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined) throw new ConfigError(`flag '${flag}' needs a value`);
    out.set(key, [...(out.get(key) ?? []), value]);
  }
  return out;
}

/** Builds and validates the configuration from argv and an environment. */
export function loadConfig(argv: string[] = [], env: NodeJS.ProcessEnv = process.env): Config {
  const args = parseArgv(argv);
  const raw = (key: Key): string | undefined => {
    const fromArgs = args.get(key);
    if (fromArgs) return fromArgs[fromArgs.length - 1];
    const v = env[OPTIONS[key].env];
    return v === undefined || v === '' ? undefined : v;
  };
  const where = (key: Key) => `${OPTIONS[key].flag} / ${OPTIONS[key].env}`;
  const int = (key: Key, fallback: number, min: number, max: number): number => {
    const v = raw(key);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError(`${where(key)}: '${v}' is not an integer between ${min} and ${max}`);
    }
    return n;
  };
  const oneOf = <T extends string>(key: Key, choices: readonly T[], fallback: T): T => {
    const v = raw(key);
    if (v === undefined) return fallback;
    if (!(choices as readonly string[]).includes(v)) {
      throw new ConfigError(`${where(key)}: '${v}' is not one of ${choices.join(', ')}`);
    }
    return v as T;
  };
  const modelUrls = [
    ...(env[OPTIONS.modelUrls.env]?.split(',').map((s) => s.trim()).filter(Boolean) ?? []),
    ...(args.get('modelUrls') ?? []),
  ];
  for (const url of modelUrls) {
    if (!/^(file|https?):\/\//.test(url)) {
      throw new ConfigError(`${where('modelUrls')}: '${url}' is not a file://, http:// or https:// URL`);
    }
  }
  const batchingFlag = oneOf('batching', ['on', 'off'] as const, 'on');
  const mode = oneOf('mode', MODES, 'whitebox');
  const blackbox = blackboxConfig(raw, args, env, where);
  if (mode === 'whitebox' && blackbox.apiKeys.length > 0) {
    throw new ConfigError(`${where('apiKeys')} and ${where('apiKeysFile')}: API keys apply only in black-box mode (--mode blackbox)`);
  }
  return {
    port: int('port', 8080, 0, 65535),
    host: raw('host') ?? '0.0.0.0',
    backend: oneOf('backend', BACKEND_CHOICES, 'auto'),
    threads: int('threads', defaultThreadCount(), 1, MAX_WASM_THREADS),
    native: oneOf('native', NATIVE_CHOICES, 'auto'),
    mode,
    modelsDir: raw('modelsDir') ?? 'models',
    modelUrls,
    logLevel: oneOf('logLevel', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    limits: {
      maxImageBytes: int('maxImageBytes', 5 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      maxImagePixels: int('maxImagePixels', 4096 * 4096, 1, 2 ** 30),
      maxBatchSize: int('maxBatchSize', 64, 1, 4096),
      maxBodyBytes: int('maxBodyBytes', 32 * 1024 * 1024, 1024, 2 * 1024 * 1024 * 1024),
      requestTimeoutMs: int('requestTimeoutMs', 60_000, 100, 3_600_000),
      maxSteps: int('maxSteps', 1000, 1, 1_000_000),
      maxSequenceLength: int('maxSequenceLength', 1000, 1, 1_000_000),
    },
    batching: {
      enabled: batchingFlag === 'on',
      maxBatchSize: int('batchMaxSize', 32, 1, 4096),
      maxWaitMs: int('batchMaxWaitMs', 2, 0, 10_000),
    },
    blackbox,
  };
}

/** The black-box settings; a bad key list, keys file, rate or output shape names its flag. */
function blackboxConfig(
  raw: (key: Key) => string | undefined,
  args: Map<string, string[]>,
  env: NodeJS.ProcessEnv,
  where: (key: Key) => string,
): BlackboxConfig {
  const guard = <T>(key: Key, parse: () => T): T => {
    try {
      return parse();
    } catch (err) {
      if (err instanceof KeySpecError || err instanceof OutputShapeError) throw new ConfigError(`${where(key)}: ${err.message}`);
      throw err;
    }
  };
  const apiKeys: ApiKeySpec[] = [];
  const list = raw('apiKeys');
  if (list !== undefined) apiKeys.push(...guard('apiKeys', () => parseKeyList(list, OPTIONS.apiKeys.env)));
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
  const modelOutputs = [
    ...(env[OPTIONS.modelOutput.env]?.split(',').filter((s) => s.trim()) ?? []),
    ...(args.get('modelOutput') ?? []),
  ];
  const queryLog = raw('queryLog') ?? 'labels';
  if (!(QUERY_LOG_MODES as readonly string[]).includes(queryLog)) {
    throw new ConfigError(`${where('queryLog')}: '${queryLog}' is not one of ${QUERY_LOG_MODES.join(', ')}`);
  }
  return {
    dataDir: raw('dataDir') ?? 'data',
    apiKeys,
    rateLimit: guard('rateLimit', () => parseRateLimit(raw('rateLimit') ?? '600/minute')),
    output: guard('output', () => parseOutputShape(raw('output') ?? 'probabilities')),
    modelOutput: guard('modelOutput', () => parseModelOutputs(modelOutputs)),
    queryLog: queryLog as QueryLogMode,
  };
}
