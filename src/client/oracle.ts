/**
 * The target as the attacker sees it: a gradlab-compatible classify URL and an API key, nothing
 * else. `HttpOracle` sends pixel arrays over HTTP (exact floats, no PNG rounding), reads back the
 * label and, when the server says them, the probabilities, and keeps the books: queries used,
 * the server's remaining budget (`X-Budget-Remaining`), a client-side cap. It waits out rate
 * limits (429 with Retry-After) and turns a spent budget into `BudgetExhausted`, so attacks stop
 * cleanly and report what they got. It never sees weights, gradients or the server's code.
 */

export interface OracleAnswer {
  /** The top class index the oracle answered. */
  label: number;
  /**
   * Class probabilities when the answer carries them. Classes the answer left out (top-k output)
   * share what is left of the probability mass evenly. Undefined under label-only output.
   */
  probabilities?: Float32Array;
}

/** The oracle's budget (server or client-side cap) cannot pay for the next query. */
export class BudgetExhausted extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BudgetExhausted';
  }
}

export class OracleError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'OracleError';
    this.status = status;
  }
}

export interface OracleOptions {
  /** Server base URL (`http://host:8080`) with `model`, or the full classify URL. */
  url: string;
  model?: string;
  key?: string;
  /** Client-side cap on queries (images) this oracle may spend; default unlimited. */
  budget?: number;
  /** Most images per request; default 64 (the server's default limit). */
  maxBatch?: number;
  /** The value range pixels are sent in; default [0, 1]. */
  range?: [number, number];
  /** Longest single wait on a rate limit before giving up, in seconds; default 120. */
  maxRetryAfterS?: number;
  /** Told about waits and budget news, for progress displays. */
  onNotice?: (message: string) => void;
  fetch?: typeof fetch;
}

export interface OracleModel {
  name: string;
  labels: string[];
  /** [height, width, channels] */
  inputShape: [number, number, number];
}

/** `http://h:8080` + `mnist`, or `http://h:8080/v1/models/mnist/classify` → base, model name. */
export function parseTarget(url: string, model?: string): { base: string; model: string } {
  const m = /^(.*?)\/v1\/models\/([^/]+)(?:\/classify)?\/?$/.exec(url);
  if (m) return { base: m[1]!, model: decodeURIComponent(m[2]!) };
  if (!model) throw new Error(`'${url}' is not a classify URL (…/v1/models/<model>/classify); give the model name too`);
  return { base: url.replace(/\/+$/, ''), model };
}

interface PublicPrediction {
  label: string;
  index: number;
  probability?: number;
}

export class HttpOracle {
  readonly model: OracleModel;
  readonly range: [number, number];
  /** Images answered so far. */
  queries = 0;
  /** Requests sent (answered or not). */
  requests = 0;
  /** Time spent waiting on rate limits, in ms. */
  waitedMs = 0;
  /** The server's `X-Budget-Remaining` after the last answer; undefined when it does not send one. */
  serverRemaining: number | undefined;
  /** Whether the last answer carried probabilities (score-based attacks need them). */
  scores: boolean | undefined;
  private readonly classifyUrl: string;
  private readonly options: OracleOptions;
  private readonly fetcher: typeof fetch;

  private constructor(classifyUrl: string, model: OracleModel, options: OracleOptions) {
    this.classifyUrl = classifyUrl;
    this.model = model;
    this.options = options;
    this.range = options.range ?? [0, 1];
    this.fetcher = options.fetch ?? fetch;
  }

  /** Asks the server what the model looks like (`GET /v1/models/:model`: labels, input shape). */
  static async connect(options: OracleOptions): Promise<HttpOracle> {
    const { base, model } = parseTarget(options.url, options.model);
    const fetcher = options.fetch ?? fetch;
    const url = `${base}/v1/models/${encodeURIComponent(model)}`;
    const res = await fetcher(url, { headers: HttpOracle.authHeaders(options.key) });
    const body = (await res.json().catch(() => ({}))) as { labels?: string[]; input?: { shape?: number[] }; error?: { message?: string } };
    if (!res.ok) throw new OracleError(res.status, `GET ${url}: ${res.status} ${body.error?.message ?? res.statusText}`);
    const shape = body.input?.shape;
    if (!Array.isArray(body.labels) || !Array.isArray(shape) || shape.length !== 3) {
      throw new OracleError(res.status, `GET ${url}: the answer has no labels or input shape`);
    }
    const oracle = new HttpOracle(`${url}/classify`, { name: model, labels: body.labels, inputShape: shape as [number, number, number] }, options);
    const remaining = res.headers.get('x-budget-remaining');
    if (remaining !== null) oracle.serverRemaining = Number(remaining);
    return oracle;
  }

  private static authHeaders(key: string | undefined): Record<string, string> {
    return key ? { 'x-api-key': key } : {};
  }

