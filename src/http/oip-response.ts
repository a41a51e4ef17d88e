/**
 * What an Open Inference Protocol v2 answer for an image classifier holds, decided in one place
 * for the metadata and for infer: the output `probabilities` is FP32 [N, classes] (every class's
 * probability) when the server may reveal that, and otherwise, or when the client asks for the
 * classification extension, BYTES [N, k] with Triton's `value:index:label` strings, best first.
 * Under black-box `label` output the value is left empty (`:index:label`): the server says the
 * class and nothing of its probability. The answer is JSON or, per the binary extension, a JSON
 * header followed by the raw tensors.
 */
import type { OutputShape, PublicPrediction } from '../blackbox/output-shaping.ts';
import { byteElements, fp32Bytes, joinBody } from './oip-binary.ts';
import { OUTPUT_NAME, type RequestedOutput } from './oip-request.ts';

/** Every class's probability, or the top k classes as strings. */
export type AnswerForm = { kind: 'vector' } | { kind: 'classes'; k: number };

/** The form an answer takes under an output shape (undefined: white-box, everything). */
export function answerForm(shape: OutputShape | undefined, classes: number, classification?: number): AnswerForm {
  const cap = !shape || shape.kind === 'probabilities' ? classes : shape.kind === 'topk' ? Math.min(shape.k, classes) : 1;
  if (classification !== undefined) return { kind: 'classes', k: Math.min(classification, cap) };
  return !shape || shape.kind === 'probabilities' ? { kind: 'vector' } : { kind: 'classes', k: cap };
}

/** The output tensor's metadata (`-1`: the batch dimension). */
export function outputMetadata(form: AnswerForm, classes: number) {
  return form.kind === 'vector'
    ? { name: OUTPUT_NAME, datatype: 'FP32', shape: [-1, classes] }
    : { name: OUTPUT_NAME, datatype: 'BYTES', shape: [-1, form.k] };
}

/** Triton's classification string; no value when the answer carries no probability. */
export function classificationString(p: PublicPrediction): string {
  return `${p.probability === undefined ? '' : String(p.probability)}:${p.index}:${p.label}`;
}

export interface InferAnswer {
  /** JSON object, or the binary extension's body with the header's length. */
  json?: unknown;
  binary?: { body: Buffer; headerLength: number };
}

export function inferAnswer(
  predictions: PublicPrediction[][],
  form: AnswerForm,
  classes: number,
  requested: RequestedOutput,
  meta: { model: string; version: string; id?: string },
): InferAnswer {
  const n = predictions.length;
  let tensor: { datatype: string; shape: number[]; values: number[] | string[] };
  if (form.kind === 'vector') {
    const values = new Array<number>(n * classes).fill(0);
    predictions.forEach((ranked, i) => {
      for (const p of ranked) values[i * classes + p.index] = p.probability ?? 0;
    });
    tensor = { datatype: 'FP32', shape: [n, classes], values };
  } else {
    tensor = { datatype: 'BYTES', shape: [n, form.k], values: predictions.flatMap((ranked) => ranked.slice(0, form.k).map(classificationString)) };
  }
  const head = { model_name: meta.model, model_version: meta.version, ...(meta.id !== undefined ? { id: meta.id } : {}) };
  if (!requested.binary) return { json: { ...head, outputs: [{ name: OUTPUT_NAME, datatype: tensor.datatype, shape: tensor.shape, data: tensor.values }] } };
  const bytes = tensor.datatype === 'FP32' ? fp32Bytes(tensor.values as number[]) : byteElements(tensor.values as string[]);
  const header = { ...head, outputs: [{ name: OUTPUT_NAME, datatype: tensor.datatype, shape: tensor.shape, parameters: { binary_data_size: bytes.length } }] };
  return { binary: joinBody(header, [bytes]) };
}
