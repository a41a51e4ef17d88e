/**
 * The ε-sweep robustness curve: for each ε, the probability the model still gives the image's
 * true class after the attack (a dot filled when the attack succeeded), or for a batch of images
 * the robust accuracy, as an SVG chart with the
 * same figures in a table for screen readers and for copying.
 */
import type { SweepAnswer } from './types.ts';

const W = 360;
const H = 180;
const PAD = 32;

export function SweepChart(props: { sweep: SweepAnswer }) {
  // One image: p(true class) after the attack; a batch: robust accuracy (share still right).
  const batch = (props.sweep.epsilons[0]?.results.length ?? 0) > 1;
  const rows = props.sweep.epsilons.map((run) => {
    const r = run.results[0];
    const kept = batch ? run.robustAccuracy : (r?.adversarial.predictions.find((p) => p.index === r.label.index)?.probability ?? 0);
    return { epsilon: run.epsilon, kept, success: batch ? run.successRate > 0 : (r?.success ?? false) };
  });
  const measure = batch ? `robust accuracy on ${props.sweep.epsilons[0]?.results.length} images` : 'p(true class)';
  const maxEps = Math.max(...rows.map((r) => r.epsilon), 1e-9);
  const x = (e: number) => PAD + (e / maxEps) * (W - 2 * PAD);
  const y = (p: number) => H - PAD - p * (H - 2 * PAD);
  const line = rows.map((r, i) => `${i === 0 ? 'M' : 'L'}${x(r.epsilon).toFixed(1)},${y(r.kept).toFixed(1)}`).join(' ');
  return (
    <figure class="sweep" data-testid="sweep">
      <figcaption>Robustness curve: {measure} after the attack, by ε (filled dot: {batch ? 'some image fooled' : 'fooled'})</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label="robustness curve">
        <line x1={PAD} y1={H - PAD} x2={W - PAD} y2={H - PAD} class="axis" />
        <line x1={PAD} y1={PAD} x2={PAD} y2={H - PAD} class="axis" />
        <text x={PAD - 4} y={PAD + 4} text-anchor="end">1</text>
        <text x={PAD - 4} y={H - PAD + 4} text-anchor="end">0</text>
        <text x={W - PAD} y={H - 8} text-anchor="end">ε = {maxEps}</text>
        <path d={line} class="curve" />
        {rows.map((r) => <circle key={r.epsilon} cx={x(r.epsilon)} cy={y(r.kept)} r={4} class={r.success ? 'fooled' : 'held'} />)}
      </svg>
      <table>
        <thead><tr><th scope="col">ε</th><th scope="col">{measure}</th><th scope="col">{batch ? 'some fooled' : 'fooled'}</th></tr></thead>
        <tbody>{rows.map((r) => <tr key={r.epsilon}><td>{r.epsilon}</td><td>{r.kept.toFixed(3)}</td><td>{r.success ? 'yes' : 'no'}</td></tr>)}</tbody>
      </table>
    </figure>
  );
}
