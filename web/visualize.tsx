/**
 * The Visualize view: activation maximisation from noise for a class or for one unit (a layer
 * and a channel, picked from the model's layers), with progress and cancel, and the snapshots the
 * server took on the way played back as a short animation.
 */
import { useEffect, useState } from 'preact/hooks';
import { apiStream, errorText } from './api.ts';
import { curlFor, type CurlCommand } from './curl.ts';
import type { ViewState } from './state.ts';
import type { ModelInfo, VisualizeAnswer, VisualizeProgress } from './types.ts';
import { Bars, CurlBox, ErrorBox, Pixels, pngUrl, Progress, Why } from './ui.tsx';

const UNIT_LAYERS = /conv|dense/i;

function Animation(props: { answer: VisualizeAnswer }) {
  const frames = [...props.answer.snapshots, { step: -1, objective: props.answer.finalObjective, png: props.answer.png }];
  const [frame, setFrame] = useState(0);
  const [playing, setPlaying] = useState(true);
  useEffect(() => setFrame(0), [props.answer]);
  useEffect(() => {
    if (!playing) return;
    const timer = setInterval(() => setFrame((f) => (f + 1) % frames.length), 400);
    return () => clearInterval(timer);
  }, [playing, frames.length]);
  const shown = frames[Math.min(frame, frames.length - 1)]!;
  return (
    <div class="animation" data-testid="visualize-result">
      <figure>
        <Pixels src={pngUrl(shown.png)} alt={shown.step < 0 ? 'final image' : `snapshot at step ${shown.step}`} size={224} />
        <figcaption class="frame">{shown.step < 0 ? 'final' : `step ${shown.step}`}, objective {shown.objective.toFixed(3)}</figcaption>
        <button type="button" onClick={() => setPlaying(!playing)}>{playing ? 'Pause' : 'Play'}</button>
        <label>
          Frame <input type="range" min={0} max={frames.length - 1} value={frame} onInput={(e) => {
            setPlaying(false);
            setFrame(Number(e.currentTarget.value));
          }} />
        </label>
      </figure>
      {props.answer.predictions && <Bars title="What the network says the final image is" predictions={props.answer.predictions} />}
    </div>
  );
}

export function VisualizeView(props: { model: ModelInfo; state: ViewState; update: (patch: ViewState) => void }) {
  const { model, state, update } = props;
  const layers = (model.layers ?? []).filter((l) => UNIT_LAYERS.test(l.type));
  const kind = state.vis === 'unit' && layers.length ? 'unit' : 'class';
  const layer = layers.find((l) => l.name === state.layer) ?? layers[0];
  const channels = Number(layer?.outputShape.at(-1) ?? 1);
  const channel = Math.min(Number(state.channel ?? 0), channels - 1);
  const target = state.visTarget ?? '0';
  const steps = Number(state.visSteps ?? 200);
  const regularise = state.reg !== 'off';
  const [answer, setAnswer] = useState<VisualizeAnswer>();
  const [error, setError] = useState<string>();
  const [progress, setProgress] = useState<VisualizeProgress>();
  const [running, setRunning] = useState<AbortController>();
  const [curl, setCurl] = useState<CurlCommand>();

  const run = async () => {
    const body = {
      ...(kind === 'class' ? { target: Number(target) } : { layer: layer?.name, channel }),
      steps, snapshotEvery: Math.max(1, Math.round(steps / 10)), seed: 0,
      ...(regularise ? { l2Decay: 0.02, blurEvery: 4, jitter: 1 } : {}),
    };
    const path = `/v1/models/${encodeURIComponent(model.name)}/visualize`;
    setCurl(curlFor(path, body, { stream: true }));
    const controller = new AbortController();
    setRunning(controller);
    setError(undefined);
    setProgress(undefined);
    try {
      setAnswer(await apiStream<VisualizeAnswer, VisualizeProgress>(path, body, setProgress, { signal: controller.signal }));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setRunning(undefined);
    }
  };

  return (
    <section aria-labelledby="visualize-heading">
      <h2 id="visualize-heading">Visualize: an input the network likes</h2>
      <div class="controls">
        <fieldset>
          <legend>Maximise</legend>
          <label><input type="radio" name="vis" checked={kind === 'class'} onChange={() => update({ vis: 'class' })} /> a class</label>
          <label><input type="radio" name="vis" checked={kind === 'unit'} disabled={!layers.length} onChange={() => update({ vis: 'unit' })} /> a unit</label>
        </fieldset>
        {kind === 'class'
          ? (
              <label>
                Class{' '}
                <select value={target} onChange={(e) => update({ visTarget: e.currentTarget.value })}>
                  {(model.labels ?? []).map((l, i) => <option key={i} value={String(i)}>{l}</option>)}
                </select>
              </label>
            )
          : (
              <>
                <label>
                  Layer{' '}
                  <select value={layer?.name} onChange={(e) => update({ layer: e.currentTarget.value, channel: '0' })}>
                    {layers.map((l) => <option key={l.name} value={l.name}>{`${l.name} (${l.type}, ${String(l.outputShape.at(-1))} channels)`}</option>)}
                  </select>
                </label>
                <label>
                  Channel (0–{channels - 1}){' '}
                  <input type="number" min={0} max={channels - 1} value={channel} onChange={(e) => update({ channel: e.currentTarget.value })} />
                </label>
              </>
            )}
        <label>Steps <input type="number" min={1} max={1000} value={steps} onChange={(e) => update({ visSteps: e.currentTarget.value })} /></label>
        <label><input type="checkbox" checked={regularise} onChange={(e) => update({ reg: e.currentTarget.checked ? '' : 'off' })} /> Regularise (L2 decay, blur, jitter)</label>
        <Why>
          Gradient ascent on the input from noise. Without regularisation the network is sure about noise that looks like nothing (the same
          fact adversarial examples exploit); decay, blur and jitter pull the image towards what a person might recognise.
        </Why>
        <button type="button" disabled={!!running} onClick={() => void run()}>Visualize</button>
      </div>
      {running && <Progress label={progress ? `step ${progress.step} of ${progress.steps}` : 'starting'} value={progress ? progress.step / progress.steps : undefined} onCancel={() => running.abort()} />}
      <ErrorBox error={error} />
      {answer && <Animation answer={answer} />}
      <CurlBox curl={curl} />
    </section>
  );
}
