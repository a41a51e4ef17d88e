/**
 * The page's only door to the server: JSON requests to /v1 (same origin), errors turned into
 * ApiError carrying the API's own message and field, server-sent events read from a POST
 * (EventSource cannot POST), and the budget headers of black-box answers.
 */

export interface ApiErrorBody { error?: { code?: string; message?: string; field?: string } }

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly field?: string) {
    super(message);
  }

  /** What the page shows: the API's message, its field and code. */
  describe(): string {
    return `${this.message}${this.field ? ` (field: ${this.field})` : ''} [${this.status} ${this.code}]`;
  }
}

export interface Budget { limit: number; remaining: number }

export interface RequestOptions {
  key?: string;
  /** Sent as `Authorization: Bearer` (the teacher's admin key). */
  bearer?: string;
  signal?: AbortSignal;
  accept?: string;
}

function headers(options: RequestOptions, json: boolean): Record<string, string> {
  const h: Record<string, string> = { accept: options.accept ?? 'application/json' };
  if (json) h['content-type'] = 'application/json';
  if (options.key) h['x-api-key'] = options.key;
  if (options.bearer) h.authorization = `Bearer ${options.bearer}`;
  return h;
}

async function failure(response: Response): Promise<ApiError> {
  let body: ApiErrorBody = {};
  try {
    body = (await response.json()) as ApiErrorBody;
  } catch {
    // a proxy's HTML page or an empty body: fall back to the status line
  }
  const e = body.error ?? {};
  return new ApiError(response.status, e.code ?? 'HTTP_ERROR', e.message ?? `the server answered ${response.status} ${response.statusText}`, e.field);
}

/** Where the last answer said the budget stands (black-box mode), for the budget display. */
export let lastBudget: Budget | undefined;
const budgetListeners = new Set<(b: Budget) => void>();
export function onBudget(listener: (b: Budget) => void): () => void {
  budgetListeners.add(listener);
  return () => budgetListeners.delete(listener);
}

function readBudget(response: Response): void {
  const limit = response.headers.get('x-budget-limit');
  const remaining = response.headers.get('x-budget-remaining');
  if (limit === null || remaining === null) return;
  lastBudget = { limit: Number(limit), remaining: Number(remaining) };
  for (const listener of budgetListeners) listener(lastBudget);
}

export async function apiGet<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await fetch(path, { headers: headers(options, false), signal: options.signal });
  readBudget(response);
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

export async function apiPost<T>(path: string, body: unknown, options: RequestOptions = {}): Promise<T> {
  const response = await fetch(path, { method: 'POST', headers: headers(options, true), body: JSON.stringify(body), signal: options.signal });
  readBudget(response);
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

/**
 * POSTs with `Accept: text/event-stream` and reads `progress` events until the `result` (returned)
 * or `error` (thrown) event. Aborting the signal closes the connection, which stops the job.
 */
export async function apiStream<T, P>(path: string, body: unknown, onProgress: (p: P) => void, options: RequestOptions = {}): Promise<T> {
  const response = await fetch(path, {
    method: 'POST', headers: headers({ ...options, accept: 'text/event-stream' }, true), body: JSON.stringify(body), signal: options.signal,
  });
  if (!response.ok) throw await failure(response);
  if (!response.body) throw new ApiError(0, 'NO_STREAM', 'the browser gave no response stream');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      if (!event || !data) continue;
      const parsed = JSON.parse(data) as unknown;
      if (event === 'progress') onProgress(parsed as P);
      else if (event === 'result') {
        void reader.cancel();
        return parsed as T;
      } else if (event === 'error') {
        const e = (parsed as ApiErrorBody).error ?? {};
        throw new ApiError(response.status, e.code ?? 'STREAM_ERROR', e.message ?? 'the computation failed', e.field);
      }
    }
  }
  throw new ApiError(0, 'STREAM_ENDED', 'the server closed the stream before the result');
}

/** The message a failure shows in the page: the API's words when it sent any. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.describe();
  if (err instanceof DOMException && err.name === 'AbortError') return 'cancelled';
  return err instanceof Error ? err.message : String(err);
}
