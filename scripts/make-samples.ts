/**
 * Writes `models/<name>/samples.json` for the shipped image models: a small gallery of held-out
 * test images (never seen in training) with their true labels, which the lab page offers as
 * inputs (`GET /v1/models/:model/samples`). Two images per class, the first of each class in the
 * test split's order, as 8-bit PNGs in base64, so the file stays a few kB and the split is the
 * one the manifest's provenance documents. Rerun: `node --import tsx scripts/make-samples.ts`.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadMnist } from '../src/datasets/mnist.ts';
import { loadFashionMnist } from '../src/datasets/fashion-mnist.ts';
import type { LabelledSplit } from '../src/datasets/image-set.ts';
import { inputToRgb, rgbToPng } from '../src/images/encode.ts';

const PER_CLASS = 2;

async function writeSamples(model: string, split: LabelledSplit): Promise<void> {
  const { test, labelNames } = split;
  const side = test.height * test.width;
  const taken = new Array<number>(labelNames.length).fill(0);
  const samples: { label: string; index: number; testIndex: number; png: string }[] = [];
  for (let i = 0; i < test.count && samples.length < PER_CLASS * labelNames.length; i++) {
    const label = test.labels[i]!;
    if (taken[label]! >= PER_CLASS) continue;
    taken[label]!++;
    const pixels = test.images.subarray(i * side, (i + 1) * side);
    const png = await rgbToPng(inputToRgb(pixels, [test.height, test.width, 1], [0, 1]));
    samples.push({ label: labelNames[label]!, index: label, testIndex: i, png: png.toString('base64') });
  }
  samples.sort((a, b) => a.index - b.index || a.testIndex - b.testIndex);
  const file = path.join('models', model, 'samples.json');
  const body = { source: `${split.source}, held-out test split (the manifest's provenance says which)`, samples };
  writeFileSync(file, `${JSON.stringify(body, null, 1)}\n`);
  console.log(`${file}: ${samples.length} held-out images`);
}

await writeSamples('mnist', loadMnist());
await writeSamples('fashion', loadFashionMnist());
