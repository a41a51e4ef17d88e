/**
 * KServe v1 and TF Serving REST: `POST …/v1/models/{m}:predict` with `{"instances": [...]}` (each
 * image a nested [H][W][C] pixel array). Neither protocol says much about the model: TF Serving's
 * `GET …/metadata` gives the input shape; a gradlab server's `GET /v1/models/{m}` gives labels and
 * shape; otherwise `--input-shape` and `--labels`/`--classes` say it. Predictions may be a
 * probability vector, a ranked `[{index, probability?}]` list, a class index or a label name.
 */
import { hintedLabels, hintedShape, nestedPixels, parseJson, rankVector, roundInPlace, TargetError, type Http, type ModelHints, type RankedClass, type Target, type TargetModel } from './target.ts';

/** `http://h` + model, or `…/v1/models/{m}[:predict]` → the model's URL. */
export function v1ModelUrl(url: string, model?: string): string {
  const m = /^(.*?\/v1\/models\/[^/:]+)(?::predict)?\/?$/.exec(url);
  if (m) return m[1]!;
  if (!model) throw new TargetError(`'${url}' is not a predict URL (…/v1/models/<model>:predict); give the model name too`);
  return `${url.replace(/\/+$/, '')}/v1/models/${encodeURIComponent(model)}`;
}

/** TF Serving's metadata: the serving signature's first input, [-1, H, W, C]. */
function signatureShape(metadata: unknown): [number, number, number] | undefined {
  const defs = (metadata as { metadata?: { signature_def?: { signature_def?: Record<string, { inputs?: Record<string, { tensor_shape?: { dim?: { size: string }[] } }> }> } } })?.metadata?.signature_def?.signature_def;
  const inputs = defs?.serving_default?.inputs;
  const dims = inputs ? Object.values(inputs)[0]?.tensor_shape?.dim?.map((d) => Number(d.size)) : undefined;
  return dims && dims.length === 4 && dims.slice(1).every((d) => d > 0) ? (dims.slice(1) as [number, number, number]) : undefined;
}

export class PredictTarget implements Target {
  readonly endpoint: string;
  private readonly modelUrl: string;

  constructor(readonly kind: 'kserve' | 'tfserving', url: string, model: string | undefined, private readonly hints: ModelHints) {
    this.modelUrl = v1ModelUrl(url, model);
    this.endpoint = `${this.modelUrl}:predict`;
  }

  async describe(http: Http): Promise<TargetModel> {
    const name = decodeURIComponent(this.modelUrl.split('/').pop()!);
    const read = async (url: string) => http(url).then(async (r) => parseJson(Buffer.from(await r.arrayBuffer()), url)).catch(() => undefined);
    let shape = this.hints.inputShape;
    let labels = this.hints.labels;
    if (!shape || !labels) {
      const about = (await read(this.modelUrl)) as { labels?: string[]; input?: { shape?: number[] } } | undefined;
      if (!labels && Array.isArray(about?.labels)) labels = about.labels;
      if (!shape && about?.input?.shape?.length === 3) shape = about.input.shape as [number, number, number];
    }
    if (!shape && this.kind === 'tfserving') shape = signatureShape(await read(`${this.modelUrl}/metadata`));
    return { name, labels: labels ?? hintedLabels(this.hints, `${this.endpoint}`), inputShape: shape ?? hintedShape(this.hints, this.endpoint) };
  }

  encode(images: Float32Array[], model: TargetModel) {
    const instances = images.map((img) => nestedPixels(roundInPlace(img), model.inputShape, false));
    return Promise.resolve({ url: this.endpoint, body: JSON.stringify({ instances }), headers: { 'content-type': 'application/json' } });
  }

  decode(body: Buffer, _headers: Headers, count: number, model: TargetModel): RankedClass[][] {
    const answer = parseJson(body, this.endpoint) as { predictions?: unknown[] };
    if (!Array.isArray(answer.predictions) || answer.predictions.length !== count) throw new TargetError(`POST ${this.endpoint}: expected ${count} predictions`);
    return answer.predictions.map((p) => rankPrediction(p, model, this.endpoint));
  }
}

/** One prediction in any of the forms predict endpoints answer. */
export function rankPrediction(p: unknown, model: TargetModel, where: string): RankedClass[] {
  if (typeof p === 'number' && Number.isInteger(p)) return [{ index: p }];
  if (typeof p === 'string') {
    const index = model.labels.indexOf(p);
    if (index < 0) throw new TargetError(`${where}: '${p}' is not one of the model's labels`);
    return [{ index }];
  }
  if (Array.isArray(p) && p.every((v) => typeof v === 'number')) {
    if (p.length !== model.labels.length) throw new TargetError(`${where}: ${p.length} probabilities, but the model has ${model.labels.length} classes`);
    return rankVector(p);
  }
  if (Array.isArray(p) && p.every((v) => typeof (v as RankedClass)?.index === 'number')) return p as RankedClass[];
  throw new TargetError(`${where}: a prediction is neither probabilities, a class index, a label nor a ranked list`);
}
