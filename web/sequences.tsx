/**
 * The Sequences view: type a sequence and see the recurrent network read it. Bits, numbers and
 * pairs show the network unrolled step by step (input, every hidden unit, output per time step:
 * the lecture's figure, live); `char-lm` shades each character by its log-probability; `spam-rnn`
 * shades each word by its attribution to the spam score.
 */
import { useEffect, useState } from 'preact/hooks';
import { apiPost, errorText } from './api.ts';
import { curlFor, type CurlCommand } from './curl.ts';
import type { ViewState } from './state.ts';
import type { ModelInfo, ScoreAnswer, SequenceExplainAnswer } from './types.ts';
import { CurlBox, ErrorBox, Why } from './ui.tsx';
import { UnrolledDiagram } from './unrolled.tsx';

const EXAMPLES: Record<string, string> = {
  bits: '0101101011', numbers: '1, 2, 3.5', pairs: '1 2; 5 0; 0 3', characters: 'Call me Ishmael.', words: 'FREE money, click now!',
};

/** The text field's content as the API's `sequence`: the type decides how it is split. */
function parseSequence(type: string, text: string): unknown {
  const numbers = (s: string) => s.split(/[\s,]+/).filter(Boolean).map(Number);
  if (type === 'numbers') return numbers(text);
  if (type === 'pairs') return text.split(';').map((p) => p.trim()).filter(Boolean).map(numbers);
  if (type === 'bits') return text.replace(/[\s,]/g, '');
  return text;
}

const fmt = (v: unknown): string => (typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : Array.isArray(v) ? v.map(fmt).join(' ') : JSON.stringify(v));

/** A cell's background: blue for negative, red for positive, by magnitude relative to `max`. */
function shade(v: number, max: number): Record<string, string> {
  const t = Math.max(-1, Math.min(1, v / (max || 1)));
  return { background: t >= 0 ? `rgba(220, 40, 40, ${(0.6 * t).toFixed(2)})` : `rgba(40, 90, 220, ${(-0.6 * t).toFixed(2)})` };
}

function Unrolled(props: { answer: ScoreAnswer }) {
  const steps = props.answer.steps ?? [];
  const units = props.answer.hiddenUnits ?? [];
  const max = Math.max(1e-9, ...steps.flatMap((s) => s.hidden.map(Math.abs)));
  return (
    <div class="unrolled" data-testid="unrolled">
      {units.length <= 8 && <UnrolledDiagram answer={props.answer} />}
      <table>
        <caption>The network unrolled over time: one column per step</caption>
        <tbody>
          <tr><th scope="row">t</th>{steps.map((s) => <td key={s.t}>{s.t}</td>)}</tr>
          <tr><th scope="row">input</th>{steps.map((s) => <td key={s.t}>{fmt(s.input)}</td>)}</tr>
          {units.map((unit, u) => (
            <tr key={unit}><th scope="row">{unit}</th>{steps.map((s) => <td key={s.t} style={shade(s.hidden[u] ?? 0, max)}>{fmt(s.hidden[u])}</td>)}</tr>
          ))}
          <tr><th scope="row">output</th>{steps.map((s) => <td key={s.t}>{fmt(s.output)}</td>)}</tr>
        </tbody>
      </table>
    </div>
  );
}

function ShadedText(props: { tokens: { token: string; value: number; title: string }[]; max: number; words: boolean; testId: string }) {
  return (
    <p class="shaded" data-testid={props.testId}>
      {props.tokens.map((t, i) => (
        <span key={i} style={shade(t.value, props.max)} title={t.title} aria-label={t.title}>{t.token === '\n' ? '↵' : t.token}{props.words ? ' ' : ''}</span>
      ))}
    </p>
  );
}

