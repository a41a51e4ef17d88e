/**
 * The Input panel (beside the Explain and Attack views too): the model, a gallery of held-out images, an upload field, a canvas to draw on,
 * the current input and its top-k bars (clicking a bar picks the class the Explain view maps).
 */
import { useEffect, useState } from 'preact/hooks';
import { errorText } from './api.ts';
import { DrawCanvas } from './draw.tsx';
import { readFileAsDataUrl, type InputImage } from './image.ts';
import type { CurlCommand } from './curl.ts';
import type { ModelInfo, Prediction, Sample } from './types.ts';
import { Bars, CurlBox, ErrorBox, Pixels, pngUrl } from './ui.tsx';

export interface InputPanelProps {
  models: ModelInfo[];
  model: ModelInfo;
  onModel: (name: string) => void;
  input?: InputImage;
  predictions?: Prediction[];
  error?: string;
  target?: number;
  onTarget?: (index: number) => void;
  samples: Sample[];
  galleryError?: string;
  onSample: (sample: Sample, index: number) => void;
  onUpload: (dataUrl: string, name: string) => void;
  onDraw: (canvas: HTMLCanvasElement, final: boolean) => void;
  /** The gallery needs a white-box route; the student's page has none. */
  gallery: boolean;
  locked: Set<string>;
  /** The classify request for the current input. */
  curl?: CurlCommand;
  /** The Input view itself: the image sources sit beside the prediction instead of under it. */
  wide?: boolean;
}

function caption(input: InputImage): string {
  switch (input.origin.kind) {
    case 'sample': return `held-out image #${input.origin.index}, true label ${input.origin.label}`;
    case 'drawn': return 'your drawing';
    case 'upload': return `uploaded: ${input.origin.name}`;
    case 'adversarial': return 'an adversarial image';
  }
}

export function InputPanel(props: InputPanelProps) {
  const { model, samples } = props;
  const [readError, setReadError] = useState<string>();
  useEffect(() => setReadError(undefined), [props.input]);
  const upload = async (e: Event) => {
    const file = (e.currentTarget as HTMLInputElement).files?.[0];
    if (!file) return;
    try {
      setReadError(undefined);
      props.onUpload(await readFileAsDataUrl(file), file.name);
    } catch (err) {
      setReadError(errorText(err));
    }
  };

  return (
    <section class={`input-panel${props.wide ? ' wide' : ''}`} aria-labelledby="input-heading">
      <div class="input-state">
        <h2 id="input-heading">Input</h2>
        {!props.locked.has('model') && (
          <label>
            Model{' '}
            <select value={model.name} onChange={(e) => props.onModel(e.currentTarget.value)}>
              {props.models.map((m) => <option key={m.name} value={m.name}>{m.name}</option>)}
            </select>
          </label>
        )}
        {model.description && <p class="note">{model.description}</p>}
        <ErrorBox error={readError ?? props.error} />
        {props.input && (
          <figure class="current">
            <Pixels src={props.input.preview} alt={`input: ${caption(props.input)}`} size={112} testId="input-preview" />
            <figcaption>{caption(props.input)}</figcaption>
          </figure>
        )}
        {props.predictions && (
          <Bars title="Prediction (click a class to explain it)" predictions={props.predictions} selected={props.target} onPick={props.onTarget} testId="input-bars" />
        )}
        <CurlBox curl={props.curl} />
      </div>
      <div class="input-sources">
        {props.gallery && !props.locked.has('input') && (
          <div class="gallery" role="group" aria-label="held-out images">
            <ErrorBox error={props.galleryError} />
            {samples.map((s, i) => (
              <button type="button" key={i} class="sample" aria-label={`held-out image ${i}, label ${s.label}`} onClick={() => props.onSample(s, i)}>
                <img src={pngUrl(s.png)} alt="" width={40} height={40} />
              </button>
            ))}
          </div>
        )}
        {!props.locked.has('input') && (
          <div class="sources">
            <DrawCanvas onStroke={(c) => props.onDraw(c, false)} onDone={(c) => props.onDraw(c, true)} />
            <label class="upload">
              Upload an image (PNG, JPEG, WebP){' '}
              <input type="file" accept="image/*" onChange={(e) => void upload(e)} data-testid="upload" />
            </label>
          </div>
        )}
      </div>
    </section>
  );
}
