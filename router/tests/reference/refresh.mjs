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
import { spawn, execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, readdirSync, existsSync } from "node:fs";
import { join, dirname, basename } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "graphql";
import { createInterface } from "node:readline";

const here = dirname(fileURLToPath(import.meta.url));
const fixturesRoot = join(here, "..", "fixtures");
const repoRoot = join(here, "..", "..", "..");
const targetDir = process.env.CARGO_TARGET_DIR ?? join(repoRoot, "target");

function listFixtures(only) {
  return readdirSync(fixturesRoot, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(fixturesRoot, d.name, "subgraphs")))
    .map((d) => d.name)
    .filter((name) => only.length === 0 || only.includes(name))
    .sort();
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

function compose(dir) {
  const result = composeServices(readSubgraphs(dir));
  if (result.errors && result.errors.length > 0) {
    const lines = result.errors.map((e) => `  ${e.extensions?.code ?? ""} ${e.message}`);
    throw new Error(`${basename(dir)} does not compose:\n${lines.join("\n")}`);
  }
  return result.supergraphSdl;
}

/// Starts `junction-testkit serve DIR`; resolves to { urls, stop }.
function serveSubgraphs(dir) {
  const bin = join(targetDir, "debug", "junction-testkit");
  const child = spawn(bin, ["serve", dir], { stdio: ["ignore", "pipe", "inherit"] });
  const urls = {};
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      if (line === "ready") {
        resolve({ urls, stop: () => child.kill("SIGINT") });
        return;
      }
      const [name, url] = line.split(" ");
      urls[name] = url;
    });
    child.on("exit", (code) => reject(new Error(`testkit exited with ${code}`)));
  });
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

async function runCase(url, dir, caseName) {
  const query = readFileSync(join(dir, "cases", `${caseName}.graphql`), "utf8");
  const requestPath = join(dir, "cases", `${caseName}.request.json`);
  const extra = existsSync(requestPath) ? JSON.parse(readFileSync(requestPath, "utf8")) : {};
  const body = { query, ...extra };
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "apollo-require-preflight": "true" },
    body: JSON.stringify(body),
  });
  return response.json();
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
    const cases = readdirSync(join(dir, "cases"))
      .filter((f) => f.endsWith(".graphql"))
      .map((f) => basename(f, ".graphql"))
      .sort();
    for (const caseName of cases) {
      const response = await runCase(gateway.url, dir, caseName);
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

// The fixture subgraphs are served by our testkit binary (the same data the router's
// tests use), built once here.
execFileSync("cargo", ["build", "-q", "-p", "junction-testkit", "--bin", "junction-testkit"], {
  cwd: repoRoot,
  stdio: "inherit",
  env: { ...process.env, CARGO_TARGET_DIR: targetDir },
});

const only = process.argv.slice(2);
for (const name of listFixtures(only)) {
  await refresh(name);
}
process.exit(0);
