/**
 * The recurrent network unrolled over time, drawn as in the lecture: one column per step, the
 * input at the bottom, the hidden units in the middle (each shaded by its value), the output on
 * top; arrows from input to hidden, hidden to output, and hidden(t−1) to hidden(t). The table of
 * exact values sits beside it (web/sequences.tsx) for reading and for screen readers.
 */
import type { ScoreAnswer } from './types.ts';

const COL = 64;
const ROW = 46;
const R = 16;

const fmt = (v: unknown): string => (typeof v === 'number' ? String(Math.round(v * 100) / 100) : Array.isArray(v) ? v.map(fmt).join(',') : '');

function fill(v: number, max: number): string {
  const t = Math.max(-1, Math.min(1, v / (max || 1)));
  return t >= 0 ? `rgba(220, 40, 40, ${(0.15 + 0.75 * t).toFixed(2)})` : `rgba(40, 90, 220, ${(0.15 - 0.75 * t).toFixed(2)})`;
}

export function UnrolledDiagram(props: { answer: ScoreAnswer }) {
  const steps = (props.answer.steps ?? []).slice(0, 40);
  const units = props.answer.hiddenUnits ?? [];
  const max = Math.max(1e-9, ...steps.flatMap((s) => s.hidden.map(Math.abs)));
  const rows = units.length + 2;
  const width = steps.length * COL + 90;
  const height = rows * ROW + 10;
  const x = (i: number) => 90 + i * COL + COL / 2;
  const y = (row: number) => height - 5 - ROW / 2 - row * ROW; // row 0: input, 1..n: hidden, n+1: output
  return (
    <svg class="unrolled-diagram" width={width} height={height} role="img"
      aria-label={`the network unrolled over ${steps.length} steps: input, ${units.join(', ')} and output at each step`}>
      <defs>
        <marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L8,4 L0,8 z" /></marker>
      </defs>
      <text x={4} y={y(0) + 4}>input</text>
      {units.map((u, k) => <text key={u} x={4} y={y(k + 1) + 4}>{u.length > 11 ? `${u.slice(0, 10)}…` : u}</text>)}
      <text x={4} y={y(units.length + 1) + 4}>output</text>
      {steps.map((s, i) => (
        <g key={s.t}>
          {units.map((_, k) => <line key={`in${k}`} x1={x(i)} y1={y(0) - R} x2={x(i)} y2={y(k + 1) + R} class="edge" marker-end="url(#arrow)" />)}
          {i > 0 && units.map((_, k) => <line key={`rec${k}`} x1={x(i - 1) + R} y1={y(k + 1)} x2={x(i) - R} y2={y(k + 1)} class="edge recurrent" marker-end="url(#arrow)" />)}
          <line x1={x(i)} y1={y(units.length) - R} x2={x(i)} y2={y(units.length + 1) + R} class="edge" marker-end="url(#arrow)" />
          <circle cx={x(i)} cy={y(0)} r={R} class="node" />
          <text x={x(i)} y={y(0) + 4} text-anchor="middle">{fmt(s.input)}</text>
          {s.hidden.map((h, k) => (
            <g key={k}>
              <circle cx={x(i)} cy={y(k + 1)} r={R} class="node" style={{ fill: fill(h, max) }} />
              <text x={x(i)} y={y(k + 1) + 4} text-anchor="middle">{fmt(h)}</text>
            </g>
          ))}
          <circle cx={x(i)} cy={y(units.length + 1)} r={R} class="node output" />
          <text x={x(i)} y={y(units.length + 1) + 4} text-anchor="middle">{fmt(s.output)}</text>
        </g>
      ))}
    </svg>
  );
}
