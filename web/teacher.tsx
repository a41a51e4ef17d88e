/**
 * The teacher's setting: a link to the current view with some controls hidden (`lock=...`), so a
 * class opens the same exercise (say: FGSM on this digit, only ε to play with). The link carries
 * everything else the URL already holds: view, model, image, method, settings.
 */
import { useState } from 'preact/hooks';
import type { ViewState } from './state.ts';

const LOCKABLE = [
  { id: 'view', label: 'the view tabs' },
  { id: 'model', label: 'the model' },
  { id: 'input', label: 'the image choice (gallery, drawing, upload)' },
  { id: 'method', label: 'the method' },
  { id: 'norm', label: 'the norm' },
  { id: 'epsilon', label: 'ε' },
  { id: 'target', label: 'the target class' },
];

export function TeacherPanel(props: { state: ViewState }) {
  const [locks, setLocks] = useState<Set<string>>(new Set(['view', 'model', 'method']));
  const params = new URLSearchParams({ ...props.state, lock: [...locks].join(',') });
  const link = `${location.origin}${location.pathname}?${params.toString()}`;
  const toggle = (id: string, on: boolean) => {
    const next = new Set(locks);
    if (on) next.add(id);
    else next.delete(id);
    setLocks(next);
  };
  return (
    <details class="teacher">
      <summary>Teacher: make this view an exercise</summary>
      <p>Set up the view, tick what students may not change, and share the link. Hidden controls keep the values in the link.</p>
      <fieldset>
        <legend>Hide</legend>
        {LOCKABLE.map((l) => (
          <label key={l.id}><input type="checkbox" checked={locks.has(l.id)} onChange={(e) => toggle(l.id, e.currentTarget.checked)} /> {l.label}</label>
        ))}
      </fieldset>
      <label>Exercise link <input type="text" class="wide" readOnly value={link} /></label>
    </details>
  );
}
