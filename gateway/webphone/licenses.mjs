// Writes static/vendor/THIRD-PARTY-LICENSES.txt: the license of every
// package bundled into jssip.min.js (the non-dev packages of
// package-lock.json), served beside the bundle as their MIT licenses ask.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
let out = 'Third-party software bundled in jssip.min.js (the Switchboard web phone)\n';
for (const [dir, p] of Object.entries(lock.packages)) {
  if (!dir || p.dev) continue;
  const name = dir.replace(/^.*node_modules\//, '');
  const file = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  if (!file) throw new Error(`${name}: no license file in ${dir}`);
  out += `\n==== ${name} ${p.version} (${p.license}) ====\n\n` + readFileSync(join(dir, file), 'utf8').trim() + '\n';
}
writeFileSync('static/vendor/THIRD-PARTY-LICENSES.txt', out);
