/**
 * An Open Inference Protocol v2 infer request for an image classifier, read in two steps so that
 * black-box mode can charge before any image is decoded: `parseInferRequest` checks the JSON
 * header (one input `input`: FP32/FP64/UINT8 pixels [N, H, W, C] in NHWC, or BYTES [N] / [N, 1]
 * of encoded PNG/JPEG/WebP; JSON data or binary tensors), the outputs asked for and the batch size
 * without decoding; `decode()` then yields the model inputs. Every problem is a 400/413 naming
 * the field (`inputs[0].shape`, `outputs[0].parameters.classification`).
 */
import type { Limits } from '../config.ts';
import { badParameter, GradlabError, tooLarge } from '../errors.ts';
import type { ImageModel } from '../model/image-model.ts';
import { BinaryCursor, readByteElements, readNumbers, type SplitBody } from './oip-binary.ts';
import { decodeRequestImages } from './decode-request.ts';
import type { RawImage } from './request-images.ts';

export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'probabilities';

export interface RequestedOutput {
  /** Answer this output in the binary part. */
  binary: boolean;
  /** The classification extension: the top k classes as `value:index:label` strings. */
  classification?: number;
}

export interface ParsedInfer {
  id?: string;
  /** Images in the request: what black-box mode charges. */
  count: number;
  /** The `probabilities` output as asked (absent `outputs`: every output, JSON unless binary_data_output). */
  output: RequestedOutput;
  /** Any output was asked in binary: the answer carries the binary extension's header. */
  decode: () => Promise<Float32Array[]>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Nested or flat JSON numbers → float64 values, at most `limit` of them. */
function flattenNumbers(data: unknown, limit: number, field: string): Float64Array {
  const out = new Float64Array(limit);
  let n = 0;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw badParameter(field, `${JSON.stringify(v) ?? 'undefined'} is not a finite number`);
    if (n >= limit) throw badParameter(field, `has more elements than its shape's ${limit}`);
    out[n++] = v;
  };
  walk(data);
  if (n !== limit) throw badParameter(field, `has ${n} elements but its shape says ${limit}`);
  return out;
}

function checkShape(shape: unknown, field: string): number[] {
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
    throw badParameter(field, 'must be an array of non-negative whole numbers');
  }
  return shape as number[];
}

function readOutputs(header: Json, classes: number): RequestedOutput {
  const binaryDefault = isObject(header.parameters) && header.parameters.binary_data_output === true;
  const outputs = header.outputs;
  if (outputs === undefined) return { binary: binaryDefault };
  if (!Array.isArray(outputs)) throw badParameter('outputs', 'must be an array of {name, parameters}');
  if (outputs.length !== 1) throw badParameter('outputs', `this model has one output, '${OUTPUT_NAME}' (got ${outputs.length})`);
  const out = outputs[0] as unknown;
  if (!isObject(out) || out.name !== OUTPUT_NAME) throw badParameter('outputs[0].name', `this model's output is named '${OUTPUT_NAME}'`);
  const params = out.parameters === undefined ? {} : out.parameters;
  if (!isObject(params)) throw badParameter('outputs[0].parameters', 'must be an object');
  const binary = params.binary_data === undefined ? binaryDefault : params.binary_data;
  if (typeof binary !== 'boolean') throw badParameter('outputs[0].parameters.binary_data', 'must be true or false');
  const k = params.classification;
  if (k === undefined) return { binary };
  if (!Number.isInteger(k) || (k as number) < 1 || (k as number) > classes) {
    throw badParameter('outputs[0].parameters.classification', `must be a whole number from 1 to ${classes} (got ${JSON.stringify(k)})`);
  }
  return { binary, classification: k as number };
}

/** Pixels in [N, H, W, C] (any OIP numeric type) → one exact model input per image, range-checked. */
function pixelImages(values: Float64Array, count: number, model: ImageModel, datatype: string, field: string): Float32Array[] {
  const [lo, hi] = model.manifest.input.range;
  const size = model.pixelsPerImage;
  // UINT8 is 0..255 mapped onto the model's range, as an encoded image's bytes would be.
  const scale = datatype === 'UINT8' ? (hi - lo) / 255 : 1;
  const offset = datatype === 'UINT8' ? lo : 0;
  const images: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const image = new Float32Array(size);
    for (let j = 0; j < size; j++) {
      const v = values[i * size + j]! * scale + offset;
      if (!(v >= lo && v <= hi)) throw new GradlabError('GRADLAB_BAD_PIXELS', `${field}: element ${i * size + j} (${values[i * size + j]}) is outside the model's value range [${lo}, ${hi}]`, field);
      image[j] = v;
    }
    images.push(image);
  }
  return images;
}

