/**
 * The resident models of one gradlab process: loads every model folder under the models
 * directory plus any extra URLs, warms each up, and keeps them (with their dynamic batchers) for
 * the lifetime of the process. Readiness is "every model loaded and warm".
 *
 * Image classifiers are this layer's own. Sequence models live in src/sequence/, which sits on
 * this layer, so the registry knows them only as `S` and loads them with the `sequenceModels`
 * loader the app's composition (src/http/model-registry.ts) passes in.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { BatchingConfig } from './batcher.ts';
import { GradlabError, unknownModel } from '../errors.ts';
import { DynamicBatcher, type BatchObserver } from './batcher.ts';
import type { ImageModel } from './image-model.ts';
import { checkModelDir, loadModelFromDir, loadModelFromUrl } from './loader.ts';

export type RegistryState = 'loading' | 'ready' | 'failed';

/** What the registry needs of a resident model of another kind (a sequence model). */
export interface ResidentModel {
  readonly name: string;
  /** Where the model was loaded from. */
  readonly source: string;
  warmUp(): void;
  dispose(): void;
}

/** Recognises and loads model folders of another kind (sequence models). */
export interface ModelFolderLoader<S extends ResidentModel> {
  /** True when the folder holds a model of this kind (its manifest says so). */
  isModelDir(dir: string): Promise<boolean>;
  loadFromDir(dir: string): Promise<S>;
  /** Reads and checks the folder's manifest without loading weights. */
  checkDir(dir: string): Promise<void>;
}

export interface RegistryOptions<S extends ResidentModel = ResidentModel> {
  modelsDir?: string;
  modelUrls?: string[];
  batching: BatchingConfig;
  onBatch?: BatchObserver;
  /** Batch sizes to warm up with (each runs one forward pass). */
  warmUpBatchSizes?: number[];
  /** Sequence model folders; without it every model folder is loaded as an image classifier. */
  sequenceModels?: ModelFolderLoader<S>;
}

/** Folders directly under `dir` that contain a manifest.json, sorted by name. */
export async function findModelFolders(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    throw new Error(`models directory '${dir}' cannot be read (${(err as Error).message})`, { cause: err });
  }
  const folders: string[] = [];
  for (const entry of entries.sort()) {
    const folder = path.join(dir, entry);
    try {
      if ((await stat(folder)).isDirectory() && (await stat(path.join(folder, 'manifest.json'))).isFile()) {
        folders.push(folder);
      }
    } catch {
      // Not a model folder (no manifest.json): skipped.
    }
  }
  return folders;
}

export class ModelRegistry<S extends ResidentModel = ResidentModel> {
  private readonly models = new Map<string, ImageModel>();
  /** Sequence models (src/sequence/): scored, never classified, explained or attacked as images. */
  private readonly sequences = new Map<string, S>();
  private readonly batchers = new Map<string, DynamicBatcher>();
  private batchObservers: BatchObserver[] = [];
  state: RegistryState = 'loading';
  failure: string | undefined;

  constructor(private readonly options: RegistryOptions<S>) {
    if (options.onBatch) this.batchObservers.push(options.onBatch);
  }

  /** Adds a listener for every merged forward pass (metrics). */
  observeBatches(observer: BatchObserver): void {
    this.batchObservers.push(observer);
  }

  /** Adds an already-loaded model (tests, and the loaders below). Names must be unique. */
  add(model: ImageModel): void {
    if (this.has(model.name)) {
      const other = this.models.get(model.name)?.source ?? this.sequences.get(model.name)?.source;
      throw new Error(`two models are named '${model.name}' (${other} and ${model.source})`);
    }
    model.warmUp(this.options.warmUpBatchSizes ?? [1]);
    this.models.set(model.name, model);
    this.batchers.set(model.name, new DynamicBatcher(model, this.options.batching, (o) => this.batchObservers.forEach((f) => f(o))));
  }

