// Writes the expectations of the composition corpus (`schema/tests/composition/<set>/`) with
// @apollo/composition, the reference composition:
//   - expected.json: {"composes": true} or {"composes": false, "errors": [{code, message}]};
//   - supergraph.graphql: the composed supergraph, when the set composes.
// Each set's subgraphs are `subgraphs/<name>.graphql`, reachable at
// `http://<name>.fixture.invalid/graphql` (the URL only appears in `@join__graph`).
//
// Usage (from this directory, after `npm install`): node compose.mjs [set ...]
// With no names, every set is refreshed. CI never runs this; the schema crate's
// `composition_corpus` test compares our composition with the files written here.

import { composeServices } from "@apollo/composition";
import { parse } from "graphql";
import { readFileSync, writeFileSync, readdirSync, existsSync, rmSync } from "node:fs";
import { join, dirname, basename } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const corpus = join(here, "..", "composition");

function listSets(only) {
  const names = readdirSync(corpus, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(corpus, d.name, "subgraphs")))
    .map((d) => d.name)
    .sort();
  const unknown = only.filter((name) => !names.includes(name));
  if (unknown.length > 0) throw new Error(`no such set: ${unknown.join(", ")}`);
  return names.filter((name) => only.length === 0 || only.includes(name));
}

function readSubgraphs(dir) {
  return readdirSync(join(dir, "subgraphs"))
    .filter((f) => f.endsWith(".graphql"))
    .sort()
    .map((f) => {
      const name = basename(f, ".graphql");
      return {
        name,
        url: `http://${name}.fixture.invalid/graphql`,
        typeDefs: parse(readFileSync(join(dir, "subgraphs", f), "utf8")),
      };
    });
}

for (const name of listSets(process.argv.slice(2))) {
  const dir = join(corpus, name);
  let result;
  try {
    result = composeServices(readSubgraphs(dir));
  } catch (error) {
    // A subgraph that is not even syntactically GraphQL: graphql-js throws before composing.
    result = { errors: [{ message: error.message, extensions: { code: "INVALID_GRAPHQL" } }] };
  }
  const supergraphPath = join(dir, "supergraph.graphql");
  let expected;
  if (result.errors && result.errors.length > 0) {
    expected = {
      composes: false,
      errors: result.errors.map((e) => ({ code: e.extensions?.code ?? "UNKNOWN", message: e.message })),
    };
    rmSync(supergraphPath, { force: true });
  } else {
    expected = { composes: true };
    writeFileSync(supergraphPath, result.supergraphSdl);
  }
  writeFileSync(join(dir, "expected.json"), JSON.stringify(expected, null, 2) + "\n");
  const codes = expected.composes ? "composes" : [...new Set(expected.errors.map((e) => e.code))].join(" ");
  console.log(`${name}: ${codes}`);
}
