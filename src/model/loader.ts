/**
 * Loads one model from a folder, a `file://` URL or an `http(s)://` URL: reads and validates the
 * manifest, loads the tfjs Layers or Graph artifacts it names, and checks that the network's input
 * and output shapes agree with the manifest.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { fileSystemLoader } from './fs-io.ts';
import type { GraphNodeDef } from './graph-node.ts';
import { ImageModel, type TfModel } from './image-model.ts';
import { ManifestError, parseImageManifest, type ImageModelManifest } from './manifest.ts';

const MANIFEST = 'manifest.json';

async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot be read (${(err as Error).message})`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ManifestError(file, '(root)', `is not valid JSON (${(err as Error).message})`);
  }
}

function isUrl(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(s);
}

/**
 * The network, and for graph models the converter's nodes too: the graph interpreter
 * (graph-interpreter.ts) needs them, and tfjs keeps them private.
 */
async function loadNet(manifest: ImageModelManifest, handlerOrUrl: tf.io.IOHandler | string): Promise<{ net: TfModel; graphNodes?: GraphNodeDef[] }> {
  if (manifest.format !== 'graph') return { net: await tf.loadLayersModel(handlerOrUrl) };
  const handler = typeof handlerOrUrl === 'string' ? tf.io.http(handlerOrUrl) : handlerOrUrl;
  const artifacts = await handler.load!();
  const net = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
  const topology = artifacts.modelTopology as { node?: GraphNodeDef[] } | undefined;
  return { net, ...(Array.isArray(topology?.node) ? { graphNodes: topology.node } : {}) };
}

/** The network's declared input shape without the batch dimension, when it declares one. */
function declaredInputShape(net: TfModel): (number | null)[] | undefined {
  if (net instanceof tf.LayersModel) return net.inputs[0]?.shape.slice(1);
  const shape = net.inputs[0]?.shape;
  return shape ? shape.slice(1) : undefined;
}

/** Checks the manifest against the network itself; mismatches name the manifest field. */
function checkAgreement(model: ImageModel, manifestFile: string): void {
  const declared = declaredInputShape(model.net);
  const want = model.manifest.input.shape;
  if (declared && declared.length === 3 && declared.some((d, i) => d !== null && d !== -1 && d !== want[i])) {
    throw new ManifestError(manifestFile, 'input.shape', `is [${want.join(',')}] but the network takes [${declared.join(',')}]`);
  }
  const probe = tf.tidy(() => model.logits(tf.zeros([1, ...want]) as tf.Tensor4D));
  const classes = probe.shape[1];
  probe.dispose();
  if (classes !== model.manifest.labels.length) {
    throw new ManifestError(
      manifestFile,
      'labels',
      `has ${model.manifest.labels.length} labels but the network outputs ${classes} classes`,
    );
  }
}

/** Loads the model in a local folder that holds `manifest.json`. */
/** Checks an image model folder's manifest without loading its weights (a ManifestError when wrong). */
export async function checkModelDir(dir: string): Promise<void> {
  const manifestFile = path.join(dir, MANIFEST);
  parseImageManifest(await readJsonFile(manifestFile), manifestFile);
}

export async function loadModelFromDir(dir: string): Promise<ImageModel> {
  const manifestFile = path.join(dir, MANIFEST);
  const manifest = parseImageManifest(await readJsonFile(manifestFile), manifestFile);
  let loaded: { net: TfModel; graphNodes?: GraphNodeDef[] };
  if (isUrl(manifest.model) && !manifest.model.startsWith('file://')) {
    loaded = await loadNet(manifest, manifest.model);
  } else {
    const file = manifest.model.startsWith('file://')
      ? fileURLToPath(manifest.model)
      : path.resolve(dir, manifest.model);
    try {
      await stat(file);
    } catch {
      throw new ManifestError(manifestFile, 'model', `names '${manifest.model}', which does not exist`);
    }
    loaded = await loadNet(manifest, fileSystemLoader(file));
  }
  const model = new ImageModel(manifest, loaded.net, dir, loaded.graphNodes);
  try {
    checkAgreement(model, manifestFile);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

async function fetchJson(url: string): Promise<unknown> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  try {
    return await res.json();
  } catch (err) {
    throw new ManifestError(url, '(root)', `is not valid JSON (${(err as Error).message})`);
  }
}

/**
 * Loads a model from a URL: `file://` (a folder or its manifest.json) or `http(s)://` (a folder
 * URL, to which `/manifest.json` is added, or the manifest's own URL). The manifest's `model`
 * field is resolved relative to the manifest URL.
 */
export async function loadModelFromUrl(url: string): Promise<ImageModel> {
  if (url.startsWith('file://')) {
    const local = fileURLToPath(url);
    return loadModelFromDir(local.endsWith('.json') ? path.dirname(local) : local);
  }
  if (!/^https?:\/\//.test(url)) throw new Error(`${url}: only file://, http:// and https:// URLs are supported`);
  const manifestUrl = url.endsWith('.json') ? url : `${url.replace(/\/+$/, '')}/${MANIFEST}`;
  const manifest = parseImageManifest(await fetchJson(manifestUrl), manifestUrl);
  const modelUrl = new URL(manifest.model, manifestUrl).toString();
  const { net, graphNodes } = await loadNet(manifest, modelUrl);
  const model = new ImageModel(manifest, net, url, graphNodes);
  try {
    checkAgreement(model, manifestUrl);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}
