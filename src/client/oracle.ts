/**
 * The target as the attacker sees it: an endpoint and perhaps an API key, nothing else. The
 * endpoint may be gradlab's `/v1`, an Open Inference Protocol v2 server (JSON or binary tensors),
 * KServe v1, TF Serving or any JSON endpoint a config file describes (targets/); `HttpOracle`
 * sends images through the target's encoding (exact floats wherever the protocol carries them),
 * reads back the label and, when the endpoint says them, the probabilities, and keeps the books:
 * queries used, the server's remaining budget (`X-Budget-Remaining`), a client-side cap. It waits
 * out rate limits (429 with Retry-After) and turns a spent budget into `BudgetExhausted`, so
 * attacks stop cleanly and report what they got. It never sees weights, gradients or the server's code.
 */
import { createTarget } from './targets/index.ts';
import { errorWords, type RankedClass, type Target, type TargetKind, type TargetModel, type ModelHints } from './targets/target.ts';

export { parseTarget } from './targets/gradlab.ts';

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
  /** The endpoint: for gradlab a server base URL (`http://host:8080`, with `model`) or the classify URL; see targets/. */
  url: string;
  model?: string;
  /** The protocol the endpoint speaks; default gradlab. */
  target?: TargetKind;
  /** The generic target's config file. */
  targetConfig?: string;
  /** What the endpoint does not say about the model (labels, classes, input shape). */
  hints?: ModelHints;
  key?: string;
  /** More request headers (`authorization: …` for an endpoint that is not gradlab). */
  headers?: Record<string, string>;
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

export type OracleModel = TargetModel;

export class HttpOracle {
  readonly model: OracleModel;
  readonly range: [number, number];
  readonly target: Target;
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
  private readonly options: OracleOptions;
  private readonly fetcher: typeof fetch;

  private constructor(target: Target, model: OracleModel, options: OracleOptions) {
    this.target = target;
    this.model = model;
    this.options = options;
    this.range = options.range ?? [0, 1];
    this.fetcher = options.fetch ?? fetch;
  }

  /** Asks the endpoint what the model looks like (labels, input shape), as its protocol allows. */
  static async connect(options: OracleOptions): Promise<HttpOracle> {
    const target = createTarget({ kind: options.target, url: options.url, ...(options.model ? { model: options.model } : {}), ...(options.targetConfig ? { config: options.targetConfig } : {}), ...(options.hints ? { hints: options.hints } : {}) });
    const fetcher = options.fetch ?? fetch;
    let remaining: number | undefined;
    const http = async (url: string, init?: RequestInit) => {
      const res = await fetcher(url, { ...init, headers: { ...HttpOracle.authHeaders(options), ...(init?.headers as Record<string, string> | undefined) } });
      const header = res.headers.get('x-budget-remaining');
      if (header !== null) remaining = Number(header);
      if (!res.ok) throw new OracleError(res.status, `GET ${url}: ${res.status} ${errorWords(Buffer.from(await res.arrayBuffer())).message || res.statusText}`);
      return res;
    };
    const model = await target.describe(http);
    const oracle = new HttpOracle(target, model, options);
    if (remaining !== undefined) oracle.serverRemaining = remaining;
    return oracle;
  }

  private static authHeaders(options: OracleOptions): Record<string, string> {
    return { ...(options.key ? { 'x-api-key': options.key } : {}), ...options.headers };
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

  private parse(predictions: RankedClass[]): OracleAnswer {
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
   * Classifies images (each one query), in requests of at most `maxBatch` (and what the target
   * takes). Throws BudgetExhausted before sending what the budget cannot pay for; answers for
   * earlier chunks are kept in the books.
   */
  async classify(images: Float32Array[]): Promise<OracleAnswer[]> {
    const out: OracleAnswer[] = [];
    const maxBatch = Math.min(this.options.maxBatch ?? 64, this.target.maxBatch ?? Infinity);
    for (let start = 0; start < images.length; start += maxBatch) {
      out.push(...(await this.send(images.slice(start, start + maxBatch))));
    }
    return out;
  }

  private async send(images: Float32Array[]): Promise<OracleAnswer[]> {
    if (images.length > this.remaining) {
      throw new BudgetExhausted(`${images.length} queries asked with ${this.remaining} left of the budget`);
    }
    const request = await this.target.encode(images, this.model);
    for (;;) {
      this.requests++;
      const res = await this.fetcher(request.url, { method: 'POST', headers: { ...request.headers, ...HttpOracle.authHeaders(this.options) }, body: request.body });
      const remaining = res.headers.get('x-budget-remaining');
      if (remaining !== null) this.serverRemaining = Number(remaining);
      const body = Buffer.from(await res.arrayBuffer());
      if (res.ok) {
        const answers = this.target.decode(body, res.headers, images.length, this.model);
        this.queries += images.length;
        return answers.map((r) => this.parse(r));
      }
      const error = errorWords(body);
      if (res.status === 429 && error.code === 'GRADLAB_BUDGET_EXHAUSTED') {
        throw new BudgetExhausted(`the server's budget is spent: ${error.message}`);
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
      throw new OracleError(res.status, `POST ${request.url}: ${res.status} ${error.code ?? ''} ${error.message || res.statusText}`.replace(/\s+/g, ' ').trim());
    }
  }
}
