/**
 * The black-box page: the student's view of a "proprietary" prediction API. Enter a key, see the
 * remaining query budget, upload or draw an image and see the answer exactly as the API shapes it,
 * and whether it fools the model (the student says what the image really shows). It uses only
 * what black-box mode serves (the model list and classify); every image sent is one query.
 */
import { useEffect, useState } from 'preact/hooks';
import { apiGet, errorText, lastBudget, onBudget, type Budget } from './api.ts';
import { useClassifier } from './classifier.ts';
import { DrawCanvas } from './draw.tsx';
import { readFileAsDataUrl } from './image.ts';
import type { ModelInfo } from './types.ts';
import { Bars, CurlBox, ErrorBox, Pixels } from './ui.tsx';
import { curlFor } from './curl.ts';
import { TeacherUsage } from './usage.tsx';

const KEY_STORE = 'gradlab-api-key';

function drawingToPng(canvas: HTMLCanvasElement, width: number, height: number): string {
  const small = document.createElement('canvas');
  small.width = width;
  small.height = height;
  small.getContext('2d')?.drawImage(canvas, 0, 0, width, height);
  return small.toDataURL('image/png');
}

export function Student() {
  const [keyField, setKeyField] = useState(() => sessionStorage.getItem(KEY_STORE) ?? '');
  const [key, setKey] = useState<string>();
  const [models, setModels] = useState<ModelInfo[]>();
  const [keyError, setKeyError] = useState<string>();
  const [modelName, setModelName] = useState<string>();
  const [budget, setBudget] = useState<Budget | undefined>(lastBudget);
  const [image, setImage] = useState<string>();
  const [truth, setTruth] = useState('');
  const [readError, setReadError] = useState<string>();
  useEffect(() => onBudget(setBudget), []);
  const model = models?.find((m) => m.name === modelName) ?? models?.[0];
  const classifier = useClassifier(model?.name, { key });

  const useKey = async (e: Event) => {
    e.preventDefault();
    setKeyError(undefined);
    try {
      const answer = await apiGet<{ models: ModelInfo[] }>('/v1/models', { key: keyField.trim() });
      setModels(answer.models);
      setKey(keyField.trim());
      sessionStorage.setItem(KEY_STORE, keyField.trim());
    } catch (err) {
      setModels(undefined);
      setKey(undefined);
      setKeyError(errorText(err));
    }
  };
  const send = (dataUrl: string) => {
    void classifier.classify(dataUrl).then((ok) => ok && setImage(dataUrl));
  };
  const upload = async (e: Event) => {
    const file = (e.currentTarget as HTMLInputElement).files?.[0];
    if (!file) return;
    try {
      setReadError(undefined);
      send(await readFileAsDataUrl(file));
    } catch (err) {
      setReadError(errorText(err));
    }
  };
  const [h = 28, w = 28] = model?.input.shape ?? [];
  const top = classifier.predictions?.[0];

  return (
    <>
      <header>
        <h1>gradlab: prediction API</h1>
        <p class="mode">black-box: you see only what the API answers, and every image costs one query</p>
      </header>
      <main id="main" class="student">
        <form onSubmit={(e) => void useKey(e)} class="controls">
          <label>API key <input type="password" autoComplete="off" value={keyField} onInput={(e) => setKeyField(e.currentTarget.value)} /></label>
          <button type="submit">Use this key</button>
        </form>
        <ErrorBox error={keyError} />
        {budget && (
          <p class="budget" role="status" data-testid="budget">Budget: {budget.remaining} of {budget.limit} queries left</p>
        )}
        {model && models && (
          <section aria-labelledby="query-heading">
            <h2 id="query-heading">Query the model</h2>
            <label>
              Model{' '}
              <select value={model.name} onChange={(e) => setModelName(e.currentTarget.value)}>
                {models.map((m) => <option key={m.name} value={m.name}>{m.name}</option>)}
              </select>
            </label>
            <p class="note">Input {model.input.shape?.join('×')}; classes: {model.labels?.join(', ')}.</p>
            <div class="sources">
              <DrawCanvas onStroke={() => undefined} onDone={(c) => send(drawingToPng(c, w, h))} />
              <label class="upload">Upload an image (PNG, JPEG, WebP) <input type="file" accept="image/*" onChange={(e) => void upload(e)} data-testid="upload" /></label>
            </div>
            <ErrorBox error={readError ?? classifier.error} />
            {image && <Pixels src={image} alt="the image sent" size={112} />}
            {image && <CurlBox curl={curlFor(`/v1/models/${encodeURIComponent(model.name)}/classify`, { image }, { key })} />}
            {classifier.predictions && <Bars title="The API's answer" predictions={classifier.predictions} testId="student-bars" />}
            {classifier.raw && <pre class="raw" role="region" tabIndex={0} aria-label="the answer as JSON">{JSON.stringify(classifier.raw)}</pre>}
            {top && (
              <div class="fool">
                <label>
                  What does your image really show?{' '}
                  <select value={truth} onChange={(e) => setTruth(e.currentTarget.value)}>
                    <option value="">(choose)</option>
                    {(model.labels ?? []).map((l) => <option key={l} value={l}>{l}</option>)}
                  </select>
                </label>
                {truth && <p role="status" class="verdict">{truth === top.label ? `Not fooled: the model says ${top.label}.` : `Fooled: it shows ${truth}, the model says ${top.label}.`}</p>}
              </div>
            )}
          </section>
        )}
      </main>
      {document.querySelector('meta[name="gradlab-teacher"]') && <TeacherUsage />}
    </>
  );
}
