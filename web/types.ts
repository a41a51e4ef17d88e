/** The shapes of the API answers the page reads (a subset of openapi.yaml's schemas). */

export interface Prediction { label: string; index: number; probability?: number }
export interface Tensor { shape: number[]; data: number[] }

export interface Layer { name: string; type: string; outputShape: (number | null)[] }
export interface ModelInfo {
  name: string;
  kind: 'image-classifier' | 'sequence';
  labels?: string[];
  input: { shape?: number[]; range?: [number, number]; type?: string };
  task?: string;
  description?: string;
  layers?: Layer[];
}

export interface ClassifyAnswer { model: string; predictions: Prediction[] }
export interface Sample { label: string; index: number; png: string }

export interface ExplainAnswer {
  method: string;
  target: { index: number; label: string };
  prediction: Prediction[];
  map: Tensor;
  png: string;
  completeness?: unknown;
}

export interface AttackImage {
  success: boolean;
  successQuantized: boolean;
  label: { index: number; label: string };
  original: { predictions: Prediction[] };
  adversarial: { predictions: Prediction[]; image: Tensor; png: string };
  perturbation: { linf: number; l2: number; l0: number; png: string };
  iterations: number;
  elapsedMs: number;
}
export type AttackAnswer = AttackImage & { method: string; epsilon?: number };
export interface SweepAnswer { epsilons: { epsilon: number; results: AttackImage[]; successRate: number; robustAccuracy: number }[] }
export interface AttackProgress { step: number; steps: number; loss?: number; epsilon?: number; top?: Prediction[] }

export interface VisualizeAnswer { png: string; snapshots: { step: number; objective: number; png: string }[]; finalObjective: number; predictions?: Prediction[] }
export interface VisualizeProgress { step: number; steps: number; objective: number }
export interface ExplainProgress { done: number; total: number }

export interface ScoreStep { t: number; input: unknown; hidden: number[]; output: unknown }
export interface ScoreAnswer {
  task: string;
  prediction?: Prediction;
  outputs?: unknown[];
  hiddenUnits?: string[];
  steps?: ScoreStep[];
  tokens?: { token: string; logProb: number }[];
  bitsPerToken?: number;
  perplexity?: number;
}
export interface SequenceExplainAnswer { tokens: { token: string; attribution: number }[]; target?: { label: string } }