/** BYTES elements in JSON: base64 strings (or `{"b64": …}`), each an encoded image. */
function jsonByteElements(data: unknown, count: number, field: string): unknown[] {
  const flat = Array.isArray(data) ? (data as unknown[]).flat() : undefined;
  if (!flat || flat.length !== count) throw badParameter(field, `must be ${count} base64 strings (one encoded image each)`);
  return flat.map((v, i) => {
    const value = isObject(v) && typeof v.b64 === 'string' ? v.b64 : v;
    if (typeof value !== 'string') throw badParameter(`${field}[${i}]`, 'must be a base64 string of a PNG, JPEG or WebP image');
    return value;
  });
}

export function parseInferRequest(split: SplitBody, model: ImageModel, limits: Limits): ParsedInfer {
  const header = split.header;
  if (!isObject(header)) throw new GradlabError('GRADLAB_BAD_REQUEST', 'the inference request must be a JSON object with inputs');
  if (header.id !== undefined && typeof header.id !== 'string') throw badParameter('id', 'must be a string');
  const inputs = header.inputs;
  if (!Array.isArray(inputs) || inputs.length !== 1) throw badParameter('inputs', `must hold exactly one tensor, '${INPUT_NAME}'`);
  const input = inputs[0] as unknown;
  if (!isObject(input)) throw badParameter('inputs[0]', 'must be an object {name, shape, datatype, data}');
  if (input.name !== INPUT_NAME) throw badParameter('inputs[0].name', `this model's input is named '${INPUT_NAME}' (got ${JSON.stringify(input.name)})`);
  const shape = checkShape(input.shape, 'inputs[0].shape');
  const datatype = input.datatype;
  const [h, w, c] = model.manifest.input.shape;
  const count = shape[0]!;
  if (count === 0) throw badParameter('inputs[0].shape', 'the batch is empty');
  if (count > limits.maxBatchSize) throw tooLarge('inputs[0].shape', `inputs[0].shape: ${count} images is more than the limit of ${limits.maxBatchSize}`);
  const params = input.parameters === undefined ? {} : input.parameters;
  if (!isObject(params)) throw badParameter('inputs[0].parameters', 'must be an object');
  const binarySize = params.binary_data_size;
  const cursor = new BinaryCursor(split.binary);
  const bytes = binarySize === undefined ? undefined : cursor.take(binarySize as number, 'inputs[0].parameters.binary_data_size');
  cursor.finish();
  if (bytes === undefined && input.data === undefined) throw badParameter('inputs[0].data', 'is missing (send data, or binary_data_size with the binary extension)');
  const output = readOutputs(header, model.manifest.labels.length);
  const id = header.id;

  if (datatype === 'BYTES') {
    if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) throw badParameter('inputs[0].shape', `BYTES images must be [N] or [N, 1] (got [${shape.join(', ')}])`);
    const values: unknown[] = bytes ? readByteElements(bytes, 'inputs[0]') : jsonByteElements(input.data, count, 'inputs[0].data');
    if (values.length !== count) throw badParameter('inputs[0]', `holds ${values.length} BYTES elements but its shape says ${count}`);
    const raws: RawImage[] = values.map((value, i) => ({ value, field: `inputs[0].data[${i}]` }));
    return { ...(id !== undefined ? { id } : {}), count, output, decode: () => decodeRequestImages(raws, model, limits) };
  }
  if (datatype !== 'FP32' && datatype !== 'FP64' && datatype !== 'UINT8') {
    throw badParameter('inputs[0].datatype', `must be FP32, FP64, UINT8 (pixels) or BYTES (encoded images) (got ${JSON.stringify(datatype)})`);
  }
  const want = [count, h, w, c];
  if (shape.length !== 4 || shape.some((d, i) => d !== want[i])) {
    throw badParameter('inputs[0].shape', `must be [N, ${h}, ${w}, ${c}] (NHWC) for this model (got [${shape.join(', ')}])`);
  }
  const elements = count * model.pixelsPerImage;
  // Reading the numbers is cheap next to the forward pass, but it waits for decode() all the same:
  // nothing of the images is looked at before the request is paid for.
  return {
    ...(id !== undefined ? { id } : {}),
    count,
    output,
    decode: () =>
      Promise.resolve().then(() => {
        const values = bytes ? readNumbers(bytes, datatype, 'inputs[0]') : flattenNumbers(input.data, elements, 'inputs[0].data');
        if (values.length !== elements) throw badParameter('inputs[0]', `holds ${values.length} elements but its shape says ${elements}`);
        return pixelImages(values, count, model, datatype, 'inputs[0].data');
      }),
  };
}
