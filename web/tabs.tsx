/** The view switcher: a WAI-ARIA tab list (arrow keys, Home and End move between tabs). */

export const VIEWS = [
  { id: 'input', label: 'Input' },
  { id: 'explain', label: 'Explain' },
  { id: 'attack', label: 'Attack' },
  { id: 'visualize', label: 'Visualize' },
  { id: 'sequences', label: 'Sequences' },
] as const;
export type View = (typeof VIEWS)[number]['id'];

export function Tabs(props: { view: View; onView: (v: View) => void }) {
  const keys = (e: KeyboardEvent) => {
    const at = VIEWS.findIndex((v) => v.id === props.view);
    const next = e.key === 'ArrowRight' ? at + 1 : e.key === 'ArrowLeft' ? at - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? VIEWS.length - 1 : undefined;
    if (next === undefined) return;
    e.preventDefault();
    const view = VIEWS[(next + VIEWS.length) % VIEWS.length]!;
    props.onView(view.id);
    document.getElementById(`tab-${view.id}`)?.focus();
  };
  return (
    <nav aria-label="views">
      <div role="tablist" aria-label="lab views" onKeyDown={keys}>
        {VIEWS.map((v) => (
          <button type="button" role="tab" key={v.id} id={`tab-${v.id}`} aria-selected={props.view === v.id} aria-controls={`panel-${v.id}`}
            tabIndex={props.view === v.id ? 0 : -1} onClick={() => props.onView(v.id)}>{v.label}</button>
        ))}
      </div>
    </nav>
  );
}
