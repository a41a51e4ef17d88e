/**
 * What the attack client needs of an endpoint, whatever protocol it speaks: what the model looks
 * like (labels, input shape), how to put images into a request and how to read the answers back.
 * The oracle (../oracle.ts) keeps the books, waits out rate limits and stops at budgets; a target
 * only translates. Targets: gradlab's `/v1`, Open Inference Protocol v2 (JSON or binary), KServe
 * v1, TF Serving REST, and a generic JSON endpoint described in a config file.
 */

export const TARGET_KINDS = ['gradlab', 'oip', 'oip-binary', 'kserve', 'tfserving', 'generic'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export interface TargetModel {
  name: string;
  labels: string[];
  /** [height, width, channels] */
  inputShape: [number, number, number];
}

/** One class in an answer, best first; no probability when the endpoint answers labels only. */
export interface RankedClass {
  index: number;
  probability?: number;
}

export interface EncodedRequest {
  url: string;
  body: NonNullable<RequestInit['body']>;
  headers: Record<string, string>;
}

/** fetch with the caller's authentication headers added. */
export type Http = (url: string, init?: RequestInit) => Promise<Response>;

export interface Target {
  readonly kind: TargetKind;
  /** Where queries go, for the report. */
  readonly endpoint: string;
  /** Most images one request may carry (1 for endpoints that take one image). */
  readonly maxBatch?: number;
  describe(http: Http): Promise<TargetModel>;
  /** The request for a batch of flat [H*W*C] images; may round them in place to what is sent. */
  encode(images: Float32Array[], model: TargetModel): Promise<EncodedRequest>;
  /** The ranked classes of each image from a successful answer. */
  decode(body: Buffer, headers: Headers, count: number, model: TargetModel): RankedClass[][];
}

/** What the user told the client about a model an endpoint does not describe. */
export interface ModelHints {
  labels?: string[];
  classes?: number;
  inputShape?: [number, number, number];
}

export class TargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetError';
  }
}

/** Labels from hints, or from a class count (`0`…`n-1`), or an error saying which flag to give. */
export function hintedLabels(hints: ModelHints, what: string, known?: number): string[] {
  if (hints.labels) return hints.labels;
  const n = hints.classes ?? known;
  if (n === undefined) throw new TargetError(`${what} does not say how many classes the model has: give --labels a,b,… or --classes N`);
  return Array.from({ length: n }, (_, i) => String(i));
}

export function hintedShape(hints: ModelHints, what: string): [number, number, number] {
  if (!hints.inputShape) throw new TargetError(`${what} does not describe the model's input: give --input-shape H,W,C`);
  return hints.inputShape;
}

/** Values rounded to 6 decimals in place (a quarter of the JSON of float32's 17 digits; far below any attack's step). */
export function roundInPlace(image: Float32Array): Float32Array {
  for (let i = 0; i < image.length; i++) image[i] = Math.round(image[i]! * 1e6) / 1e6;
  return image;
}

/** A value as JSON carries it: 6 decimals (the caller's copy is rounded the same way, so what an attack records is what was asked). */
export const sixDecimals = (v: number) => Math.round(v * 1e6) / 1e6;

/** A flat [H*W*C] image → nested [H][W][C] (or [H][W] for one channel when `squeeze`), values to 6 decimals. */
export function nestedPixels(image: Float32Array, shape: [number, number, number], squeeze: boolean): unknown[] {
  const [h, w, c] = shape;
  const rows = [];
  for (let y = 0; y < h; y++) {
    const row = [];
    for (let x = 0; x < w; x++) {
      const at = (y * w + x) * c;
      row.push(c === 1 && squeeze ? sixDecimals(image[at]!) : Array.from(image.subarray(at, at + c), sixDecimals));
    }
    rows.push(row);
  }
  return rows;
}

/** Every class's probability → the classes ranked best first. */
export function rankVector(vector: ArrayLike<number>): RankedClass[] {
  return Array.from(vector, (probability, index) => ({ index, probability })).sort((a, b) => b.probability - a.probability);
}

/** An error answer's words, whatever its shape: gradlab's `{error: {code, message}}`, the protocols' `{error: "…"}`, or text. */
export function errorWords(body: Buffer): { code?: string; message: string } {
  const text = body.toString('utf8');
  try {
    const json = JSON.parse(text) as { error?: unknown; message?: unknown };
    const error = json.error;
    if (typeof error === 'object' && error !== null) {
      const e = error as { code?: string; message?: string };
      return { ...(e.code ? { code: e.code } : {}), message: e.message ?? text };
    }
    if (typeof error === 'string') {
      const code = /^(GRADLAB_[A-Z_]+): /.exec(error)?.[1];
      return { ...(code ? { code } : {}), message: code ? error.slice(code.length + 2) : error };
    }
    if (typeof json.message === 'string') return { message: json.message };
  } catch {
    // Not JSON: the text itself.
  }
  return { message: text.slice(0, 300) };
}

/** A JSON answer or a TargetError naming the URL. */
export function parseJson(body: Buffer, url: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new TargetError(`${url}: the answer is not JSON`);
  }
}
