/**
 * Text handling shared by the text models, their training scripts and the server: the word
 * tokenizer (spam-rnn) and mail clean-up. Kept here so that training and serving split text the
 * same way.
 */

/** Words, numbers, and the punctuation marks `!`, `$`, `?` as tokens of their own. Lower-case first. */
export function tokenizeWords(text: string): string[] {
  return text.match(/[a-z0-9]+(?:'[a-z]+)?|[!$?]/gi) ?? [];
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
