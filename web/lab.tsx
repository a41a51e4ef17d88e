/**
 * The white-box lab: tabs for Input, Explain, Attack, Visualize and Sequences around one shared
 * input image and model, all of it mirrored in the URL (a link reproduces the view; a teacher's
 * link can hide controls). Every request goes to /v1 on this server.
 */
import { useEffect, useState } from 'preact/hooks';
import { apiGet, errorText } from './api.ts';
import { AttackView } from './attack.tsx';
import { curlFor } from './curl.ts';
import { useClassifier } from './classifier.ts';
import { ExplainView } from './explain.tsx';
import { base64UrlToBytes, bytesToBase64Url, lockedControls, readState, writeState, type ViewState } from './state.ts';
import { bytesToDataUrl, bytesToPixels, canvasToBytes, type InputImage, type Shape } from './image.ts';
import { InputPanel } from './input.tsx';
import { SequenceView } from './sequences.tsx';
import { TeacherPanel } from './teacher.tsx';
import { Tabs, VIEWS, type View } from './tabs.tsx';
import type { ModelInfo, Sample } from './types.ts';
import { ErrorBox, pngUrl } from './ui.tsx';
import { VisualizeView } from './visualize.tsx';

function sampleInput(sample: Sample, index: number): InputImage {
  const url = pngUrl(sample.png);
  return { image: url, preview: url, origin: { kind: 'sample', index, label: sample.label } };
}

