/**
 * gradlab's configuration: command-line flags override environment variables, which override
 * defaults. Validated once at start-up; a bad value stops the process with a message naming the
 * flag and the variable, never at the first request. The black-box options are declared with
 * black-box mode (src/blackbox/config.ts), the work classes' with theirs (src/work/config.ts), and
 * joined in here; parsing is src/options.ts.
 */
import type { BatchingConfig } from './model/batcher.ts';
import { BACKEND_CHOICES, NATIVE_CHOICES, type BackendChoice, type NativeMode } from './backend/index.ts';
import { defaultThreadCount, MAX_WASM_THREADS } from './backend/threaded-wasm.ts';
import { BLACKBOX_OPTIONS, blackboxConfig, type BlackboxConfig } from './blackbox/config.ts';
import { ConfigError, readOptions, usageOf, type Option } from './options.ts';
import { WORK_OPTIONS, workConfig, type WorkConfig } from './work/config.ts';
import { JOBS_OPTIONS, jobsConfig, type JobsConfig } from './jobs/config.ts';

export { ConfigError } from './options.ts';
export type { BlackboxConfig } from './blackbox/config.ts';
export type { WorkConfig } from './work/config.ts';
export type { JobsConfig } from './jobs/config.ts';

export const MODES = ['whitebox', 'blackbox'] as const;
export type Mode = (typeof MODES)[number];

export interface Limits {
  /** Largest encoded image accepted, in bytes (multipart file or decoded base64). */
  maxImageBytes: number;
  /** Largest decoded image, in pixels (sharp's limitInputPixels). */
  maxImagePixels: number;
  /** Most images in one request. */
  maxBatchSize: number;
  /** Largest request body, in bytes, whatever its form: JSON, or multipart files and text fields together. */
  maxBodyBytes: number;
  /** Most text fields (parameters) in one multipart request, images aside. */
  maxFields: number;
  /** Largest multipart text field, in bytes (an image sent as base64 text must fit). */
  maxFieldBytes: number;
  /** Most pixels all the images of one request may declare together, read from their headers before decoding. */
  maxRequestPixels: number;
  /** Longest a request may take, in milliseconds, before it is answered 503. */
  requestTimeoutMs: number;
  /** Most iterations one request may ask for: attack and visualisation steps, IG steps, SmoothGrad samples. */
  maxSteps: number;
  /** Most steps (numbers, pairs, bits, characters or words) in one sequence sent to a sequence model. */
  maxSequenceLength: number;
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
  /**
   * Which proxies' X-Forwarded-For to believe for the client's address (per-address limits such as
   * failed API-key attempts): false (none, the default), a hop count, or addresses/CIDRs.
   */
  trustProxy: boolean | number | string[];
  limits: Limits;
  batching: BatchingConfig;
  blackbox: BlackboxConfig;
  /** Work classes, the heavy executor, the cost limit and the shutdown drain (src/work/config.ts). */
  work: WorkConfig;
  /** Redis (shared budgets and job queue) and the jobs' limits (src/jobs/config.ts). */
  jobs: JobsConfig;
}

const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}(\/\d{1,2})?$/;
const IPV6 = /^[0-9a-fA-F:]*:[0-9a-fA-F:.]*(\/\d{1,3})?$/;

/**
 * --trust-proxy: `false` (default: the socket's address is the client's), `true` (every proxy:
 * only when nothing but a proxy can reach gradlab), a hop count (1 behind one reverse proxy, as in
 * docker/compose.yaml), or proxy addresses/CIDRs. Anything else is refused by name.
 */
