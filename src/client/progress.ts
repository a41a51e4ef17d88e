/**
 * How `gradlab-attack` shows progress: a bar when stderr is a terminal; plain lines (or JSON lines
 * with `--progress json`) when it is not, so a run under CI, `nohup`, a pipe or a log file still
 * says what it is doing. Notices (rate-limit waits, budget news) are printed at once as their own
 * line, with the time waited so far; progress lines at most every `intervalMs` and at the end.
 */
import cliProgress from 'cli-progress';

export type ProgressStyle = 'auto' | 'bar' | 'lines' | 'json' | 'none';
export const PROGRESS_STYLES: readonly ProgressStyle[] = ['auto', 'bar', 'lines', 'json', 'none'];

export interface ProgressState {
  done: number;
  total: number;
  successes: number;
  queries: number;
  note?: string;
}

export interface ProgressDisplay {
  update(state: ProgressState): void;
  notice(message: string): void;
  stop(): void;
}

interface Stream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** The display for a style; `auto` picks the bar on a terminal and lines otherwise. */
export function progressDisplay(style: ProgressStyle, attack: string, unit: string, stream: Stream = process.stderr, intervalMs = 2000): ProgressDisplay {
  const chosen = style === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : style;
  if (chosen === 'none') return { update() {}, notice() {}, stop() {} };
  if (chosen === 'bar') return barDisplay(attack, unit, stream);
  return lineDisplay(chosen, attack, unit, stream, intervalMs);
}

function barDisplay(attack: string, unit: string, stream: Stream): ProgressDisplay {
  const bar = new cliProgress.SingleBar(
    { format: `${attack} [{bar}] {value}/{total} ${unit} | success {successes} | queries {queries} | {note}`, hideCursor: true, stream: stream as NodeJS.WritableStream },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(s) {
      if (!started) {
        bar.start(s.total, 0, { successes: 0, queries: 0, note: '' });
        started = true;
      }
      bar.setTotal(s.total);
      bar.update(s.done, { successes: s.successes, queries: s.queries, note: s.note ?? '' });
    },
    notice(message) {
      if (started) bar.update({ note: message });
      else stream.write(`${attack}: ${message}\n`);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function lineDisplay(kind: 'lines' | 'json', attack: string, unit: string, stream: Stream, intervalMs: number): ProgressDisplay {
  const started = Date.now();
  let lastPrinted = 0;
  let last: ProgressState | undefined;
  const elapsed = () => Math.round((Date.now() - started) / 1000);
  const print = (s: ProgressState) => {
    const line = kind === 'json'
      ? JSON.stringify({ attack, event: 'progress', elapsedS: elapsed(), ...s })
      : `${attack}: ${s.done}/${s.total} ${unit}, ${s.successes} succeeded, ${s.queries} queries, ${elapsed()} s${s.note ? ` (${s.note})` : ''}`;
    stream.write(`${line}\n`);
    lastPrinted = Date.now();
  };
  return {
    update(s) {
      last = s;
      if (Date.now() - lastPrinted >= intervalMs || s.done === s.total) print(s);
    },
    notice(message) {
      stream.write(kind === 'json' ? `${JSON.stringify({ attack, event: 'notice', elapsedS: elapsed(), message })}\n` : `${attack}: ${message} (${elapsed()} s in)\n`);
    },
    stop() {
      if (last) print(last);
    },
  };
}
