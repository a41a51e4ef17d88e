/**
 * The app's model registry, composed here because this is the layer above both kinds of model:
 * image classifiers come from src/model/, sequence models from src/sequence/ (which builds on
 * src/model/ and so cannot be imported by it). Server, tests and tools build the registry here.
 */
import { ModelRegistry, type RegistryOptions } from '../model/registry.ts';
import { checkSequenceModelDir, isSequenceModelDir, loadSequenceModelFromDir } from '../sequence/loader.ts';
import type { SequenceModel } from '../sequence/sequence-model.ts';

/** Image classifiers plus sequence models, as the routes see them. */
export type AppModelRegistry = ModelRegistry<SequenceModel>;

/** A registry that loads sequence model folders as well as image classifiers. */
export function createModelRegistry(options: Omit<RegistryOptions<SequenceModel>, 'sequenceModels'>): AppModelRegistry {
  return new ModelRegistry<SequenceModel>({
    ...options,
    sequenceModels: { isModelDir: isSequenceModelDir, loadFromDir: loadSequenceModelFromDir, checkDir: checkSequenceModelDir },
  });
}
