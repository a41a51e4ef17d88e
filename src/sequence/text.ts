/**
 * Text handling shared by the text models, their training scripts and the server: the word
 * tokenizer (spam-rnn). Kept here so that training and serving split text the same way. (Mail
 * clean-up, which only the data set needs, is in src/datasets/text-corpora.ts.)
 */

/** Words, numbers, and the punctuation marks `!`, `$`, `?` as tokens of their own. Lower-case first. */
export function tokenizeWords(text: string): string[] {
  return text.match(/[a-z0-9]+(?:'[a-z]+)?|[!$?]/gi) ?? [];
}
