/**
 * The teacher's view on the black-box page (only when the server has `--admin-key`): per key the
 * budget used, queries over time as a small bar chart, and the query log's attack signatures —
 * a high peak rate, a label spread far from the data's, many near-copies of earlier images are
 * what substitute, SimBA, Square and HopSkipJump attacks leave behind.
 */
import { useState } from 'preact/hooks';
import { apiGet, errorText } from './api.ts';
import { ErrorBox } from './ui.tsx';

interface KeyUsage {
  keyId: string; name: string; budget: number; used: number; remaining: number; timeline: number[];
  summary?: { requests: number; queries: number; peakPerMinute: number; labelEntropyBits: number; nearDuplicateShare?: number; medianNearestL2?: number; labels: [string, number][] };
}
interface UsageAnswer { queryLog: string; start: number; bucketMs: number; keys: KeyUsage[] }

function Timeline(props: { counts: number[]; max: number; name: string }) {
  const w = 6;
  const h = 28;
  return (
    <svg width={props.counts.length * w} height={h} role="img" aria-label={`queries over time by ${props.name}: ${props.counts.join(', ')}`} class="timeline">
      {props.counts.map((c, i) => <rect key={i} x={i * w} y={h - (c / props.max) * h} width={w - 1} height={(c / props.max) * h} />)}
    </svg>
  );
}

const pct = (x: number | undefined) => (x === undefined ? '—' : `${Math.round(x * 100)}%`);

export function TeacherUsage() {
  const [adminKey, setAdminKey] = useState('');
  const [usage, setUsage] = useState<UsageAnswer>();
  const [error, setError] = useState<string>();
  const load = async (e: Event) => {
    e.preventDefault();
    try {
      setUsage(await apiGet<UsageAnswer>('/admin/usage', { bearer: adminKey.trim() }));
      setError(undefined);
    } catch (err) {
      setUsage(undefined);
      setError(errorText(err));
    }
  };
  const max = Math.max(1, ...(usage?.keys.flatMap((k) => k.timeline) ?? []));
  return (
    <details class="teacher" data-testid="teacher-usage">
      <summary>Teacher: the query log</summary>
      <form onSubmit={(e) => void load(e)} class="controls">
        <label>Admin key <input type="password" autoComplete="off" value={adminKey} onInput={(e) => setAdminKey(e.currentTarget.value)} /></label>
        <button type="submit">Show the query log</button>
      </form>
      <ErrorBox error={error} />
      {usage && (
        <table class="usage">
          <caption>
            Per key, most queries first; the timeline runs from {new Date(usage.start).toLocaleTimeString()} in steps of {Math.round(usage.bucketMs / 1000)} s.
            Near copies need the server's --query-log images (now: {usage.queryLog}).
          </caption>
          <thead>
            <tr>
              <th scope="col">key</th><th scope="col">budget used</th><th scope="col">queries over time</th><th scope="col">peak / minute</th>
              <th scope="col">label entropy (bits)</th><th scope="col">near copies</th><th scope="col">top labels</th>
            </tr>
          </thead>
          <tbody>
            {usage.keys.map((k) => (
              <tr key={k.keyId}>
                <th scope="row">{k.name}</th>
                <td>{k.used} of {k.budget}</td>
                <td><Timeline counts={k.timeline} max={max} name={k.name} /></td>
                <td>{k.summary?.peakPerMinute ?? 0}</td>
                <td>{k.summary ? k.summary.labelEntropyBits.toFixed(2) : '—'}</td>
                <td>{pct(k.summary?.nearDuplicateShare)}</td>
                <td>{(k.summary?.labels ?? []).slice(0, 3).map(([l, n]) => `${l}: ${n}`).join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </details>
  );
}
