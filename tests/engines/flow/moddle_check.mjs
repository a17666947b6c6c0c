// Parse BPMN files with bpmn-moddle (the parser under bpmn-js) and print, as JSON, what it
// reports for each: {"files": [{"file", "error", "warnings", "written"}]}.
//
//   node moddle_check.mjs [--descriptor tangram.json] [--out DIR] FILE...
//
// --descriptor registers a moddle package (Tangram's extension namespace); without it the
// extension is read as unknown XML, as in a modeler that does not know Tangram.
// --out writes each file back out with toXML into DIR (what a modeler saves after an edit).
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

import { BpmnModdle } from 'bpmn-moddle';

const args = process.argv.slice(2);
const files = [];
let descriptor = null;
let out = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--descriptor') descriptor = args[++i];
  else if (args[i] === '--out') out = args[++i];
  else files.push(args[i]);
}

const packages = {};
if (descriptor) {
  const pkg = JSON.parse(await readFile(descriptor, 'utf8'));
  packages[pkg.prefix] = pkg;
}

const results = [];
for (const file of files) {
  const moddle = new BpmnModdle(packages);
  const result = { file, error: null, warnings: [], written: null };
  try {
    const xml = await readFile(file, 'utf8');
    const { rootElement, warnings } = await moddle.fromXML(xml, 'bpmn:Definitions');
    result.warnings = warnings.map((w) => w.message);
    if (out) {
      const { xml: written } = await moddle.toXML(rootElement, { format: true });
      result.written = join(out, basename(file));
      await writeFile(result.written, written);
    }
  } catch (err) {
    result.error = String(err && err.message ? err.message : err);
  }
  results.push(result);
}
process.stdout.write(JSON.stringify({ files: results }, null, 2) + '\n');