  /** Adds an already-loaded sequence model (warmed up here). Names are unique across both kinds. */
  addSequence(model: S): void {
    if (this.has(model.name)) throw new Error(`two models are named '${model.name}' (${model.source})`);
    model.warmUp();
    this.sequences.set(model.name, model);
  }

  /**
   * Reads and checks every model folder's manifest without loading any weights (quick), so that a
   * wrong manifest stops the server before it listens. Returns how many models are configured.
   */
  async checkManifests(): Promise<number> {
    const folders = this.options.modelsDir ? await findModelFolders(this.options.modelsDir) : [];
    const sequences = this.options.sequenceModels;
    for (const folder of folders) {
      if (sequences && (await sequences.isModelDir(folder))) await sequences.checkDir(folder);
      else await checkModelDir(folder);
    }
    return folders.length + (this.options.modelUrls?.length ?? 0);
  }

  /** Loads every configured model; on failure the registry is `failed` and the error is rethrown. */
  async loadAll(): Promise<void> {
    try {
      const folders = this.options.modelsDir ? await findModelFolders(this.options.modelsDir) : [];
      const sequences = this.options.sequenceModels;
      for (const folder of folders) {
        if (sequences && (await sequences.isModelDir(folder))) this.addSequence(await sequences.loadFromDir(folder));
        else this.add(await loadModelFromDir(folder));
      }
      for (const url of this.options.modelUrls ?? []) this.add(await loadModelFromUrl(url));
      this.state = 'ready';
    } catch (err) {
      this.state = 'failed';
      this.failure = (err as Error).message;
      throw err;
    }
  }

  /** Marks the registry ready without loading from disk (models added with `add`). */
  markReady(): void {
    this.state = 'ready';
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  list(): ImageModel[] {
    return [...this.models.values()];
  }

  /** The resident sequence models. */
  listSequences(): S[] {
    return [...this.sequences.values()];
  }

  /** Names of every resident model, image and sequence, sorted. */
  names(): string[] {
    return [...this.models.keys(), ...this.sequences.keys()].sort();
  }

  has(name: string): boolean {
    return this.models.has(name) || this.sequences.has(name);
  }

  isSequence(name: string): boolean {
    return this.sequences.has(name);
  }

  /** The named image model; 400 for a sequence model, 404 for an unknown name. */
  get(name: string): ImageModel {
    const model = this.models.get(name);
    if (model) return model;
    if (this.sequences.has(name)) {
      throw new GradlabError('GRADLAB_UNSUPPORTED_OPERATION',
        `'${name}' is a sequence model: it takes a sequence, not an image`, 'model', { kind: 'use-operation', operation: 'score', model: name });
    }
    if (this.state === 'loading') {
      throw new GradlabError('GRADLAB_NOT_READY', `models are still loading; '${name}' is not available yet`, 'model');
    }
    throw unknownModel(name);
  }

  /** The named sequence model; 400 for an image model, 404 for an unknown name. */
  getSequence(name: string): S {
    const model = this.sequences.get(name);
    if (model) return model;
    if (this.models.has(name)) {
      throw new GradlabError('GRADLAB_UNSUPPORTED_OPERATION',
        `'${name}' is an image model: it takes an image, not a sequence`, 'model', { kind: 'use-operation', operation: 'classify', model: name });
    }
    if (this.state === 'loading') {
      throw new GradlabError('GRADLAB_NOT_READY', `models are still loading; '${name}' is not available yet`, 'model');
    }
    throw unknownModel(name);
  }

  batcher(name: string): DynamicBatcher {
    const batcher = this.batchers.get(name);
    if (!batcher) throw unknownModel(name);
    return batcher;
  }

  dispose(): void {
    for (const b of this.batchers.values()) b.drain();
    for (const m of this.models.values()) m.dispose();
    for (const m of this.sequences.values()) m.dispose();
    this.models.clear();
    this.sequences.clear();
    this.batchers.clear();
  }
}
