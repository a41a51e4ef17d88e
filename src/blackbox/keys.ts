/**
 * API keys for black-box mode: who may query, with how many queries in all (the budget) and how
 * many requests per time window (the rate limit). Keys come from the env form
 * `GRADLAB_API_KEYS=alice:10000,bob:500:60/minute` (key:budget[:rate]) or from a keys file (JSON, or
 * the same `key:budget[:rate]` form one per line). The secret itself is never stored: budgets and
 * the query log are keyed by `id`, a SHA-256 of the secret, and reports show `name`.
 */
import { createHash } from 'node:crypto';

export interface RateLimit {
  /** Most requests per window. */
  max: number;
  windowMs: number;
  /** As written, e.g. `600/minute`. */
  text: string;
}

export interface ApiKeySpec {
  key: string;
  /** Shown in reports; default `key-` and the first 8 hex digits of the id. */
  name?: string;
  budget: number;
  rateLimit?: RateLimit;
}

export interface ApiKey {
  /** SHA-256 of the secret, hex: what the budget store and the query log know the key by. */
  id: string;
  name: string;
  budget: number;
  /** This key's own rate limit; undefined: the server's default. */
  rateLimit?: RateLimit;
}

export class KeySpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeySpecError';
  }
}

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
};

/** `600/minute`, `10/s`, `5000/hour`, `100/10s` → a rate limit. */
export function parseRateLimit(text: string): RateLimit {
  const m = /^\s*(\d+)\s*\/\s*(\d+)?\s*([a-z]+)\s*$/i.exec(text);
  const word = m?.[3]!.toLowerCase() ?? '';
  const unit = UNITS[word] ?? UNITS[word.replace(/s$/, '')];
  if (!m || unit === undefined) {
    throw new KeySpecError(`'${text}' is not a rate such as 600/minute, 10/second or 5000/hour`);
  }
  const max = Number(m[1]);
  const windowMs = (m[2] ? Number(m[2]) : 1) * unit;
  if (max < 1 || windowMs < 1) throw new KeySpecError(`'${text}': the count and the window must be positive`);
  return { max, windowMs, text: text.trim() };
}

export function keyId(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

function checkKey(key: unknown, where: string): string {
  if (typeof key !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(key) || key.includes(':') || key.includes(',')) {
    throw new KeySpecError(`${where}: a key must be 1-256 printable characters without spaces, ':' or ','`);
  }
  return key;
}

function checkBudget(budget: unknown, where: string): number {
  const n = typeof budget === 'string' && /^\d+$/.test(budget.trim()) ? Number(budget) : budget;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new KeySpecError(`${where}: the budget must be a whole number of queries ≥ 0 (got ${JSON.stringify(budget)})`);
  }
  return n;
}

/** `alice:10000,bob:500:60/minute` (commas or new lines between keys; `#` starts a comment line). */
export function parseKeyList(text: string, where: string): ApiKeySpec[] {
  return text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s && !s.startsWith('#'))
    .map((entry, i) => {
      const [key, budget, rate, ...extra] = entry.split(':');
      const at = `${where}, key ${i + 1}`;
      if (budget === undefined || extra.length) throw new KeySpecError(`${at}: '${entry.replace(/^[^:]*/, '…')}' is not key:budget or key:budget:rate`);
      return {
        key: checkKey(key, at),
        budget: checkBudget(budget, at),
        ...(rate ? { rateLimit: parseRateLimit(rate) } : {}),
      };
    });
}

/**
 * A keys file: JSON `[{"key": "...", "budget": 10000, "name": "team-1", "rateLimit": "60/minute"}]`
 * (or `{"keys": [...]}`), or the `key:budget[:rate]` list form, one per line.
 */
export function parseKeysFile(text: string, file: string): ApiKeySpec[] {
  const trimmed = text.trim();
  if (!trimmed.startsWith('[') && !trimmed.startsWith('{')) return parseKeyList(text, file);
  let raw: unknown;
  try {
    raw = JSON.parse(trimmed);
  } catch (err) {
    throw new KeySpecError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const list = Array.isArray(raw) ? raw : (raw as { keys?: unknown }).keys;
  if (!Array.isArray(list)) throw new KeySpecError(`${file}: expected an array of keys or {"keys": [...]}`);
  return list.map((entry: unknown, i) => {
    const at = `${file}, keys[${i}]`;
    if (typeof entry !== 'object' || entry === null) throw new KeySpecError(`${at}: must be an object with key and budget`);
    const e = entry as Record<string, unknown>;
    const known = new Set(['key', 'name', 'budget', 'rateLimit']);
    for (const field of Object.keys(e)) if (!known.has(field)) throw new KeySpecError(`${at}: unknown field '${field}'`);
    if (e.name !== undefined && (typeof e.name !== 'string' || !/^[\w.@-]{1,64}$/.test(e.name))) {
      throw new KeySpecError(`${at}: name must be 1-64 letters, digits, '.', '@', '_' or '-'`);
    }
    if (e.rateLimit !== undefined && typeof e.rateLimit !== 'string') throw new KeySpecError(`${at}: rateLimit must be a string such as 60/minute`);
    return {
      key: checkKey(e.key, at),
      budget: checkBudget(e.budget, at),
      ...(e.name !== undefined ? { name: e.name } : {}),
      ...(e.rateLimit !== undefined ? { rateLimit: parseRateLimit(e.rateLimit) } : {}),
    };
  });
}

/** The configured keys, looked up by secret. */
export class KeyRing {
  private readonly byId = new Map<string, ApiKey>();

  constructor(specs: ApiKeySpec[]) {
    const names = new Set<string>();
    for (const spec of specs) {
      const id = keyId(spec.key);
      if (this.byId.has(id)) throw new KeySpecError(`the key named ${this.byId.get(id)!.name} is listed twice`);
      const name = spec.name ?? `key-${id.slice(0, 8)}`;
      if (names.has(name)) throw new KeySpecError(`two keys are named '${name}'`);
      names.add(name);
      this.byId.set(id, { id, name, budget: spec.budget, ...(spec.rateLimit ? { rateLimit: spec.rateLimit } : {}) });
    }
  }

  get size(): number {
    return this.byId.size;
  }

  /** The key for a secret sent by a client, if it is one of ours (looked up by hash, not by comparing secrets). */
  lookup(secret: string): ApiKey | undefined {
    return this.byId.get(keyId(secret));
  }

  list(): ApiKey[] {
    return [...this.byId.values()];
  }
}
