/**
 * The Attack view: methods from weak to strong, ε in the model's units, an optional target class,
 * live progress from the server-sent events with a Cancel button (closing the stream stops the
 * attack on the server), then original | adversarial | amplified perturbation, the bars before
 * and after, whether the 8-bit PNG still fools the model, an ε-sweep robustness curve and the
 * explanation of the adversarial image next to the original's.
 */
import { useState } from 'preact/hooks';
import { apiStream, errorText } from './api.ts';
import { curlFor, type CurlCommand } from './curl.ts';
import { ExplainMap, type MapSettings } from './explain.tsx';
import { tensorToPixels, type InputImage } from './image.ts';
import { ATTACK_METHODS, attackMethod } from './methods.ts';
import type { ViewState } from './state.ts';
import type { AttackAnswer, AttackProgress, ModelInfo, Sample, SweepAnswer } from './types.ts';
import { Bars, CurlBox, ErrorBox, Pixels, pngUrl, Progress, Why } from './ui.tsx';
import { SweepChart } from './sweep.tsx';

function epsilonRange(model: ModelInfo, norm: string): { max: number; step: number; initial: number } {
  const [lo, hi] = model.input.range ?? [0, 1];
  const span = hi - lo;
  return norm === 'l2' ? { max: 10 * span, step: span / 100, initial: 2 * span } : { max: span / 2, step: span / 255, initial: span / 10 };
}