export function Lab() {
  const [state, setState] = useState<ViewState>(readState);
  const [models, setModels] = useState<ModelInfo[]>();
  const [loadError, setLoadError] = useState<string>();
  const [samples, setSamples] = useState<Sample[]>([]);
  const [galleryError, setGalleryError] = useState<string>();
  const [input, setInput] = useState<InputImage>();
  const [inputError, setInputError] = useState<string>();
  const locked = lockedControls(state);

  const update = (patch: ViewState) => setState((old) => {
    const next = { ...old, ...patch };
    for (const k of Object.keys(next)) if (next[k] === '') delete next[k];
    writeState(next);
    return next;
  });

  useEffect(() => {
    apiGet<{ models: ModelInfo[] }>('/v1/models').then((a) => setModels(a.models), (err: unknown) => setLoadError(errorText(err)));
  }, []);

  const imageModels = (models ?? []).filter((m) => m.kind === 'image-classifier');
  const sequenceModels = (models ?? []).filter((m) => m.kind === 'sequence');
  const model = imageModels.find((m) => m.name === state.model) ?? imageModels.find((m) => m.name === 'mnist') ?? imageModels[0];
  const shape = (model?.input.shape ?? [28, 28, 1]) as Shape;
  const range = model?.input.range ?? [0, 1];
  const classifier = useClassifier(model?.name, { topK: 5 });

  useEffect(() => {
    if (!model) return;
    let live = true;
    setSamples([]);
    setGalleryError(undefined);
    apiGet<{ samples: Sample[] }>(`/v1/models/${encodeURIComponent(model.name)}/samples`).then((a) => {
      if (!live) return;
      setSamples(a.samples);
      // The URL's drawing or gallery image, else the first held-out image: every view has something to work on.
      const drawn = state.draw ? base64UrlToBytes(state.draw) : undefined;
      if (drawn && drawn.length === shape[0] * shape[1]) {
        setInput({ image: bytesToPixels(drawn, shape, range), preview: bytesToDataUrl(drawn, shape[1], shape[0]), origin: { kind: 'drawn', bytes: drawn } });
        return;
      }
      const index = Math.min(Number(state.sample ?? 0), a.samples.length - 1);
      setInput(a.samples[index] ? sampleInput(a.samples[index], index) : undefined);
    }, (err: unknown) => live && setGalleryError(errorText(err)));
    return () => {
      live = false;
    };
  }, [model?.name]);

  useEffect(() => {
    if (input) void classifier.classify(input.image);
  }, [input]);

  const choose = (next: InputImage, patch: ViewState) => {
    setInput(next);
    setInputError(undefined);
    update({ ...patch, target: '' });
  };
  const onUpload = (dataUrl: string, name: string) => {
    // Only an image the API accepts becomes the input; otherwise its message is shown and the old input stays.
    void classifier.classify(dataUrl).then((ok) => ok ? choose({ image: dataUrl, preview: dataUrl, origin: { kind: 'upload', name } }, { sample: '', draw: '' }) : undefined);
  };
  const onDraw = (canvas: HTMLCanvasElement, final: boolean) => {
    const bytes = canvasToBytes(canvas, shape[1], shape[0]);
    const pixels = bytesToPixels(bytes, shape, range);
    if (!final) return void classifier.classify(pixels);
    choose({ image: pixels, preview: bytesToDataUrl(bytes, shape[1], shape[0]), origin: { kind: 'drawn', bytes } }, { sample: '', draw: bytesToBase64Url(bytes) });
  };

  if (loadError) return <main><ErrorBox error={`The model list could not be loaded: ${loadError}`} /></main>;
  if (!models) return <main><p role="status">Loading the models…</p></main>;
  const view = (VIEWS.some((v) => v.id === state.view) ? state.view : 'input') as View;
  const target = state.target !== undefined ? Number(state.target) : classifier.predictions?.[0]?.index;
  const showInput = model && (view === 'input' || view === 'explain' || view === 'attack');
  const beside = showInput && view !== 'input';

  return (
    <>
      <header>
        <h1>gradlab lab</h1>
        <p class="mode">white-box: every method, on the server's models</p>
        {!locked.has('view') && <Tabs view={view} onView={(v) => update({ view: v })} />}
      </header>
      <main id="main" class={beside ? 'with-input' : ''}>
        {showInput && (
          <InputPanel models={imageModels} model={model} onModel={(name) => update({ model: name, sample: '', draw: '', target: '' })} input={input}
            predictions={classifier.predictions} error={inputError ?? classifier.error} target={target} onTarget={(i) => update({ target: String(i), view: view === 'input' ? 'explain' : view })}
            samples={samples} galleryError={galleryError} onSample={(s, i) => choose(sampleInput(s, i), { sample: String(i), draw: '' })}
            onUpload={onUpload} onDraw={onDraw} gallery locked={locked} wide={view === 'input'}
            curl={input && curlFor(`/v1/models/${encodeURIComponent(model.name)}/classify`, { image: input.image, topK: 5 })} />
        )}
        <div class="view" role="tabpanel" id={`panel-${view}`} aria-labelledby={`tab-${view}`}>
          {!model && view !== 'sequences' && <p>The server holds no image model.</p>}
          {model && view === 'input' && <ModelCard model={model} />}
          {model && view === 'explain' && <ExplainView model={model} input={input} target={target} state={state} update={update} locked={locked} />}
          {model && view === 'attack' && <AttackView model={model} input={input} gallery={samples} state={state} update={update} locked={locked} />}
          {model && view === 'visualize' && <VisualizeView model={model} state={state} update={update} />}
          {view === 'sequences' && <SequenceView models={sequenceModels} state={state} update={update} locked={locked} />}
        </div>
      </main>
      {!locked.size && <TeacherPanel state={state} />}
    </>
  );
}

function ModelCard(props: { model: ModelInfo }) {
  const { model } = props;
  return (
    <section aria-labelledby="model-heading">
      <h2 id="model-heading">{model.name}</h2>
      <p>{model.description}</p>
      <p>Input {model.input.shape?.join('×')}, values in [{model.input.range?.join(', ')}]; {model.labels?.length} classes: {model.labels?.join(', ')}.</p>
      <p>Pick a held-out image, draw one (the bars follow your pen) or upload your own; then explain it or attack it. Click a class bar to explain that class.</p>
      <h3>Layers</h3>
      <ul class="layers">{(model.layers ?? []).map((l) => <li key={l.name}>{l.name}: {l.type} → {l.outputShape.slice(1).join('×')}</li>)}</ul>
    </section>
  );
}
