/**
 * The Explain view: one or two methods side by side on the current input, for the class picked in
 * the bars; overlay opacity and colour scale applied in the browser; the raw map downloadable.
 * `ExplainMap` (one map, computed on the server, with progress for the slow methods) is also
 * what the Attack view uses to explain the adversarial image next to the original.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { apiPost, apiStream, errorText } from './api.ts';
import { curlFor, type CurlCommand } from './curl.ts';
import { COLOUR_SCALES, mapDownloadUrl, paintOverlay, type ColourScale } from './heatmap.ts';
import type { InputImage } from './image.ts';
import { EXPLAIN_METHODS, explainMethod } from './methods.ts';
import type { ViewState } from './state.ts';
import type { ExplainAnswer, ExplainProgress, ModelInfo } from './types.ts';
import { CurlBox, ErrorBox, Progress, Why } from './ui.tsx';

export type Params = Record<string, number | string>;

export interface MapSettings { method: string; params: Params; target?: number; scale: ColourScale; opacity: number }

export function ExplainMap(props: { model: string; input: InputImage; settings: MapSettings; title: string; testId: string }) {
  const { model, input, settings } = props;
  const canvas = useRef<HTMLCanvasElement>(null);
  const [answer, setAnswer] = useState<ExplainAnswer>();
  const [error, setError] = useState<string>();
  const [progress, setProgress] = useState<number>();
  const [curl, setCurl] = useState<CurlCommand>();
  const [cancel, setCancel] = useState<AbortController>();
  const request = JSON.stringify({ method: settings.method, params: settings.params, target: settings.target });
  // One object URL per answer, released when the answer is replaced (not one per render).
  const download = useMemo(() => answer && mapDownloadUrl(answer.map, { model, method: answer.method, target: answer.target }), [answer]);
  useEffect(() => () => {
    if (download) URL.revokeObjectURL(download);
  }, [download]);

  useEffect(() => {
    const controller = new AbortController();
    const method = explainMethod(settings.method);
    const body = { image: input.image, method: method.id, ...settings.params, ...(settings.target !== undefined ? { target: settings.target } : {}) };
    const path = `/v1/models/${encodeURIComponent(model)}/explain`;
    setCurl(curlFor(path, body, { stream: method.streams }));
    setError(undefined);
    setCancel(controller);
    setProgress(method.streams ? 0 : undefined);
    const run = method.streams
      ? apiStream<ExplainAnswer, ExplainProgress>(path, body, (p) => setProgress(p.done / p.total), { signal: controller.signal })
      : apiPost<ExplainAnswer>(path, body, { signal: controller.signal });
    run.then(setAnswer, (err: unknown) => {
      if (!controller.signal.aborted) setError(errorText(err));
    }).finally(() => {
      if (!controller.signal.aborted) {
        setProgress(undefined);
        setCancel(undefined);
      }
    });
    return () => controller.abort();
  }, [model, input, request]);

  useEffect(() => {
    if (answer && canvas.current) void paintOverlay(canvas.current, input.preview, answer.map, settings.scale, settings.opacity).catch((err: unknown) => setError(errorText(err)));
  }, [answer, settings.scale, settings.opacity]);

  return (
    <figure class="map" data-testid={props.testId} aria-busy={cancel ? 'true' : 'false'}>
      <figcaption>{props.title}{answer && ` — ${answer.method} for class ${answer.target.label}`}</figcaption>
      {cancel && <Progress label={`computing ${settings.method}`} value={progress} onCancel={() => cancel.abort()} />}
      <ErrorBox error={error} />
      <canvas ref={canvas} width={224} height={224} role="img" aria-label={`${settings.method} map`} class={answer ? 'ready' : ''} />
      {answer && (
        <a download={`${model}-${answer.method}-class-${answer.target.label}.json`} href={download}>
          Download the raw map (JSON)
        </a>
      )}
      <CurlBox curl={curl} />
    </figure>
  );
}

function MethodControls(props: { label: string; method: string; params: Params; layers: string[]; onChange: (method: string, params: Params) => void; locked: boolean }) {
  const method = explainMethod(props.method);
  const set = (name: string, value: number | string) => {
    const next = { ...props.params, [name]: value };
    if (value === '') delete next[name];
    props.onChange(method.id, next);
  };
  return (
    <fieldset>
      <legend>{props.label}</legend>
      {!props.locked && (
        <label>
          Method{' '}
          <select value={method.id} onChange={(e) => props.onChange(e.currentTarget.value, {})}>
            {EXPLAIN_METHODS.map((m) => <option key={m.id} value={m.id}>{m.label}</option>)}
          </select>
        </label>
      )}
      {method.params.map((p) => (
        <label key={p.name}>
          {p.label}{' '}
          <input type="number" min={p.min} max={p.max} step={p.step} value={props.params[p.name] ?? p.value}
            onChange={(e) => set(p.name, Number(e.currentTarget.value))} />
        </label>
      ))}
      {(method.choices ?? []).map((c) => (
        <label key={c.name}>
          {c.label}{' '}
          <select value={String(props.params[c.name] ?? c.value)} onChange={(e) => set(c.name, e.currentTarget.value)}>
            {(c.options === 'conv-layers' ? ['', ...props.layers] : c.options).map((o) => <option key={o} value={o}>{o || 'default'}</option>)}
          </select>
        </label>
      ))}
      <Why>{method.why}</Why>
    </fieldset>
  );
}

const paramsOf = (text: string | undefined): Params => {
  try {
    return text ? (JSON.parse(text) as Params) : {};
  } catch {
    return {};
  }
};

export function ExplainView(props: { model: ModelInfo; input?: InputImage; target?: number; state: ViewState; update: (patch: ViewState) => void; locked: Set<string> }) {
  const labels = props.model.labels ?? [];
  const { state, update } = props;
  const scale = (state.colors ?? 'diverging') as ColourScale;
  const opacity = Number(state.opacity ?? '0.7');
  const compare = state.method2 !== undefined && state.method2 !== '';
  const settings = (method: string, params: string | undefined): MapSettings => ({ method, params: paramsOf(params), target: props.target, scale, opacity });
  const layers = (props.model.layers ?? []).filter((l) => /conv/i.test(l.type)).map((l) => l.name);
  if (!props.input) return <p>Pick, draw or upload an image in the Input panel first.</p>;
  return (
    <section aria-labelledby="explain-heading">
      <h2 id="explain-heading">Explain: which pixels move the class score</h2>
      <div class="controls">
        <MethodControls label="Map A" layers={layers} method={state.method ?? 'gradient'} params={paramsOf(state.params)} locked={props.locked.has('method')}
          onChange={(m, p) => update({ method: m, params: Object.keys(p).length ? JSON.stringify(p) : '' })} />
        {compare && (
          <MethodControls label="Map B" layers={layers} method={state.method2 ?? 'gradcam'} params={paramsOf(state.params2)} locked={props.locked.has('method')}
            onChange={(m, p) => update({ method2: m, params2: Object.keys(p).length ? JSON.stringify(p) : '' })} />
        )}
        <fieldset>
          <legend>Display</legend>
          {!props.locked.has('target') && (
            <label>
              Class to explain{' '}
              <select value={String(props.target ?? '')} onChange={(e) => update({ target: e.currentTarget.value })}>
                {labels.map((l, i) => <option key={i} value={String(i)}>{l}</option>)}
              </select>
            </label>
          )}
          <label>
            Overlay opacity{' '}
            <input type="range" min={0} max={1} step={0.05} value={opacity} onInput={(e) => update({ opacity: e.currentTarget.value })} />
          </label>
          <label>
            Colour scale{' '}
            <select value={scale} onChange={(e) => update({ colors: e.currentTarget.value })}>
              {COLOUR_SCALES.map((c) => <option key={c.id} value={c.id}>{c.label}</option>)}
            </select>
          </label>
          <label>
            <input type="checkbox" checked={compare} onChange={(e) => update({ method2: e.currentTarget.checked ? 'gradcam' : '', params2: '' })} /> Compare with a second method
          </label>
        </fieldset>
      </div>
      <div class="side-by-side">
        <ExplainMap model={props.model.name} input={props.input} settings={settings(state.method ?? 'gradient', state.params)} title="Map A" testId="map-a" />
        {compare && <ExplainMap model={props.model.name} input={props.input} settings={settings(state.method2 ?? 'gradcam', state.params2)} title="Map B" testId="map-b" />}
      </div>
    </section>
  );
}
