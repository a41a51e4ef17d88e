/**
 * Measurements shared by the sequence training script and `npm run eval -- sequences`: parity
 * accuracy on fresh random strings, held-out bits per character of a language model, and spam
 * accuracy/F1. All of them run the model the server runs (a loaded SequenceModel).
 */
import * as tf from '@tensorflow/tfjs';
import { randomInt, type Random } from '../../src/datasets/seeded.ts';
import type { Mail } from '../../src/datasets/text-corpora.ts';
import { encodeIds, type EncodedSequence } from '../../src/sequence/input.ts';
import { logSoftmax, withContext } from '../../src/sequence/score.ts';
import { row, type SequenceModel } from '../../src/sequence/sequence-model.ts';
import { tokenizeWords } from '../../src/sequence/text.ts';

export const CHAR_LM_CONTEXT = '\n';
/** spam-rnn trains and is evaluated on the first this-many tokens of each mail. */
export const SPAM_MAX_TOKENS = 64;

export function mailTokens(text: string): string[] {
  return tokenizeWords(text.toLowerCase()).slice(0, SPAM_MAX_TOKENS);
}

export function spamIds(tokens: string[], index: Map<string, number>): Int32Array {
  const ids = Int32Array.from(tokens, (w) => index.get(w) ?? 0);
  return ids.length ? ids : Int32Array.from([0]);
}

function bitsSequence(bits: Float32Array): EncodedSequence {
  return { values: bits, length: bits.length, width: 1, display: [] };
}

/** Fraction of `n` fresh random strings of length `len` whose final parity the model gets right. */
export function parityAccuracy(model: SequenceModel, len: number, n: number, random: Random, batch = 100): number {
  let correct = 0;
  for (let done = 0; done < n; done += batch) {
    const size = Math.min(batch, n - done);
    const seqs: EncodedSequence[] = [];
    const truth: number[] = [];
    for (let i = 0; i < size; i++) {
      const bits = Float32Array.from({ length: len }, () => randomInt(random, 2));
      truth.push(bits.reduce((p, b) => p ^ b, 0));
      seqs.push(bitsSequence(bits));
    }
    model.run(seqs).forEach((u, i) => {
      const last = row(u.outputs, u.outputSize, u.length - 1);
      const predicted = model.outputKind === 'values' ? Math.round(last[0]!) : (last[1]! > last[0]! ? 1 : 0);
      if (predicted === truth[i]) correct++;
    });
  }
  return correct / n;
}

/**
 * Bits per character of `text` under a character language model, read in chunks of `chunk`
 * characters, each scored the way POST /score scores a text (after the model's context token).
 */
export function charLmBitsPerChar(model: SequenceModel, text: string, chunk: number, batch = 32): { bitsPerChar: number; characters: number } {
  const vocab = model.vocabulary!;
  const ids = Int32Array.from([...text], (c) => vocab.index.get(c) ?? vocab.index.get(' ')!);
  const chunks: EncodedSequence[] = [];
  for (let start = 0; start + chunk <= ids.length; start += chunk) {
    const part = ids.slice(start, start + chunk);
    chunks.push(withContext(model, encodeIds(part, [], model.manifest.input, vocab)));
  }
  let nats = 0;
  let count = 0;
  for (let i = 0; i < chunks.length; i += batch) {
    const group = chunks.slice(i, i + batch);
    model.run(group).forEach((u, j) => {
      const seqIds = group[j]!.ids!;
      for (let t = 0; t + 1 < u.length; t++) {
        nats -= logSoftmax(row(u.outputs, u.outputSize, t))[seqIds[t + 1]!]!;
        count++;
      }
    });
  }
  return { bitsPerChar: nats / count / Math.LN2, characters: count };
}

export interface BinaryMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  total: number;
}

export function binaryMetrics(predicted: number[], truth: number[]): BinaryMetrics {
  let tp = 0, fp = 0, fn = 0, correct = 0;
  predicted.forEach((p, i) => {
    const y = truth[i]!;
    if (p === y) correct++;
    if (p === 1 && y === 1) tp++;
    if (p === 1 && y === 0) fp++;
    if (p === 0 && y === 1) fn++;
  });
  const precision = tp / Math.max(1, tp + fp);
  const recall = tp / Math.max(1, tp + fn);
  return { accuracy: correct / truth.length, precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, total: truth.length };
}

/** Mails grouped by token count, so every batch has one length. */
function byLength(ids: Int32Array[]): number[][] {
  const groups = new Map<number, number[]>();
  ids.forEach((s, i) => groups.set(s.length, [...(groups.get(s.length) ?? []), i]));
  return [...groups.values()];
}

/** Held-out accuracy and F1 (spam = positive) of the served spam model (last-state readout). */
export function spamMetrics(model: SequenceModel, mails: Mail[]): BinaryMetrics {
  const vocab = model.vocabulary!;
  const ids = mails.map((m) => spamIds(mailTokens(m.text), vocab.index));
  const predicted = new Array<number>(mails.length).fill(0);
  for (const group of byLength(ids)) {
    for (let i = 0; i < group.length; i += 64) {
      const members = group.slice(i, i + 64);
      const seqs = members.map((m) => encodeIds(ids[m]!, [], model.manifest.input, vocab));
      model.run(seqs).forEach((u, j) => {
        const last = row(u.outputs, u.outputSize, u.length - 1);
        predicted[members[j]!] = last[1]! > last[0]! ? 1 : 0;
      });
    }
  }
  return binaryMetrics(predicted, mails.map((m) => m.label));
}

/** The same metrics for a pooled-readout network ([N, T] ids -> [N, 2] logits). */
export function pooledSpamMetrics(net: tf.LayersModel, index: Map<string, number>, mails: Mail[]): BinaryMetrics {
  const ids = mails.map((m) => spamIds(mailTokens(m.text), index));
  const predicted = new Array<number>(mails.length).fill(0);
  for (const group of byLength(ids)) {
    for (let i = 0; i < group.length; i += 64) {
      const members = group.slice(i, i + 64);
      const len = ids[members[0]!]!.length;
      const flat = new Float32Array(members.length * len);
      members.forEach((m, j) => flat.set(ids[m]!, j * len));
      const out = tf.tidy(() => (net.predict(tf.tensor2d(flat, [members.length, len])) as tf.Tensor).argMax(-1));
      const arg = out.dataSync();
      out.dispose();
      for (const [j, m] of members.entries()) predicted[m] = arg[j]!;
    }
  }
  return binaryMetrics(predicted, mails.map((m) => m.label));
}
