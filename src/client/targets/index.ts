/** Builds the target a `--target` flag names (target.ts says what a target is). */
import { GenericTarget, readGenericConfig } from './generic.ts';
import { GradlabTarget } from './gradlab.ts';
import { PredictTarget } from './kserve.ts';
import { OipTarget } from './oip.ts';
import { TargetError, type ModelHints, type Target, type TargetKind } from './target.ts';

export interface TargetOptions {
  kind?: TargetKind;
  url: string;
  model?: string;
  /** The generic target's config file. */
  config?: string;
  hints?: ModelHints;
}

export function createTarget(options: TargetOptions): Target {
  const hints = options.hints ?? {};
  switch (options.kind ?? 'gradlab') {
    case 'gradlab':
      return new GradlabTarget(options.url, options.model);
    case 'oip':
      return new OipTarget(options.url, options.model, false, hints);
    case 'oip-binary':
      return new OipTarget(options.url, options.model, true, hints);
    case 'kserve':
      return new PredictTarget('kserve', options.url, options.model, hints);
    case 'tfserving':
      return new PredictTarget('tfserving', options.url, options.model, hints);
    case 'generic':
      if (!options.config) throw new TargetError('--target generic needs --target-config <file.json>');
      return new GenericTarget(readGenericConfig(options.config));
  }
}
