/**
 * What every route plugin receives from the app: the configuration, the resident models, the
 * backend in use, the metrics and the work classes. Routes read from it; they never load or change models.
 */
import type { Config } from '../config.ts';
import type { BackendInfo } from '../backend/index.ts';
import type { AppModelRegistry } from './model-registry.ts';
import type { BlackboxGate } from './blackbox.ts';
import type { JobsRuntime } from './jobs.ts';
import type { Metrics } from './metrics.ts';
import type { WorkRuntime } from './work.ts';

export interface AppContext {
  config: Config;
  registry: AppModelRegistry;
  backend: BackendInfo;
  metrics: Metrics;
  /** Work classes, the heavy executor and the shutdown drain. */
  work: WorkRuntime;
  /** Black-box mode only: keys, budgets, output shaping and the query log for classify. */
  blackbox?: BlackboxGate;
  /** White-box mode only: jobs (`Prefer: respond-async`) on the in-process or Redis queue. */
  jobs?: JobsRuntime;
}
