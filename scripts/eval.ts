/**
 * `npm run eval [-- section...]`: gradlab's evaluations, each printing Markdown tables.
 * Sections: `explain` (model-randomisation sanity check), `explain-graph` (every method on the
 * shipped models written as TF.js graph models), `attacks` (white-box robustness),
 * `sequences` (RNN exactness, parity generalisation, char-LM bits, spam readouts, vanishing gradients),
 * `blackbox` (the four HTTP-only client attacks against a black-box server), `robustness`
 * (AutoAttack and its parts on every image model, plus the robust-gradient figure). Default: all.
 */
import { evalAttackFigures, evalAttacks } from './eval-attacks.ts';
import { evalBlackbox } from './eval-blackbox.ts';
import { evalExplain } from './eval-explain.ts';
import { evalExplainGraph } from './eval-explain-graph.ts';
import { evalRobustness } from './eval-robustness.ts';
import { evalSequences } from './eval-sequences.ts';

const SECTIONS: Record<string, () => Promise<void>> = { explain: evalExplain, 'explain-graph': evalExplainGraph, attacks: evalAttacks, 'attack-figures': evalAttackFigures, sequences: evalSequences, blackbox: evalBlackbox, robustness: evalRobustness };

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!SECTIONS[name]) {
    console.error(`unknown eval section '${name}' (known: ${Object.keys(SECTIONS).join(', ')})`);
    process.exit(2);
  }
}
for (const name of wanted.length ? wanted : Object.keys(SECTIONS)) await SECTIONS[name]!();
