/**
 * Any JSON endpoint, described in a small config file (`--target generic --target-config f.json`):
 *
 *   { "url": "https://api.example.com/v1/score", "headers": {"authorization": "Bearer …"},
 *     "input": {"shape": [28, 28, 1], "range": [0, 1]}, "labels": ["0", …] (or "classes": 10),
 *     "request": {"encoding": "pixels" | "base64" | "multipart", "field": "data.image",
 *                 "body": {"version": 2}, "batch": false, "layout": "nested" | "flat"},
 *     "response": {"probabilities": "result.scores"} or {"label": "result.class"} }
 *
 * `pixels` puts the image as numbers, `base64` as a base64 PNG (8-bit: the attack then works on
 * what the PNG keeps), `multipart` as a PNG file in the form field `field`. With `batch` the field
 * holds an array of images and the response paths may map over arrays with `[]`
 * (`results[].scores`). A label may be the class index or its name.
 */
import { readFileSync } from 'node:fs';
import { inputToRgb, rgbToPng } from '../../images/encode.ts';
import { rankPrediction } from './kserve.ts';
import { hintedLabels, nestedPixels, parseJson, rankVector, roundInPlace, sixDecimals, TargetError, type EncodedRequest, type RankedClass, type Target, type TargetModel } from './target.ts';

export interface GenericConfig {
  url: string;
  headers?: Record<string, string>;
  input: { shape: [number, number, number]; range?: [number, number] };
  labels?: string[];
  classes?: number;
  request: { encoding: 'pixels' | 'base64' | 'multipart'; field: string; body?: Record<string, unknown>; batch?: boolean; layout?: 'nested' | 'flat' };
  response: { probabilities?: string; label?: string };
}

/** Reads and checks a config file; every problem names the file and the field. */
export function readGenericConfig(file: string): GenericConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TargetError(`--target-config ${file}: ${(err as Error).message}`);
  }
  const c = raw as Partial<GenericConfig>;
  const bad = (field: string, what: string) => new TargetError(`--target-config ${file}: '${field}' ${what}`);
  if (typeof c.url !== 'string' || !/^https?:\/\//.test(c.url)) throw bad('url', 'must be an http(s) URL');
  const shape = c.input?.shape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) throw bad('input.shape', 'must be [height, width, channels]');
  if (!c.labels && !(Number.isInteger(c.classes) && c.classes! > 1)) throw bad('labels', 'or classes is needed: the labels, or how many classes');
  if (!c.request || !['pixels', 'base64', 'multipart'].includes(c.request.encoding)) throw bad('request.encoding', 'must be pixels, base64 or multipart');
  if (typeof c.request.field !== 'string' || !c.request.field) throw bad('request.field', 'must name where the image goes (e.g. data.image)');
  if (!c.response || (typeof c.response.probabilities !== 'string' && typeof c.response.label !== 'string')) throw bad('response', 'must give the path of probabilities or of label');
  return c as GenericConfig;
}

/** `a.b[].c` read from a JSON value; `[]` maps the rest over an array. */
export function readPath(value: unknown, path: string): unknown {
  const [head, ...rest] = path.split('.');
  if (head === undefined || head === '') return value;
  const mapped = head.endsWith('[]');
  const key = mapped ? head.slice(0, -2) : head;
  const inner = key === '' ? value : (value as Record<string, unknown> | undefined)?.[key];
  if (!mapped) return rest.length ? readPath(inner, rest.join('.')) : inner;
  if (!Array.isArray(inner)) return undefined;
  return inner.map((item) => readPath(item, rest.join('.')));
}

function writePath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let at = target;
  for (const key of keys.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
  at[keys.at(-1)!] = value;
}

export class GenericTarget implements Target {
  readonly kind = 'generic';
  readonly endpoint: string;
  readonly maxBatch: number | undefined;

  constructor(private readonly config: GenericConfig) {
    this.endpoint = config.url;
    // One image per request unless the endpoint takes a batch (multipart sends one file).
    this.maxBatch = config.request.batch && config.request.encoding !== 'multipart' ? undefined : 1;
  }

  describe(): Promise<TargetModel> {
    const c = this.config;
    return Promise.resolve({ name: new URL(c.url).pathname, labels: c.labels ?? hintedLabels({ ...(c.classes ? { classes: c.classes } : {}) }, c.url), inputShape: c.input.shape });
  }

  private async one(image: Float32Array, model: TargetModel): Promise<unknown> {
    const { encoding, layout } = this.config.request;
    if (encoding === 'pixels') return layout === 'flat' ? Array.from(roundInPlace(image), sixDecimals) : nestedPixels(roundInPlace(image), model.inputShape, false);
    return (await this.png(image, model)).toString('base64');
  }

  private png(image: Float32Array, model: TargetModel): Promise<Buffer> {
    return rgbToPng(inputToRgb(image, model.inputShape, this.config.input.range ?? [0, 1]));
  }

  async encode(images: Float32Array[], model: TargetModel): Promise<EncodedRequest> {
    const { request } = this.config;
    if (request.encoding === 'multipart') {
      const form = new FormData();
      for (const [k, v] of Object.entries(request.body ?? {})) form.append(k, typeof v === 'string' ? v : JSON.stringify(v));
      form.append(request.field, new Blob([new Uint8Array(await this.png(images[0]!, model))], { type: 'image/png' }), 'image.png');
      return { url: this.endpoint, body: form, headers: { ...this.config.headers } };
    }
    const body = structuredClone(request.body ?? {});
    const values = await Promise.all(images.map((img) => this.one(img, model)));
    writePath(body, request.field, request.batch ? values : values[0]);
    return { url: this.endpoint, body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...this.config.headers } };
  }

  decode(body: Buffer, _headers: Headers, count: number, model: TargetModel): RankedClass[][] {
    const answer = parseJson(body, this.endpoint);
    const { probabilities, label } = this.config.response;
    const found = readPath(answer, (probabilities ?? label)!);
    const items = this.config.request.batch ? found : [found];
    if (!Array.isArray(items) || items.length !== count) throw new TargetError(`${this.endpoint}: nothing at '${probabilities ?? label}' in the answer for ${count} image(s)`);
    return items.map((item) => (probabilities && Array.isArray(item) ? rankVector(item as number[]) : rankPrediction(item, model, this.endpoint)));
  }
}