function parseTrustProxy(value: string | undefined, where: string): boolean | number | string[] {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops >= 1 && hops <= 16) return hops;
    throw new ConfigError(`${where}: a hop count must be 1 to 16, got ${value}`);
  }
  const addresses = value.split(',').map((a) => a.trim()).filter(Boolean);
  const bad = addresses.filter((a) => !IPV4.test(a) && !IPV6.test(a));
  if (addresses.length === 0 || bad.length) {
    throw new ConfigError(`${where}: expected false, true, a hop count or addresses/CIDRs, got '${bad[0] ?? value}'`);
  }
  return addresses;
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
  trustProxy: { flag: '--trust-proxy', env: 'GRADLAB_TRUST_PROXY', describe: 'believe X-Forwarded-For from: false|true|<hops>|<address or CIDR>,... (default false; behind one reverse proxy: 1)' },
  maxImageBytes: { flag: '--max-image-bytes', env: 'GRADLAB_MAX_IMAGE_BYTES', describe: 'largest encoded image (default 5 MiB)' },
  maxImagePixels: { flag: '--max-image-pixels', env: 'GRADLAB_MAX_IMAGE_PIXELS', describe: 'largest decoded image in pixels (default 16777216)' },
  maxBatchSize: { flag: '--max-batch-size', env: 'GRADLAB_MAX_BATCH_SIZE', describe: 'most images per request (default 64)' },
  maxBodyBytes: { flag: '--max-body-bytes', env: 'GRADLAB_MAX_BODY_BYTES', describe: 'largest request body, JSON or multipart files and fields together (default 32 MiB)' },
  maxFields: { flag: '--max-fields', env: 'GRADLAB_MAX_FIELDS', describe: 'most multipart text fields besides images (default 64)' },
  maxFieldBytes: { flag: '--max-field-bytes', env: 'GRADLAB_MAX_FIELD_BYTES', describe: 'largest multipart text field (default: a base64 image of --max-image-bytes, 6.7 MiB)' },
  maxRequestPixels: { flag: '--max-request-pixels', env: 'GRADLAB_MAX_REQUEST_PIXELS', describe: 'most pixels all images of one request may declare (default 67108864)' },
  requestTimeoutMs: { flag: '--request-timeout-ms', env: 'GRADLAB_REQUEST_TIMEOUT_MS', describe: 'time limit per request (default 60000)' },
  maxSteps: { flag: '--max-steps', env: 'GRADLAB_MAX_STEPS', describe: 'most steps/samples one request may ask for (default 1000)' },
  maxSequenceLength: { flag: '--max-sequence-length', env: 'GRADLAB_MAX_SEQUENCE_LENGTH', describe: 'most steps in one sequence for sequence models (default 1000)' },
  batching: { flag: '--batching', env: 'GRADLAB_BATCHING', describe: 'dynamic batching on|off (default on)' },
  batchMaxSize: { flag: '--batch-max-size', env: 'GRADLAB_BATCH_MAX_SIZE', describe: 'most images in one merged forward pass (default 32)' },
  batchMaxWaitMs: { flag: '--batch-max-wait-ms', env: 'GRADLAB_BATCH_MAX_WAIT_MS', describe: 'longest wait for a batch to fill (default 2)' },
  ...WORK_OPTIONS,
  ...BLACKBOX_OPTIONS,
  ...JOBS_OPTIONS,
} satisfies Record<string, Option>;

type Key = keyof typeof OPTIONS;

export function usage(): string {
  return usageOf(OPTIONS);
}

/** The flag that sets an option, for messages of the HTTP layer (e.g. `--request-timeout-ms`). */
export function flagOf(key: Key): string {
  return OPTIONS[key].flag;
}

/** Characters of base64 (plus room for a data-URL prefix) that carry `bytes` bytes. */
function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4 + 256;
}

/** Builds and validates the configuration from argv and an environment. */
export function loadConfig(argv: string[] = [], env: NodeJS.ProcessEnv = process.env): Config {
  const options = readOptions(OPTIONS, argv, env);
  const { raw, where, int, oneOf } = options;
  const modelUrls = options.list('modelUrls');
  for (const url of modelUrls) {
    if (!/^(file|https?):\/\//.test(url)) {
      throw new ConfigError(`${where('modelUrls')}: '${url}' is not a file://, http:// or https:// URL`);
    }
  }
  const batchingFlag = oneOf('batching', ['on', 'off'] as const, 'on');
  const mode = oneOf('mode', MODES, 'whitebox');
  const blackbox = blackboxConfig(options, mode, env);
  const maxImageBytes = int('maxImageBytes', 5 * 1024 * 1024, 1024, 1024 * 1024 * 1024);
  if (mode === 'whitebox' && blackbox.apiKeys.length > 0) {
    throw new ConfigError(`${where('apiKeys')} and ${where('apiKeysFile')}: API keys apply only in black-box mode (--mode blackbox)`);
  }
  const maxSteps = int('maxSteps', 1000, 1, 1_000_000);
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
    trustProxy: parseTrustProxy(raw('trustProxy'), where('trustProxy')),
    limits: {
      maxImageBytes,
      maxImagePixels: int('maxImagePixels', 4096 * 4096, 1, 2 ** 30),
      maxBatchSize: int('maxBatchSize', 64, 1, 4096),
      maxBodyBytes: int('maxBodyBytes', 32 * 1024 * 1024, 1024, 2 * 1024 * 1024 * 1024),
      maxFields: int('maxFields', 64, 1, 10_000),
      maxFieldBytes: int('maxFieldBytes', base64Length(maxImageBytes), 16, 2 * 1024 * 1024 * 1024),
      maxRequestPixels: int('maxRequestPixels', 4 * 4096 * 4096, 1, 2 ** 40),
      requestTimeoutMs: int('requestTimeoutMs', 60_000, 100, 3_600_000),
      maxSteps,
      maxSequenceLength: int('maxSequenceLength', 1000, 1, 1_000_000),
    },
    batching: {
      enabled: batchingFlag === 'on',
      maxBatchSize: int('batchMaxSize', 32, 1, 4096),
      maxWaitMs: int('batchMaxWaitMs', 2, 0, 10_000),
    },
    blackbox,
    work: workConfig(options, maxSteps),
    jobs: jobsConfig(options),
  };
}
