/**
 * Classification as the page needs it while someone draws: at most one request in flight per
 * model; images that arrive meanwhile replace each other and only the latest is sent next, so the
 * bars follow the pen without queueing dozens of requests.
 */
import { useRef, useState } from 'preact/hooks';
import { apiPost, errorText } from './api.ts';
import type { ClassifyAnswer, Prediction } from './types.ts';

export interface Classifier {
  predictions?: Prediction[];
  error?: string;
  /** The raw JSON of the last answer (the student's view shows what the API says, as it says it). */
  raw?: ClassifyAnswer;
  /** Resolves with whether the image was classified (false: the API refused it; `error` says why). */
  classify(image: string | number[][][]): Promise<boolean>;
  reset(): void;
}

export function useClassifier(model: string | undefined, options: { key?: string; topK?: number } = {}): Classifier {
  const [raw, setRaw] = useState<ClassifyAnswer>();
  const [error, setError] = useState<string>();
  const busy = useRef(false);
  const pending = useRef<{ image: string | number[][][]; done: (ok: boolean) => void } | null>(null);

  const send = async (image: string | number[][][]): Promise<boolean> => {
    if (!model) return false;
    busy.current = true;
    try {
      const body = { image, ...(options.topK ? { topK: options.topK } : {}) };
      setRaw(await apiPost<ClassifyAnswer>(`/v1/models/${encodeURIComponent(model)}/classify`, body, { key: options.key }));
      setError(undefined);
      return true;
    } catch (err) {
      setError(errorText(err));
      return false;
    } finally {
      busy.current = false;
      const next = pending.current;
      pending.current = null;
      if (next) void send(next.image).then(next.done);
    }
  };

  return {
    predictions: raw?.predictions,
    raw,
    error,
    classify(image) {
      if (!busy.current) return send(image);
      // Superseded images resolve as classified: a newer one is on its way.
      pending.current?.done(true);
      return new Promise((resolve) => {
        pending.current = { image, done: resolve };
      });
    },
    reset() {
      setRaw(undefined);
      setError(undefined);
    },
  };
}