  get pixelsPerImage(): number {
    const [h, w, c] = this.model.inputShape;
    return h * w * c;
  }

  /** Queries this oracle may still spend: the smaller of the server's remaining budget and the client cap. */
  get remaining(): number {
    const client = this.options.budget !== undefined ? this.options.budget - this.queries : Infinity;
    return Math.max(0, Math.min(client, this.serverRemaining ?? Infinity));
  }

  /**
   * A flat [H*W*C] image → the nested pixel array the API takes. Values go out rounded to 6
   * decimals (a quarter of the JSON a float32's 17 digits take; far below any attack's step), and
   * the caller's copy is rounded the same way, so what an attack records is what was asked.
   */
  private toPixelArray(image: Float32Array): unknown {
    const [h, w, c] = this.model.inputShape;
    for (let i = 0; i < image.length; i++) image[i] = Math.round(image[i]! * 1e6) / 1e6;
    const rows = [];
    for (let y = 0; y < h; y++) {
      const row = [];
      for (let x = 0; x < w; x++) {
        const at = (y * w + x) * c;
        row.push(c === 1 ? Math.round(image[at]! * 1e6) / 1e6 : Array.from(image.subarray(at, at + c), (v) => Math.round(v * 1e6) / 1e6));
      }
      rows.push(row);
    }
    return rows;
  }

  private parse(predictions: PublicPrediction[]): OracleAnswer {
    const top = predictions[0];
    if (!top) throw new OracleError(200, 'an answer had no predictions');
    if (top.probability === undefined) {
      this.scores = false;
      return { label: top.index };
    }
    this.scores = true;
    const k = this.model.labels.length;
    const probabilities = new Float32Array(k);
    let known = 0;
    for (const p of predictions) {
      probabilities[p.index] = p.probability ?? 0;
      known += p.probability ?? 0;
    }
    if (predictions.length < k) {
      const share = Math.max(0, 1 - known) / (k - predictions.length);
      const seen = new Set(predictions.map((p) => p.index));
      for (let i = 0; i < k; i++) if (!seen.has(i)) probabilities[i] = share;
    }
    return { label: top.index, probabilities };
  }

  /**
   * Classifies images (each one query), in requests of at most `maxBatch`. Throws BudgetExhausted
   * before sending what the budget cannot pay for; answers for earlier chunks are kept in the books.
   */
  async classify(images: Float32Array[]): Promise<OracleAnswer[]> {
    const out: OracleAnswer[] = [];
    const maxBatch = this.options.maxBatch ?? 64;
    for (let start = 0; start < images.length; start += maxBatch) {
      out.push(...(await this.send(images.slice(start, start + maxBatch))));
    }
    return out;
  }

  private async send(images: Float32Array[]): Promise<OracleAnswer[]> {
    if (images.length > this.remaining) {
      throw new BudgetExhausted(`${images.length} queries asked with ${this.remaining} left of the budget`);
    }
    const body = JSON.stringify({ images: images.map((img) => this.toPixelArray(img)) });
    for (;;) {
      this.requests++;
      const res = await this.fetcher(this.classifyUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...HttpOracle.authHeaders(this.options.key) },
        body,
      });
      const remaining = res.headers.get('x-budget-remaining');
      if (remaining !== null) this.serverRemaining = Number(remaining);
      const answer = (await res.json().catch(() => ({}))) as { results?: { predictions: PublicPrediction[] }[]; error?: { code?: string; message?: string } };
      if (res.ok && answer.results) {
        this.queries += images.length;
        return answer.results.map((r) => this.parse(r.predictions));
      }
      const code = answer.error?.code;
      if (res.status === 429 && code === 'GRADLAB_BUDGET_EXHAUSTED') {
        throw new BudgetExhausted(`the server's budget is spent: ${answer.error?.message ?? ''}`);
      }
      if (res.status === 429) {
        const waitS = Number(res.headers.get('retry-after') ?? '1');
        const maxWait = this.options.maxRetryAfterS ?? 120;
        if (!(waitS <= maxWait)) throw new OracleError(429, `rate limited for ${waitS} s (more than the ${maxWait} s this client waits)`);
        this.options.onNotice?.(
          `rate limited: the server's limit for this key is reached (429, Retry-After ${waitS} s), waiting ${waitS} s; ${Math.round(this.waitedMs / 1000)} s spent waiting so far`,
        );
        const started = Date.now();
        await new Promise((resolve) => setTimeout(resolve, Math.max(0.05, waitS) * 1000));
        this.waitedMs += Date.now() - started;
        continue;
      }
      throw new OracleError(res.status, `POST ${this.classifyUrl}: ${res.status} ${answer.error?.code ?? ''} ${answer.error?.message ?? res.statusText}`.trim());
    }
  }
}
