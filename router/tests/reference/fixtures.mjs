// What refresh.mjs and second-reference.mjs share: where the fixtures are, serving a
// fixture's subgraphs with our testkit binary, and posting a fixture case to a gateway.

import { spawn, execFileSync } from "node:child_process";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, dirname, basename } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

export const here = dirname(fileURLToPath(import.meta.url));
export const fixturesRoot = join(here, "..", "fixtures");
export const repoRoot = join(here, "..", "..", "..");
const targetDir = process.env.CARGO_TARGET_DIR ?? join(repoRoot, "target");

/// Fixture names (directories with `subgraphs/`), all or those named in `only`.
export function listFixtures(only) {
  const names = readdirSync(fixturesRoot, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(fixturesRoot, d.name, "subgraphs")))
    .map((d) => d.name)
    .sort();
  const unknown = only.filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    throw new Error(`no such fixture: ${unknown.join(", ")}`);
  }
  return names.filter((name) => only.length === 0 || only.includes(name));
}

/// The case names of a fixture, sorted.
export function caseNames(dir) {
  return readdirSync(join(dir, "cases"))
    .filter((f) => f.endsWith(".graphql"))
    .map((f) => basename(f, ".graphql"))
    .sort();
}

/// Builds the testkit binary (the same fixture data the router's tests use).
export function buildTestkit() {
  execFileSync("cargo", ["build", "-q", "-p", "junction-testkit", "--bin", "junction-testkit"], {
    cwd: repoRoot,
    stdio: "inherit",
    env: { ...process.env, CARGO_TARGET_DIR: targetDir },
  });
}

/// Starts `junction-testkit serve DIR`; resolves to { urls, stop }.
export function serveSubgraphs(dir) {
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

/// POSTs a fixture case (its operation and `<case>.request.json`) to `url`; returns the
/// parsed response, or `{ nonJsonResponse }` when the body is not JSON.
export async function runCase(url, dir, caseName, headers = {}) {
  const query = readFileSync(join(dir, "cases", `${caseName}.graphql`), "utf8");
  const requestPath = join(dir, "cases", `${caseName}.request.json`);
  const extra = existsSync(requestPath) ? JSON.parse(readFileSync(requestPath, "utf8")) : {};
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query, ...extra }),
  });
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    // Recorded as it came, so that compare.mjs shows it rather than the script failing.
    return { nonJsonResponse: { status: response.status, body: text } };
  }
}
