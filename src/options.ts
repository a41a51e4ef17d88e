/**
 * The small option parser behind gradlab's configuration: a table of options (flag, variable,
 * description), `--flag value` / `--flag=value` parsing, and typed readers in which a flag
 * overrides its variable and a bad value fails naming both. Shared by src/config.ts and
 * src/blackbox/config.ts, so that neither has to import the other's parsing.
 */

export interface Option {
  flag: string;
  env: string;
  describe: string;
}

export type OptionTable = Record<string, Option>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** One line per option: flag, variable, description. */
export function usageOf(options: OptionTable): string {
  return Object.values(options)
    .map((o) => `  ${o.flag.padEnd(22)} ${o.env.padEnd(28)} ${o.describe}`)
    .join('\n');
}

/** Parses `--flag value` / `--flag=value` pairs; repeated flags collect into arrays. */
function parseArgv<K extends string>(options: Record<K, Option>, argv: string[]): Map<K, string[]> {
  const known = new Map((Object.entries(options) as [K, Option][]).map(([k, o]) => [o.flag, k]));
  const out = new Map<K, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument '${arg}'\n${usageOf(options)}`);
    const eq = arg.indexOf('=');
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const key = known.get(flag);
    if (!key) throw new ConfigError(`unknown flag '${flag}'\n${usageOf(options)}`);
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

/**
 * Typed access to the options of one argv and environment. Function properties, not methods:
 * callers destructure them (`const { raw, where } = options`).
 */
export interface OptionReader<K extends string> {
  /** The option's value: the last flag given, else the variable (empty counts as unset). */
  raw: (key: K) => string | undefined;
  /** Every value: the variable's comma-separated entries, then each repeated flag. */
  list: (key: K) => string[];
  /** `--flag / VARIABLE`, for messages. */
  where: (key: K) => string;
  int: (key: K, fallback: number, min: number, max: number) => number;
  oneOf: <T extends string>(key: K, choices: readonly T[], fallback: T) => T;
}

/** Reads `options` from `argv` and `env`; an unknown flag or a flag without value throws at once. */
export function readOptions<K extends string>(options: Record<K, Option>, argv: string[], env: NodeJS.ProcessEnv): OptionReader<K> {
  const args = parseArgv(options, argv);
  const raw = (key: K): string | undefined => {
    const fromArgs = args.get(key);
    if (fromArgs) return fromArgs[fromArgs.length - 1];
    const v = env[options[key].env];
    return v === undefined || v === '' ? undefined : v;
  };
  const where = (key: K) => `${options[key].flag} / ${options[key].env}`;
  return {
    raw,
    where,
    list: (key) => [
      ...(env[options[key].env]?.split(',').map((s) => s.trim()).filter(Boolean) ?? []),
      ...(args.get(key) ?? []),
    ],
    int(key, fallback, min, max) {
      const v = raw(key);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        throw new ConfigError(`${where(key)}: '${v}' is not an integer between ${min} and ${max}`);
      }
      return n;
    },
    oneOf(key, choices, fallback) {
      const v = raw(key);
      if (v === undefined) return fallback;
      if (!(choices as readonly string[]).includes(v)) {
        throw new ConfigError(`${where(key)}: '${v}' is not one of ${choices.join(', ')}`);
      }
      return v as (typeof choices)[number];
    },
  };
}
