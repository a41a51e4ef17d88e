/**
 * Loads a sequence model folder: validates the manifest, resolves the vocabulary of text models
 * (inline or a JSON file next to the manifest), and builds a HandWiredRnn or a TrainedRnn.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fileSystemLoader } from '../model/fs-io.ts';
import { ManifestError, manifestKind } from '../model/manifest.ts';
import { parseSequenceManifest, type SequenceModelManifest } from './manifest.ts';
import { HandWiredRnn } from './hand-wired.ts';
import { makeVocabulary, type Vocabulary } from './input.ts';
import type { SequenceModel } from './sequence-model.ts';
import { TrainedRnn } from './trained-rnn.ts';

async function exists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function loadVocabulary(manifest: SequenceModelManifest, dir: string, manifestFile: string): Promise<Vocabulary | undefined> {
  const v = manifest.input.vocabulary;
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return makeVocabulary(v);
  const file = path.resolve(dir, v);
  let entries: unknown;
  try {
    entries = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ManifestError(manifestFile, 'input.vocabulary', `names '${v}', which cannot be read as JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(entries) || entries.length < 2 || !entries.every((e) => typeof e === 'string' && e.length > 0) || new Set(entries).size !== entries.length) {
    throw new ManifestError(manifestFile, 'input.vocabulary', `names '${v}', which must hold an array of distinct non-empty strings`);
  }
  const vocab = makeVocabulary(entries as string[]);
  for (const key of ['unknown', 'context'] as const) {
    const e = manifest.input[key];
    if (e !== undefined && !vocab.index.has(e)) throw new ManifestError(manifestFile, `input.${key}`, `'${e}' is not in the vocabulary`);
  }
  return vocab;
}

/** Loads the sequence model whose parsed manifest JSON is `raw`, in folder `dir`. */
export async function loadSequenceModel(raw: unknown, dir: string, manifestFile: string): Promise<SequenceModel> {
  const manifest = parseSequenceManifest(raw, manifestFile);
  const file = path.resolve(dir, manifest.model);
  if (!(await exists(file))) throw new ManifestError(manifestFile, 'model', `names '${manifest.model}', which does not exist`);
  if (manifest.format === 'hand-wired') return HandWiredRnn.load(manifest, file, dir);
  const vocabulary = await loadVocabulary(manifest, dir, manifestFile);
  if ((manifest.input.type === 'characters' || manifest.input.type === 'words') && !vocabulary) {
    throw new ManifestError(manifestFile, 'input.vocabulary', 'is needed for text input');
  }
  const net = await tf.loadLayersModel(fileSystemLoader(file));
  try {
    const model = new TrainedRnn(manifest, net, dir, vocabulary);
    const labels = manifest.labels?.length;
    const out = net.outputs[0]!.shape;
    const want = manifest.task === 'language-model' ? vocabulary!.entries.length : manifest.task === 'classifier' ? labels : 1;
    if (out.length !== 3 || out[2] !== want) {
      throw new ManifestError(manifestFile, manifest.task === 'classifier' ? 'labels' : 'task',
        `needs per-step outputs [N, T, ${want}] but the network outputs [${out.join(',')}]`);
    }
    return model;
  } catch (err) {
    net.dispose();
    throw err;
  }
}

/** Loads the sequence model in a folder that holds manifest.json. */
async function readManifest(dir: string): Promise<{ raw: unknown; manifestFile: string }> {
  const manifestFile = path.join(dir, 'manifest.json');
  try {
    return { raw: JSON.parse(await readFile(manifestFile, 'utf8')), manifestFile };
  } catch (err) {
    throw new ManifestError(manifestFile, '(root)', `cannot be read as JSON (${(err as Error).message})`);
  }
}

export async function loadSequenceModelFromDir(dir: string): Promise<SequenceModel> {
  const { raw, manifestFile } = await readManifest(dir);
  return loadSequenceModel(raw, dir, manifestFile);
}

/** Checks a sequence model folder's manifest without loading its weights (a ManifestError when wrong). */
export async function checkSequenceModelDir(dir: string): Promise<void> {
  const { raw, manifestFile } = await readManifest(dir);
  parseSequenceManifest(raw, manifestFile);
}

/** True when the folder's manifest.json declares `kind: 'sequence'` (unreadable manifests: false, the image loader reports them). */
export async function isSequenceModelDir(dir: string): Promise<boolean> {
  try {
    return manifestKind(JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'))) === 'sequence';
  } catch {
    return false;
  }
}