export function SequenceView(props: { models: ModelInfo[]; state: ViewState; update: (patch: ViewState) => void; locked: Set<string> }) {
  const { models, state, update } = props;
  const model = models.find((m) => m.name === state.seqModel) ?? models.find((m) => m.name === 'rnn-parity') ?? models[0];
  const type = model?.input.type ?? 'bits';
  const text = state.seq ?? EXAMPLES[type] ?? '';
  const [answer, setAnswer] = useState<ScoreAnswer>();
  const [attribution, setAttribution] = useState<SequenceExplainAnswer>();
  const [error, setError] = useState<string>();
  const [curl, setCurl] = useState<CurlCommand>();

  useEffect(() => {
    if (!model) return;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      const path = `/v1/models/${encodeURIComponent(model.name)}`;
      const sequence = parseSequence(type, text);
      const scoreBody = { sequence, ...(['bits', 'numbers', 'pairs'].includes(type) ? { trace: true } : {}) };
      const explainBody = { method: 'gradient', sequence, target: 'spam' };
      setCurl(type === 'words' ? curlFor(`${path}/explain`, explainBody) : curlFor(`${path}/score`, scoreBody));
      Promise.all([
        apiPost<ScoreAnswer>(`${path}/score`, scoreBody, { signal: controller.signal }),
        type === 'words' ? apiPost<SequenceExplainAnswer>(`${path}/explain`, explainBody, { signal: controller.signal }) : Promise.resolve(undefined),
      ]).then(([score, explained]) => {
        setError(undefined);
        setAnswer(score);
        setAttribution(explained);
      }, (err: unknown) => !controller.signal.aborted && setError(errorText(err)));
    }, 250);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [model?.name, text]);

  if (!model) return <p>The server holds no sequence model.</p>;
  const prediction = answer?.prediction;
  return (
    <section aria-labelledby="sequences-heading">
      <h2 id="sequences-heading">Sequences: a recurrent network reads its input one step at a time</h2>
      <div class="controls">
        {!props.locked.has('model') && (
          <label>
            Sequence model{' '}
            <select value={model.name} onChange={(e) => update({ seqModel: e.currentTarget.value, seq: '' })}>
              {models.map((m) => <option key={m.name} value={m.name}>{m.name}</option>)}
            </select>
          </label>
        )}
        <label>
          Sequence ({type === 'pairs' ? 'pairs "a b" separated by ;' : type}){' '}
          <input type="text" class="wide" value={text} onInput={(e) => update({ seq: e.currentTarget.value })} />
        </label>
        {model.description && <Why>{model.description}</Why>}
      </div>
      <ErrorBox error={error} />
      {answer && (
        <div class="sequence-result">
          <p role="status">
            {typeof prediction === 'object' && prediction && 'label' in prediction ? `Prediction: ${prediction.label} (${Math.round((prediction.probability ?? 0) * 1000) / 10}%)` : ''}
            {typeof answer.prediction === 'number' ? `Output: ${fmt(answer.prediction)}` : ''}
            {answer.perplexity !== undefined ? `${answer.bitsPerToken?.toFixed(2)} bits per character, perplexity ${answer.perplexity.toFixed(1)}` : ''}
          </p>
          {answer.steps && <Unrolled answer={answer} />}
          {answer.tokens && (
            <ShadedText testId="char-shading" words={false} max={Math.max(...answer.tokens.map((t) => -t.logProb))}
              tokens={answer.tokens.map((t) => ({ token: t.token, value: -t.logProb, title: `${JSON.stringify(t.token)}: log p = ${t.logProb.toFixed(2)}` }))} />
          )}
          {attribution && (
            <ShadedText testId="word-attribution" words max={Math.max(1e-12, ...attribution.tokens.map((t) => Math.abs(t.attribution)))}
              tokens={attribution.tokens.map((t) => ({ token: t.token, value: t.attribution, title: `${t.token}: attribution ${t.attribution.toExponential(2)} to spam` }))} />
          )}
        </div>
      )}
      <CurlBox curl={curl} />
    </section>
  );
}
