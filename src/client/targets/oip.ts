/**
 * Open Inference Protocol v2 (KServe v2, Triton, gradlab's `/v2`): the model from
 * `GET /v2/models/{m}[/versions/{v}]` (input shape from the NHWC input, classes from the output or
 * the config's labels), images sent as exact FP32 tensors, either as JSON or with the binary
 * tensor extension (tritonclient's default); answers as an FP32 probability tensor or as
 * classification strings (`value:index:label`, `:index:label` when no value is revealed).
 */
import { hintedLabels, parseJson, rankVector, TargetError, type Http, type ModelHints, type RankedClass, type Target, type TargetModel } from './target.ts';

interface TensorMeta {
  name: string;
  datatype: string;
  shape: number[];
}

/** `http://h` + model, or `…/v2/models/{m}[/versions/{v}][/infer]` → the model's URL. */
export function oipModelUrl(url: string, model?: string): string {
  const m = /^(.*?\/v2\/models\/[^/]+(?:\/versions\/[^/]+)?)(?:\/infer)?\/?$/.exec(url);
  if (m) return m[1]!;
  if (!model) throw new TargetError(`'${url}' is not an OIP v2 model URL (…/v2/models/<model>[/infer]); give the model name too`);
  return `${url.replace(/\/+$/, '')}/v2/models/${encodeURIComponent(model)}`;
}

/** One classification string → its class and, when given, its value. */
export function parseClassification(text: string): RankedClass {
  const [value, index] = text.split(':');
  const i = Number(index);
  if (!Number.isInteger(i)) throw new TargetError(`'${text}' is not a classification string (value:index[:label])`);
  return value === '' || value === undefined ? { index: i } : { index: i, probability: Number(value) };
}

export class OipTarget implements Target {
  readonly kind: 'oip' | 'oip-binary';
  readonly endpoint: string;
  private readonly modelUrl: string;
  private input: TensorMeta | undefined;
  private output: TensorMeta | undefined;

  constructor(url: string, model: string | undefined, private readonly binary: boolean, private readonly hints: ModelHints) {
    this.kind = binary ? 'oip-binary' : 'oip';
    this.modelUrl = oipModelUrl(url, model);
    this.endpoint = `${this.modelUrl}/infer`;
  }

  async describe(http: Http): Promise<TargetModel> {
    const meta = parseJson(Buffer.from(await (await http(this.modelUrl)).arrayBuffer()), this.modelUrl) as { name?: string; inputs?: TensorMeta[]; outputs?: TensorMeta[] };
    const input = meta.inputs?.[0];
    const output = meta.outputs?.[0];
    if (!input || !output || input.shape.length < 3) throw new TargetError(`GET ${this.modelUrl}: the metadata has no image input or no output`);
    this.input = input;
    this.output = output;
    const shape = (this.hints.inputShape ?? input.shape.slice(-3)) as [number, number, number];
    let labels = this.hints.labels;
    if (!labels) {
      // gradlab (and any server that says them) names the labels in the configuration.
      const config = await http(`${this.modelUrl}/config`).then(async (r) => parseJson(Buffer.from(await r.arrayBuffer()), this.modelUrl) as { parameters?: { labels?: string[] } }).catch(() => undefined);
      labels = config?.parameters?.labels ?? hintedLabels(this.hints, `GET ${this.modelUrl}`, output.datatype === 'BYTES' ? undefined : output.shape.at(-1));
    }
    return { name: meta.name ?? this.modelUrl.split('/').pop()!, labels, inputShape: shape };
  }

  encode(images: Float32Array[], model: TargetModel) {
    const input = this.input!;
    const shape = [images.length, ...model.inputShape];
    const outputs = [{ name: this.output!.name, parameters: { binary_data: this.binary } }];
    if (!this.binary) {
      const data = images.flatMap((img) => Array.from(img));
      return Promise.resolve({ url: this.endpoint, body: JSON.stringify({ inputs: [{ name: input.name, datatype: 'FP32', shape, data }], outputs }), headers: { 'content-type': 'application/json' } });
    }
    const tensor = Buffer.alloc(images.length * images[0]!.length * 4);
    let at = 0;
    for (const img of images) for (const v of img) at = tensor.writeFloatLE(v, at);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: input.name, datatype: 'FP32', shape, parameters: { binary_data_size: tensor.length } }], outputs }));
    return Promise.resolve({
      url: this.endpoint,
      body: new Uint8Array(Buffer.concat([header, tensor])),
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    });
  }

  decode(body: Buffer, headers: Headers, count: number, model: TargetModel): RankedClass[][] {
    const length = headers.get('inference-header-content-length');
    const jsonLength = length === null ? body.length : Number(length);
    const answer = parseJson(body.subarray(0, jsonLength), this.endpoint) as { outputs?: (TensorMeta & { data?: unknown[]; parameters?: { binary_data_size?: number } })[] };
    const out = answer.outputs?.find((o) => o.name === this.output!.name) ?? answer.outputs?.[0];
    if (!out) throw new TargetError(`POST ${this.endpoint}: the answer has no outputs`);
    let values: number[] | string[];
    if (out.parameters?.binary_data_size !== undefined) {
      // Outputs before this one in the binary part are skipped by their sizes.
      let at = jsonLength;
      for (const o of answer.outputs!) {
        if (o === out) break;
        at += o.parameters?.binary_data_size ?? 0;
      }
      const bytes = body.subarray(at, at + out.parameters.binary_data_size);
      values = out.datatype === 'BYTES' ? readStrings(bytes) : Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
    } else values = (out.data ?? []).flat(Infinity) as number[] | string[];
    const per = values.length / count;
    return Array.from({ length: count }, (_, i) => {
      const mine = values.slice(i * per, (i + 1) * per);
      if (out.datatype === 'BYTES') return (mine as string[]).map(parseClassification);
      if (per !== model.labels.length) throw new TargetError(`POST ${this.endpoint}: ${per} values per image, but the model has ${model.labels.length} classes`);
      return rankVector(mine as number[]);
    });
  }
}

function readStrings(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at + 4 <= bytes.length;) {
    const n = bytes.readUInt32LE(at);
    out.push(bytes.subarray(at + 4, at + 4 + n).toString('utf8'));
    at += 4 + n;
  }
  return out;
}
