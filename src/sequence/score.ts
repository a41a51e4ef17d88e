/**
 * Scores one sequence with a sequence model: per-step outputs, the prediction, optionally the
 * unrolled trace (input, hidden units and output at every step, like the lecture's unrolled
 * diagrams), and for language models the log-probability of every token, bits per token and
 * perplexity.
 *
 * Language models read `input.context` (char-lm: a line break) before the text, so that the first
 * token has a prediction too: the output after reading tokens 0..t−1 is p(token t | context, 0..t−1).
 */
import { badParameter } from '../errors.ts';
import { encodeSequence, type EncodedSequence } from './input.ts';
import { row, type SequenceModel, type Unrolled } from './sequence-model.ts';

export interface ScoreOptions {
  trace?: boolean;
  maxLength: number;
}

export interface TraceStep {
  t: number;
  input: number | number[] | string;
  hidden: number[];
  output: number | number[] | { token: string; probability: number };
}

export interface ClassPrediction {
  label: string;
  index: number;
  probability: number;
}

export interface NextToken {
  token: string;
  probability: number;
}

export interface ScoreResult {
  task: string;
  length: number;
  prediction: number | ClassPrediction | NextToken;
  outputs: (number | number[] | NextToken)[];
  hiddenUnits?: string[];
  steps?: TraceStep[];
  tokens?: { token: string; logProb: number }[];
  logProb?: number;
  bitsPerToken?: number;
  perplexity?: number;
}

export function logSoftmax(logits: number[]): number[] {
  const max = Math.max(...logits);
  const lse = max + Math.log(logits.reduce((s, v) => s + Math.exp(v - max), 0));
  return logits.map((v) => v - lse);
}

function argmax(values: number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** Prepends a language model's context token (if any) to an encoded text. */
export function withContext(model: SequenceModel, seq: EncodedSequence): EncodedSequence {
  const ctx = model.manifest.input.context;
  if (ctx === undefined || !model.vocabulary) return seq;
  const id = model.vocabulary.index.get(ctx)!;
  const width = seq.width;
  const values = new Float32Array((seq.length + 1) * width);
  if (model.manifest.input.encoding === 'ids') values[0] = id;
  else values[id] = 1;
  values.set(seq.values, width);
  return {
    values, length: seq.length + 1, width, display: [ctx, ...seq.display],
    ids: Int32Array.from([id, ...(seq.ids ?? [])]),
  };
}

/** The step's output as the answer shows it. */
function stepOutput(model: SequenceModel, u: Unrolled, t: number): number | number[] | NextToken {
  const out = row(u.outputs, u.outputSize, t);
  if (model.outputKind === 'values') return out.length === 1 ? out[0]! : out;
  const logp = logSoftmax(out);
  if (model.manifest.task === 'language-model') {
    const best = argmax(logp);
    return { token: model.vocabulary!.entries[best]!, probability: Math.exp(logp[best]!) };
  }
  return logp.map(Math.exp);
}

function classPrediction(model: SequenceModel, u: Unrolled): ClassPrediction {
  const labels = model.manifest.labels!;
  const last = row(u.outputs, u.outputSize, u.length - 1);
  if (model.outputKind === 'values') {
    // Hand-wired classifiers: the output unit's value (0 or 1) is the label index.
    const index = Math.min(labels.length - 1, Math.max(0, Math.round(last[0]!)));
    return { label: labels[index]!, index, probability: 1 };
  }
  const p = logSoftmax(last).map(Math.exp);
  const index = argmax(p);
  return { label: labels[index]!, index, probability: p[index]! };
}

/** Validates and scores `raw` (the request's `sequence`). Leaves no tensors behind. */
export function scoreSequence(model: SequenceModel, raw: unknown, options: ScoreOptions): ScoreResult {
  const encoded = encodeSequence(raw, model.manifest.input, options.maxLength, model.vocabulary);
  const lm = model.manifest.task === 'language-model';
  const seq = lm ? withContext(model, encoded) : encoded;
  const [u] = model.run([seq]) as [Unrolled];
  // Finite inputs can still overflow 32-bit arithmetic (a running sum of 3e38s): an Infinity
  // would be answered as JSON null, so the request is refused instead.
  if (!u.outputs.every(Number.isFinite) || !u.hidden.every(Number.isFinite)) {
    throw badParameter('sequence', "the model's 32-bit arithmetic overflows on these values (a result is not finite); send smaller numbers");
  }
  const outputs = Array.from({ length: u.length }, (_, t) => stepOutput(model, u, t));
  const result: ScoreResult = {
    task: model.manifest.task,
    length: encoded.length,
    prediction: 0,
    outputs,
  };
  if (model.manifest.task === 'running-value') result.prediction = outputs[outputs.length - 1] as number;
  else if (model.manifest.task === 'classifier') result.prediction = classPrediction(model, u);
  else {
    result.prediction = outputs[outputs.length - 1] as NextToken;
    // Output t predicts input t+1; with a context token every text token is predicted.
    const offset = seq.length - encoded.length;
    const tokens: { token: string; logProb: number }[] = [];
    for (let i = 0; i < encoded.length; i++) {
      const t = i + offset - 1;
      if (t < 0) continue; // no context: the first token has no prediction
      const logp = logSoftmax(row(u.outputs, u.outputSize, t));
      tokens.push({ token: encoded.display[i] as string, logProb: logp[encoded.ids![i]!]! });
    }
    if (tokens.length === 0) throw badParameter('sequence', 'is too short to score: the first token has no context');
    const logProb = tokens.reduce((s, x) => s + x.logProb, 0);
    result.tokens = tokens;
    result.logProb = logProb;
    result.bitsPerToken = -logProb / tokens.length / Math.LN2;
    result.perplexity = Math.exp(-logProb / tokens.length);
  }
  if (options.trace) {
    result.hiddenUnits = model.hiddenNames;
    result.steps = Array.from({ length: u.length }, (_, t) => ({
      t: t + 1,
      input: seq.display[t]!,
      hidden: row(u.hidden, u.hiddenSize, t),
      output: outputs[t]!,
    }));
  }
  return result;
}
