/**
 * `npm run eval [-- section...]`: gradlab's evaluations, each printing Markdown tables.
 * Sections: `explain` (model-randomisation sanity check), `attacks` (white-box robustness),
 * `sequences` (RNN exactness, parity generalisation, char-LM bits, spam readouts, vanishing gradients). Default: all.
 */
import { evalAttacks } from './eval-attacks.ts';
import { evalExplain } from './eval-explain.ts';
import { evalSequences } from './eval-sequences.ts';

const SECTIONS: Record<string, () => Promise<void>> = { explain: evalExplain, attacks: evalAttacks, sequences: evalSequences };

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!SECTIONS[name]) {
    console.error(`unknown eval section '${name}' (known: ${Object.keys(SECTIONS).join(', ')})`);
    process.exit(2);
  }
}
for (const name of wanted.length ? wanted : Object.keys(SECTIONS)) await SECTIONS[name]!();
