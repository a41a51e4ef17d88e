/**
 * Writes a client attack's results: `report.json` (everything), `report.md` (a summary a person
 * reads) and, per attacked image, at the model's own size: `images/<id>-original.png`, and for a
 * success `images/<id>-adversarial-<label>.png` (lossless 8-bit: upload it and it is exactly the
 * image `successQuantized` checked) and `images/<id>-adversarial.npy` (the exact float32 [H, W, C]
 * the attack made); plus enlarged `-preview.png` copies to look at.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultScale, inputToRgb, rgbToPng } from '../images/encode.ts';
import { float32Npy } from './npy.ts';
import type { ClientReport } from './run.ts';

const fmt = (v: number | undefined, digits = 2) => (v === undefined ? '—' : Number.isFinite(v) ? v.toFixed(digits) : '∞');
const pct = (v: number | undefined) => (v === undefined ? '—' : `${(100 * v).toFixed(1)}%`);

export function reportMarkdown(r: ClientReport): string {
  const s = r.summary;
  const lines = [
    `# gradlab-attack ${r.attack} against ${r.target.model}`,
    '',
    `Target: ${r.target.url} (${r.target.protocol}; model \`${r.target.model}\`, ${r.target.labels.length} classes, input ${r.target.inputShape.join('×')}, answers with ${r.target.output === 'label' ? 'labels only' : 'probabilities'}).`,
    `Data: ${r.data}. Started ${r.startedAt}, ${r.elapsedS.toFixed(1)} s.`,
    '',
    `Queries: ${r.oracle.queries} in ${r.oracle.requests} requests` +
      `${r.oracle.serverRemaining !== undefined ? `; the server's budget has ${r.oracle.serverRemaining} left` : ''}` +
      `${r.oracle.clientBudget !== undefined ? `; client cap ${r.oracle.clientBudget}` : ''}` +
      `${r.oracle.rateLimitWaitS > 0 ? `; waited ${r.oracle.rateLimitWaitS.toFixed(1)} s on rate limits` : ''}.`,
    ...(r.stopped ? ['', `**Stopped early:** ${r.stopped}. Everything below is what the run had when it stopped.`] : []),
    '',
    '| attacked | success | mean queries | median queries | mean L2 | median L2 | mean L∞ |' + (s.successAtEpsilon !== undefined ? ' success at ε |' : '') + (s.misclassifiedRate !== undefined ? ' misclassified |' : ''),
    '|--:|--:|--:|--:|--:|--:|--:|' + (s.successAtEpsilon !== undefined ? '--:|' : '') + (s.misclassifiedRate !== undefined ? '--:|' : ''),
    `| ${s.attacked} | ${s.successes} (${pct(s.successRate)}) | ${fmt(s.meanQueries, 0)} | ${fmt(s.medianQueries, 0)} | ${fmt(s.meanL2)} | ${fmt(s.medianL2)} | ${fmt(s.meanLinf)} |` +
      (s.successAtEpsilon !== undefined ? ` ${pct(s.successAtEpsilon)} |` : '') +
      (s.misclassifiedRate !== undefined ? ` ${pct(s.misclassifiedRate)} |` : ''),
    '',
    ...(s.successQuantized !== undefined ? [`Saved as 8-bit PNGs at the model's size, ${pct(s.successQuantized)} of the successful adversarial images still fool the target (successQuantized: checked with one more query each; the .npy files hold the exact floats).`, ''] : []),
    `Settings: ${Object.entries(r.settings).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join(', ')}.`,
  ];
  if (s.cleanAccuracy !== undefined) lines.push(`The oracle's clean accuracy on these images: ${pct(s.cleanAccuracy)}; ${s.skippedMisclassified} misclassified clean images ${r.attack === 'substitute' ? 'are left out of the transfer success rate' : 'were not attacked'}.`);
  if (r.attack === 'hopskipjump') lines.push('HopSkipJump always ends misclassified; its figure is the median L2 reached within the per-image query cap (∞ for images with no misclassified start).');
  if (r.substitute) {
    lines.push('', `## Substitute training (${r.substitute.architecture}, then ${r.substitute.craft})`, '', '| round | training images | oracle queries so far | substitute accuracy | transfer | λ next |', '|--:|--:|--:|--:|--:|--:|');
    for (const round of r.substitute.rounds) lines.push(`| ${round.round} | ${round.trainingSize} | ${round.queries} | ${pct(round.accuracy)} | ${pct(round.transfer)} | ${round.lambda ?? '—'} |`);
    if (r.substitute.measurementQueries) lines.push('', `The transfer per round was measured with ${r.substitute.measurementQueries} more queries, not part of the attack's own.`);
    lines.push('', `Substitute and oracle agree on ${pct(r.substitute.agreement)} of the clean attacked images. Transfer success is over images the oracle had right; "misclassified" is Papernot et al.'s figure, over all attacked images.`);
  }
  lines.push('', '## Images', '', '| id | true | oracle | adversarial | success | queries | L2 | L∞ | ended by | files |', '|--:|---|---|---|---|--:|--:|--:|---|---|');
  for (const img of r.images.slice(0, 100)) {
    const files = img.files ? `[original](${img.files.original})${img.files.adversarial ? `, [adversarial](${img.files.adversarial})` : ''}` : '';
    lines.push(
      `| ${img.id} | ${img.trueLabel !== undefined ? r.target.labels[img.trueLabel] : '—'} | ${img.labelName} | ${img.adversarialLabelName ?? '—'} | ${img.success ? (img.successQuantized === false ? 'yes (not as 8-bit)' : 'yes') : 'no'} | ${img.queries} | ${fmt(img.l2)} | ${fmt(img.linf)} | ${img.stopped} | ${files} |`,
    );
  }
  if (r.images.length > 100) lines.push('', `(${r.images.length - 100} more in report.json)`);
  return `${lines.join('\n')}\n`;
}

/** Writes report.json, report.md and the PNGs under `dir`; returns the files written. */
export async function writeReport(dir: string, report: ClientReport, originals: Map<number, Float32Array>, adversarial: Map<number, Float32Array>, range: [number, number]): Promise<string[]> {
  await mkdir(path.join(dir, 'images'), { recursive: true });
  const shape = report.target.inputShape;
  const scale = defaultScale(shape[0], shape[1]);
  const written: string[] = [];
  const png = (pixels: Float32Array, enlarge: number) => rgbToPng(inputToRgb(pixels, shape, range), enlarge);
  for (const img of report.images) {
    const original = originals.get(img.id);
    if (!original) continue;
    const files: NonNullable<typeof img.files> = { original: `images/${img.id}-original.png`, originalPreview: `images/${img.id}-original-preview.png` };
    await writeFile(path.join(dir, files.original), await png(original, 1));
    await writeFile(path.join(dir, files.originalPreview!), await png(original, scale));
    const adv = adversarial.get(img.id);
    if (adv) {
      const stem = `images/${img.id}-adversarial-${img.adversarialLabelName ?? 'x'}`.replace(/[^\w./-]/g, '_');
      Object.assign(files, { adversarial: `${stem}.png`, adversarialNpy: `images/${img.id}-adversarial.npy`, adversarialPreview: `${stem}-preview.png` });
      await writeFile(path.join(dir, files.adversarial!), await png(adv, 1));
      await writeFile(path.join(dir, files.adversarialNpy!), float32Npy(adv, shape));
      await writeFile(path.join(dir, files.adversarialPreview!), await png(adv, scale));
    }
    img.files = files;
    written.push(...Object.values(files));
  }
  await writeFile(path.join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(dir, 'report.md'), reportMarkdown(report));
  return ['report.json', 'report.md', ...written];
}
