/**
 * Small pieces every view uses: top-k probability bars (clickable to pick a class), the error box
 * that shows the API's message, the "why" note, a progress bar with cancel, "copy as curl", and
 * images drawn pixel-sharp at a readable size.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { CurlCommand } from './curl.ts';
import type { Prediction } from './types.ts';

export function Bars(props: { predictions: Prediction[]; title: string; selected?: number; onPick?: (index: number) => void; testId?: string }) {
  const { predictions, onPick } = props;
  return (
    <figure class="bars" data-testid={props.testId}>
      <figcaption>{props.title}</figcaption>
      <ol>
        {predictions.map((p) => {
          const pct = p.probability === undefined ? undefined : Math.round(p.probability * 1000) / 10;
          const bar = (
            <>
              {onPick && <span class="sr-only">explain class </span>}
              <span class="bar-label">{p.label}</span>{' '}
              <span class="bar-track" aria-hidden="true"><span class="bar-fill" style={{ width: `${pct ?? 0}%` }} /></span>
              {' '}<span class="bar-value">{pct === undefined ? '' : `${pct}%`}</span>
            </>
          );
          return (
            <li key={p.index} class={props.selected === p.index ? 'selected' : ''}>
              {onPick
                ? <button type="button" class="bar" aria-pressed={props.selected === p.index} onClick={() => onPick(p.index)}>{bar}</button>
                : <span class="bar">{bar}</span>}
            </li>
          );
        })}
      </ol>
    </figure>
  );
}

export function ErrorBox(props: { error?: string }) {
  if (!props.error) return null;
  return <p class="error" role="alert">{props.error}</p>;
}

export function Why(props: { children: string }) {
  return <p class="why"><strong>Why: </strong>{props.children}</p>;
}

export function Progress(props: { label: string; value?: number; max?: number; onCancel?: () => void }) {
  return (
    <div class="progress" role="status">
      <label>
        {props.label}{' '}
        <progress value={props.value} max={props.max ?? 1} aria-label={props.label} />
      </label>
      {props.onCancel && <button type="button" onClick={props.onCancel}>Cancel</button>}
    </div>
  );
}

export function Pixels(props: { src: string; alt: string; size?: number; testId?: string }) {
  return <img class="pixels" src={props.src} alt={props.alt} width={props.size ?? 168} height={props.size ?? 168} data-testid={props.testId} />;
}

export const pngUrl = (base64: string) => `data:image/png;base64,${base64}`;

/** "Copy as curl": shows the command for the last action and copies it on demand. */
export function CurlBox(props: { curl?: CurlCommand }) {
  const [copied, setCopied] = useState(false);
  const curl = props.curl;
  const bodyUrl = useMemo(() => (curl && !curl.inline ? URL.createObjectURL(new Blob([curl.body], { type: 'application/json' })) : undefined), [curl?.body]);
  useEffect(() => () => {
    if (bodyUrl) URL.revokeObjectURL(bodyUrl);
  }, [bodyUrl]);
  if (!curl) return null;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(curl.command);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <details class="curl">
      <summary>Copy as curl</summary>
      <textarea readOnly rows={3} aria-label="curl command for this action" value={curl.command} />
      <button type="button" onClick={() => void copy()}>{copied ? 'Copied' : 'Copy command'}</button>
      {bodyUrl && <a download="request.json" href={bodyUrl}>request.json</a>}
    </details>
  );
}
