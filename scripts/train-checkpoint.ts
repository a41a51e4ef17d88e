/**
 * Checkpoints for `npm run train`: everything a run needs to continue exactly where it stopped —
 * the model's weights, the Adam optimiser's state (iteration count, first and second moments),
 * the epoch and batch reached, the epoch's batch order, the running loss/accuracy sums and the
 * state of every seeded generator (batch order and augmentation, dropout, attack starts).
 *
 * A checkpoint is a folder: `state.json` (the counters, generator states and the settings the run
 * was started with), `model/` (model.json + weights.bin, the usual tfjs layers format) and
 * `optimizer.bin` (the optimiser's tensors, float32, in `state.json`'s order). It is written into
 * `<dir>.partial` and renamed over `<dir>` only when complete, so an interruption while writing
 * leaves the previous checkpoint intact.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fileSystemLoader, fileSystemSaver } from '../src/model/fs-io.ts';

/** A seedrandom ARC4 state (`prng.state()`), restorable with `seedrandom(seed, { state })`. */
export interface GeneratorState {
  i: number;
  j: number;
  S: number[];
}

export interface TrainingProgress {
  /** The epoch in progress (1-based); `epochs + 1` once the run is complete. */
  epoch: number;
  /** Batches of `epoch` already trained on. */
  batch: number;
  /** Optimiser steps taken since the start of the run (drives the learning-rate and ε schedules). */
  step: number;
  /** This epoch's batch order (indices into the training set). */
  order: number[];
  lossSum: number;
  correct: number;
  seen: number;
  /** Wall seconds of each finished epoch, and of the part of this one already done. */
  epochSeconds: number[];
  partialEpochSeconds: number;
  generators: Record<string, GeneratorState>;
}

export interface Checkpoint {
  /** The settings the run was started with; a resume with different settings is refused. */
  settings: Record<string, unknown>;
  progress: TrainingProgress;
  savedAt: string;
}

/**
 * Adam's running β₁ᵗ and β₂ᵗ (bias correction). tfjs' Adam keeps them in variables that
 * getWeights() leaves out, and its setWeights() recomputes them from an iteration counter that
 * Adam never advances — so they are saved and put back here, or a resumed run would restart the
 * bias correction.
 */
interface AdamPowers {
  accBeta1?: tf.Variable;
  accBeta2?: tf.Variable;
}

interface OptimizerEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

export async function checkpointExists(dir: string): Promise<boolean> {
  try {
    await stat(path.join(dir, 'state.json'));
    return true;
  } catch {
    return false;
  }
}

/** Writes a complete checkpoint to `dir` (atomically, through `<dir>.partial`). */
export async function saveCheckpoint(dir: string, model: tf.LayersModel, optimizer: tf.Optimizer, checkpoint: Checkpoint): Promise<void> {
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await model.save(fileSystemSaver(path.join(partial, 'model')));
  const named = await optimizer.getWeights();
  const entries: OptimizerEntry[] = [];
  const chunks: Buffer[] = [];
  for (const { name, tensor } of named) {
    const values = await tensor.data();
    const dtype = tensor.dtype === 'int32' ? 'int32' : 'float32';
    const typed = dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(values);
    entries.push({ name, shape: tensor.shape, dtype });
    chunks.push(Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength));
  }
  // getWeights() creates the iteration-count scalar afresh; the moments are the optimiser's own.
  named[0]!.tensor.dispose();
  await writeFile(path.join(partial, 'optimizer.bin'), Buffer.concat(chunks));
  const powers = optimizer as unknown as AdamPowers;
  const adamPowers = powers.accBeta1 && powers.accBeta2 ? [powers.accBeta1.dataSync()[0], powers.accBeta2.dataSync()[0]] : null;
  await writeFile(path.join(partial, 'state.json'), `${JSON.stringify({ ...checkpoint, optimizer: entries, adamPowers })}\n`);
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
}

/** Reads `dir`'s state and loads its weights into `model` and its state into `optimizer`. */
export async function loadCheckpoint(dir: string, model: tf.LayersModel, optimizer: tf.Optimizer): Promise<Checkpoint> {
  const state = JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')) as Checkpoint & { optimizer: OptimizerEntry[]; adamPowers: [number, number] | null };
  const saved = await tf.loadLayersModel(fileSystemLoader(path.join(dir, 'model', 'model.json')));
  const weights = saved.getWeights();
  if (weights.length !== model.getWeights().length) throw new Error(`${dir}: the checkpoint holds ${weights.length} weight tensors, the model ${model.getWeights().length}`);
  model.setWeights(weights);
  saved.dispose();
  const bytes = await readFile(path.join(dir, 'optimizer.bin'));
  let offset = 0;
  const named: { name: string; tensor: tf.Tensor }[] = state.optimizer.map(({ name, shape, dtype }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const slice = bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + size * 4);
    offset += size * 4;
    const values = dtype === 'int32' ? new Int32Array(slice) : new Float32Array(slice);
    return { name, tensor: tf.tensor(values, shape, dtype) };
  });
  if (offset !== bytes.byteLength) throw new Error(`${dir}/optimizer.bin: ${bytes.byteLength} bytes, expected ${offset}`);
  await optimizer.setWeights(named);
  // setWeights copies the moments into new variables; the loaded tensors are no longer needed.
  tf.dispose(named.map((n) => n.tensor));
  const powers = optimizer as unknown as AdamPowers;
  if (state.adamPowers && powers.accBeta1 && powers.accBeta2) {
    const [b1, b2] = state.adamPowers;
    tf.tidy(() => {
      powers.accBeta1!.assign(tf.scalar(b1));
      powers.accBeta2!.assign(tf.scalar(b2));
    });
  }
  return { settings: state.settings, progress: state.progress, savedAt: state.savedAt };
}

/** The settings that differ between a checkpoint and this run, as "key: old → new" lines. */
export function settingsDifferences(saved: Record<string, unknown>, current: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(saved), ...Object.keys(current)]);
  return [...keys]
    .filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(current[k]))
    .map((k) => `${k}: ${JSON.stringify(saved[k])} → ${JSON.stringify(current[k])}`);
}