export function AttackView(props: { model: ModelInfo; input?: InputImage; gallery: Sample[]; state: ViewState; update: (patch: ViewState) => void; locked: Set<string> }) {
  const { model, input, state, update, locked } = props;
  const method = attackMethod(state.attack ?? 'fgsm');
  const norm = method.norms.includes(state.norm ?? '') ? state.norm! : method.norms[0]!;
  const range = epsilonRange(model, norm);
  const epsilon = Number(state.eps ?? range.initial);
  const steps = Number(state.steps ?? method.params.find((p) => p.name === 'steps')?.value ?? 0);
  const target = state.attackTarget ?? '';
  const [answer, setAnswer] = useState<AttackAnswer>();
  const [sweep, setSweep] = useState<SweepAnswer>();
  const [error, setError] = useState<string>();
  const [progress, setProgress] = useState<AttackProgress>();
  const [running, setRunning] = useState<AbortController>();
  const [curl, setCurl] = useState<CurlCommand>();
  const [explainBoth, setExplainBoth] = useState(false);
  if (!input) return <p>Pick, draw or upload an image in the Input panel first.</p>;

  const body = (extra: Record<string, unknown>) => ({
    image: input.image, method: method.id, norm, seed: 0,
    ...(method.params.some((p) => p.name === 'steps') && steps > 0 ? { steps } : {}),
    ...(method.id === 'square' ? { queries: 1000 } : {}),
    ...(method.id === 'autoattack' ? { version: 'cheap' } : {}),
    ...(target !== '' && method.targeted ? { target: Number(target) } : {}),
    ...extra,
  });
  const path = `/v1/models/${encodeURIComponent(model.name)}/attack`;

  const run = async (kind: 'attack' | 'sweep' | 'gallery') => {
    const controller = new AbortController();
    setRunning(controller);
    setError(undefined);
    setProgress(undefined);
    try {
      if (kind === 'attack') {
        const request = body({ epsilon });
        setCurl(curlFor(path, request, { stream: true }));
        setAnswer(await apiStream<AttackAnswer, AttackProgress>(path, request, setProgress, { signal: controller.signal }));
      } else {
        const epsilons = Array.from({ length: 8 }, (_, i) => Number((((i + 1) / 8) * range.max).toPrecision(3)));
        // On the gallery: every held-out image with its true label, untargeted (robust accuracy).
        const { image: _one, target: _target, ...shared } = body({ epsilons }) as Record<string, unknown>;
        const request = kind === 'sweep' ? body({ epsilons }) : { ...shared, images: props.gallery.map((g) => pngUrl(g.png)), label: props.gallery.map((g) => g.index) };
        setCurl(curlFor(path, request, { stream: true }));
        setSweep(await apiStream<SweepAnswer, AttackProgress>(path, request, setProgress, { signal: controller.signal }));
      }
    } catch (err) {
      setError(errorText(err));
    } finally {
      setRunning(undefined);
    }
  };

  const adversarial: InputImage | undefined = answer && { image: tensorToPixels(answer.adversarial.image), preview: pngUrl(answer.adversarial.png), origin: { kind: 'adversarial' } };
  const mapSettings: MapSettings = { method: state.method ?? 'gradient', params: {}, scale: 'diverging', opacity: 0.7, ...(answer ? { target: answer.label.index } : {}) };
  return (
    <section aria-labelledby="attack-heading">
      <h2 id="attack-heading">Attack: an image that looks the same and is classified differently</h2>
      <div class="controls">
        {!locked.has('method') && (
          <label>
            Method (weak to strong){' '}
            <select value={method.id} onChange={(e) => update({ attack: e.currentTarget.value, steps: '', norm: '' })}>
              {ATTACK_METHODS.map((m) => <option key={m.id} value={m.id}>{m.label}</option>)}
            </select>
          </label>
        )}
        <Why>{method.why}</Why>
        {!locked.has('norm') && (
          <label>
            Norm{' '}
            <select value={norm} onChange={(e) => update({ norm: e.currentTarget.value, eps: '' })}>
              {method.norms.map((n) => <option key={n} value={n}>{n === 'linf' ? 'L∞ (each pixel moves at most ε)' : 'L2 (total change at most ε)'}</option>)}
            </select>
          </label>
        )}
        {!locked.has('epsilon') && (
          <label>
            ε = {epsilon.toFixed(3)} (model units, input range {(model.input.range ?? [0, 1]).join('–')}){' '}
            <input type="range" min={0} max={range.max} step={range.step} value={epsilon} onInput={(e) => update({ eps: e.currentTarget.value })} />
          </label>
        )}
        {method.params.filter((p) => p.name === 'steps').map((p) => (
          <label key={p.name}>
            Steps <input type="number" min={p.min} max={p.max} value={steps} onChange={(e) => update({ steps: e.currentTarget.value })} />
          </label>
        ))}
        {method.targeted && !locked.has('target') && (
          <label>
            Target class{' '}
            <select value={target} onChange={(e) => update({ attackTarget: e.currentTarget.value })}>
              <option value="">none (untargeted: any wrong class)</option>
              {(model.labels ?? []).map((l, i) => <option key={i} value={String(i)}>{l}</option>)}
            </select>
          </label>
        )}
        <div class="buttons">
          <button type="button" disabled={!!running} onClick={() => void run('attack')}>Run attack</button>
          <button type="button" disabled={!!running} onClick={() => void run('sweep')}>ε-sweep: robustness curve</button>
          {props.gallery.length > 0 && (
            <button type="button" disabled={!!running} onClick={() => void run('gallery')}>ε-sweep on the {props.gallery.length} held-out images</button>
          )}
        </div>
      </div>
      {running && (
        <Progress label={progress ? `step ${progress.step} of ${progress.steps}${progress.epsilon !== undefined ? ` at ε ${progress.epsilon}` : ''}` : 'starting'}
          value={progress ? progress.step / progress.steps : undefined} onCancel={() => running.abort()} />
      )}
      <ErrorBox error={error} />
      {answer && adversarial && (
        <div class="attack-result" data-testid="attack-result">
          <p class="verdict" role="status">
            {`${answer.method.toUpperCase()}${answer.epsilon !== undefined ? ` at ε ${answer.epsilon}` : ''}: `}
            {answer.success ? `Fooled: ${answer.label.label} is now classified ${answer.adversarial.predictions[0]?.label}.` : `Not fooled: still ${answer.adversarial.predictions[0]?.label}.`}{' '}
            {answer.success && (answer.successQuantized ? 'The 8-bit PNG still fools it.' : 'Saved as an 8-bit PNG, it no longer fools it.')}
            {` L∞ ${answer.perturbation.linf.toFixed(3)}, L2 ${answer.perturbation.l2.toFixed(3)}, ${answer.iterations} steps.`}
          </p>
          <div class="triptych">
            <figure><Pixels src={input.preview} alt="original image" /><figcaption>original</figcaption></figure>
            <figure><Pixels src={pngUrl(answer.adversarial.png)} alt="adversarial image" testId="adversarial" /><figcaption>adversarial</figcaption></figure>
            <figure><Pixels src={pngUrl(answer.perturbation.png)} alt="perturbation, amplified" /><figcaption>perturbation (amplified)</figcaption></figure>
          </div>
          <div class="side-by-side">
            <Bars title="before" predictions={answer.original.predictions} testId="bars-before" />
            <Bars title="after" predictions={answer.adversarial.predictions} testId="bars-after" />
          </div>
          <label><input type="checkbox" checked={explainBoth} onChange={(e) => setExplainBoth(e.currentTarget.checked)} /> Explain the original and the adversarial image</label>
          {explainBoth && (
            <div class="side-by-side">
              <ExplainMap model={model.name} input={input} settings={mapSettings} title="original" testId="map-original" />
              <ExplainMap model={model.name} input={adversarial} settings={mapSettings} title="adversarial" testId="map-adversarial" />
            </div>
          )}
        </div>
      )}
      {sweep && <SweepChart sweep={sweep} />}
      <CurlBox curl={curl} />
    </section>
  );
}
