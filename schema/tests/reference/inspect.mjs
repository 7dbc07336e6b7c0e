// Writes the expectations of the schema-check corpus (`schema/tests/check/<pair>/`) with
// @graphql-inspector/core, the reference schema diff. For every pair directory holding
// `old.graphql` and `new.graphql` it runs `diff(buildSchema(old), buildSchema(new))` and
// writes `inspector.json`: an array of {type, criticality, path, message}, sorted by
// (path, type) (a missing path is null and sorts first; message breaks remaining ties).
//
// Usage (from this directory, after `npm ci`): node inspect.mjs [pair ...]
// With no names, every pair is refreshed. CI never runs this; the output is deterministic,
// so re-running it on an unchanged corpus leaves the files byte-for-byte identical.

import { diff } from "@graphql-inspector/core";
import { buildSchema } from "graphql";
import { readFileSync, writeFileSync, readdirSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const corpus = join(here, "..", "check");

function listPairs(only) {
  const names = readdirSync(corpus, { withFileTypes: true })
    .filter(
      (d) =>
        d.isDirectory() &&
        existsSync(join(corpus, d.name, "old.graphql")) &&
        existsSync(join(corpus, d.name, "new.graphql")),
    )
    .map((d) => d.name)
    .sort();
  const unknown = only.filter((name) => !names.includes(name));
  if (unknown.length > 0) throw new Error(`no such pair: ${unknown.join(", ")}`);
  return names.filter((name) => only.length === 0 || only.includes(name));
}

// Plain code-unit order, independent of the locale.
function cmp(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function inspect(name) {
  const dir = join(corpus, name);
  const load = (file) => buildSchema(readFileSync(join(dir, file), "utf8"));
  const changes = await diff(load("old.graphql"), load("new.graphql"));
  const rows = changes.map((change) => ({
    type: change.type,
    criticality: change.criticality.level,
    path: change.path ?? null,
    message: change.message,
  }));
  rows.sort(
    (a, b) =>
      cmp(a.path ?? "", b.path ?? "") || cmp(a.type, b.type) || cmp(a.message, b.message),
  );
  writeFileSync(join(dir, "inspector.json"), JSON.stringify(rows, null, 2) + "\n");
  return rows;
}

const pairs = listPairs(process.argv.slice(2));
for (const name of pairs) {
  const rows = await inspect(name);
  const levels = rows.map((r) => r.criticality);
  const count = (level) => levels.filter((l) => l === level).length;
  console.log(
    `${name}: ${rows.length} change(s)` +
      (rows.length
        ? ` (${count("BREAKING")} breaking, ${count("DANGEROUS")} dangerous, ${count("NON_BREAKING")} safe)`
        : ""),
  );
}
