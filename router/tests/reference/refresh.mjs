// Regenerates the router fixtures from the reference implementation:
//   - supergraph.graphql, composed from subgraphs/*.graphql by @apollo/composition;
//   - cases/<case>.expected.json, the response of Apollo Gateway (behind Apollo Server)
//     for each case, with the fixture's subgraphs served by `junction-testkit serve`.
//
// Usage (from this directory, after `npm install`):
//   node refresh.mjs [fixture-name ...]
//
// A fixture with a `fixture.json` of {"pinned": true} keeps its supergraph and expected
// responses (they come from upstream, like the benchmark's). A case with a
// `<case>.corrected.json` keeps its correction: the router is checked against that, and
// the expected file records what Apollo Gateway does.

import { composeServices } from "@apollo/composition";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { readFileSync, writeFileSync, readdirSync, existsSync } from "node:fs";
import {
  buildTestkit,
  caseNames,
  fixturesRoot,
  listFixtures,
  runCase,
  serveSubgraphs,
} from "./fixtures.mjs";
import { join, basename } from "node:path";
import { parse } from "graphql";

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

function compose(dir) {
  const result = composeServices(readSubgraphs(dir));
  if (result.errors && result.errors.length > 0) {
    const lines = result.errors.map((e) => `  ${e.extensions?.code ?? ""} ${e.message}`);
    throw new Error(`${basename(dir)} does not compose:\n${lines.join("\n")}`);
  }
  return result.supergraphSdl;
}

async function startGateway(supergraphSdl, urls) {
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name }) => new RemoteGraphQLDataSource({ url: urls[name] }),
  });
  const server = new ApolloServer({ gateway, includeStacktraceInErrorResponses: false });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: "127.0.0.1" } });
  return { url, stop: () => server.stop() };
}

async function refresh(name) {
  const dir = join(fixturesRoot, name);
  const settingsPath = join(dir, "fixture.json");
  const settings = existsSync(settingsPath) ? JSON.parse(readFileSync(settingsPath, "utf8")) : {};
  if (settings.pinned) {
    console.log(`${name}: pinned, left alone`);
    return;
  }
  const supergraphSdl = compose(dir);
  writeFileSync(join(dir, "supergraph.graphql"), supergraphSdl);
  const subgraphs = await serveSubgraphs(dir);
  const gateway = await startGateway(supergraphSdl, subgraphs.urls);
  try {
    const cases = caseNames(dir);
    for (const caseName of cases) {
      const response = await runCase(gateway.url, dir, caseName, {
        "apollo-require-preflight": "true",
      });
      writeFileSync(
        join(dir, "cases", `${caseName}.expected.json`),
        JSON.stringify(response, null, 2) + "\n",
      );
    }
    console.log(`${name}: ${cases.length} case(s)`);
  } finally {
    await gateway.stop();
    subgraphs.stop();
  }
}

buildTestkit();

const only = process.argv.slice(2);
for (const name of listFixtures(only)) {
  await refresh(name);
}
process.exit(0);
