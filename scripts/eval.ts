/**
 * `npm run eval [-- section...]`: gradlab's evaluations, each printing Markdown tables.
 * Sections: `explain` (model-randomisation sanity check). Default: all.
 */
import { evalExplain } from './eval-explain.ts';

const SECTIONS: Record<string, () => Promise<void>> = { explain: evalExplain };

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!SECTIONS[name]) {
    console.error(`unknown eval section '${name}' (known: ${Object.keys(SECTIONS).join(', ')})`);
    process.exit(2);
  }
}
for (const name of wanted.length ? wanted : Object.keys(SECTIONS)) await SECTIONS[name]!();
