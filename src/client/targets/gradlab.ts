/**
 * gradlab's own `/v1`: the model from `GET /v1/models/{m}`, images sent as exact pixel arrays to
 * `/classify` (no PNG rounding), answers as ranked `{label, index, probability?}`.
 */
import { nestedPixels, parseJson, roundInPlace, TargetError, type Http, type RankedClass, type Target, type TargetModel } from './target.ts';

/** `http://h:8080` + `mnist`, or `http://h:8080/v1/models/mnist/classify` → base, model name. */
export function parseTarget(url: string, model?: string): { base: string; model: string } {
  const m = /^(.*?)\/v1\/models\/([^/]+)(?:\/classify)?\/?$/.exec(url);
  if (m) return { base: m[1]!, model: decodeURIComponent(m[2]!) };
  if (!model) throw new Error(`'${url}' is not a classify URL (…/v1/models/<model>/classify); give the model name too`);
  return { base: url.replace(/\/+$/, ''), model };
}

export class GradlabTarget implements Target {
  readonly kind = 'gradlab';
  readonly endpoint: string;
  private readonly modelUrl: string;

  constructor(url: string, model?: string) {
    const { base, model: name } = parseTarget(url, model);
    this.modelUrl = `${base}/v1/models/${encodeURIComponent(name)}`;
    this.endpoint = `${this.modelUrl}/classify`;
  }

  async describe(http: Http): Promise<TargetModel> {
    const res = await http(this.modelUrl);
    const body = parseJson(Buffer.from(await res.arrayBuffer()), this.modelUrl) as { name?: string; labels?: string[]; input?: { shape?: number[] } };
    const shape = body.input?.shape;
    if (!Array.isArray(body.labels) || !Array.isArray(shape) || shape.length !== 3) throw new TargetError(`GET ${this.modelUrl}: the answer has no labels or input shape`);
    return { name: body.name ?? decodeURIComponent(this.modelUrl.split('/').pop()!), labels: body.labels, inputShape: shape as [number, number, number] };
  }

  encode(images: Float32Array[], model: TargetModel) {
    const body = JSON.stringify({ images: images.map((img) => nestedPixels(roundInPlace(img), model.inputShape, true)) });
    return Promise.resolve({ url: this.endpoint, body, headers: { 'content-type': 'application/json' } });
  }

  decode(body: Buffer): RankedClass[][] {
    const answer = parseJson(body, this.endpoint) as { results?: { predictions: RankedClass[] }[] };
    if (!Array.isArray(answer.results)) throw new TargetError(`POST ${this.endpoint}: the answer has no results`);
    return answer.results.map((r) => r.predictions);
  }
}
