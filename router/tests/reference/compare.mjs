// Compares, case by case, the three answers the fixture corpus holds:
//   A  Apollo Gateway's response       cases/<case>.expected.json
//   H  Hive Gateway's response         cases/<case>.hive.json (second-reference.mjs)
//   O  our accepted answer             cases/<case>.corrected.json's response if there is
//                                      one, else expected.json (what CI checks the router by)
// Two answers agree on data when `data` is the same JSON, key order included (an absent
// `data` differs from `data: null`); they agree on errors when they have the same number
// of errors with the same paths (as a multiset: gateways may order errors differently;
// messages and extension codes are ignored).
//
// Usage: node compare.mjs [--all] [fixture-name ...]
//   Prints one row per case where the three do not all agree (every case with --all),
//   then totals. Reads files only; starts nothing.

import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, dirname, basename } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const fixturesRoot = join(here, "..", "fixtures");

const args = process.argv.slice(2);
const showAll = args.includes("--all");
const only = args.filter((a) => a !== "--all");

const readJson = (path) => (existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : undefined);

function dataKey(response) {
  return Object.hasOwn(response, "data") ? JSON.stringify(response.data) : "<absent>";
}

function errorPaths(response) {
  const errors = Array.isArray(response.errors) ? response.errors : [];
  return errors.map((e) => (e.path ? e.path.join(".") : "-")).sort();
}

/// "=" when both agree, else "d" (data differs), "e" (errors differ) or "de".
function relation(a, b) {
  if (a === undefined || b === undefined) return "?";
  const data = dataKey(a) !== dataKey(b);
  const errors = JSON.stringify(errorPaths(a)) !== JSON.stringify(errorPaths(b));
  return (data ? "d" : "") + (errors ? "e" : "") || "=";
}

/// The first place where two data values differ, as "path: A-value | H-value".
function firstDataDifference(a, b, path = []) {
  const show = (v) => {
    const s = v === undefined ? "<absent>" : JSON.stringify(v);
    return s.length > 40 ? s.slice(0, 39) + "…" : s;
  };
  const where = path.length ? path.join(".") : "data";
  if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
  const bothObjects =
    a && b && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b);
  if (!bothObjects) return `${where}: ${show(a)} | ${show(b)}`;
  if (Array.isArray(a)) {
    if (a.length !== b.length) return `${where}: ${a.length} items | ${b.length} items`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDataDifference(a[i], b[i], [...path, i]);
      if (d) return d;
    }
    return undefined;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (JSON.stringify([...ka].sort()) !== JSON.stringify([...kb].sort())) {
    return `${where}: keys ${show(ka)} | ${show(kb)}`;
  }
  for (const k of ka) {
    const d = firstDataDifference(a[k], b[k], [...path, k]);
    if (d) return d;
  }
  return `${where}: key order ${show(ka)} | ${show(kb)}`;
}

const errorSummary = (r) => {
  if (r === undefined) return "none";
  const paths = errorPaths(r);
  return paths.length === 0 ? "0" : `${paths.length}[${paths.join(" ")}]`;
};

function detail(apollo, hive, ours, hasCorrection) {
  const parts = [];
  if (hive && hive.nonJsonResponse) {
    return `H not JSON (HTTP ${hive.nonJsonResponse.status})`;
  }
  const dataOf = (r) => (r && Object.hasOwn(r, "data") ? r.data : undefined);
  if (hive && dataKey(apollo) !== dataKey(hive)) {
    parts.push(`A|H ${firstDataDifference(dataOf(apollo), dataOf(hive))}`);
  }
  if (hasCorrection && hive && dataKey(ours) !== dataKey(hive) && dataKey(ours) !== dataKey(apollo)) {
    parts.push(`O|H ${firstDataDifference(dataOf(ours), dataOf(hive))}`);
  }
  const sums = [apollo, hive, ours].map(errorSummary);
  if (new Set(sums).size > 1) {
    parts.push(`errors A:${sums[0]} H:${sums[1]}${hasCorrection ? ` O:${sums[2]}` : ""}`);
  }
  return parts.join("; ");
}

const fixtures = readdirSync(fixturesRoot, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(fixturesRoot, d.name, "cases")))
  .map((d) => d.name)
  .filter((name) => only.length === 0 || only.includes(name))
  .sort();

const rows = [];
const totals = {
  cases: 0,
  noHive: 0,
  apolloHiveAgree: 0,
  apolloHiveDisagree: { d: 0, e: 0, de: 0 },
  corrections: 0,
  hiveAgreesWithCorrection: 0,
  hiveAgreesWithApolloAgainstCorrection: 0,
  hiveAgreesWithNeither: 0,
  uncorrectedHiveDisagrees: 0,
};

for (const fixture of fixtures) {
  const casesDir = join(fixturesRoot, fixture, "cases");
  const cases = readdirSync(casesDir)
    .filter((f) => f.endsWith(".graphql"))
    .map((f) => basename(f, ".graphql"))
    .sort();
  for (const name of cases) {
    totals.cases++;
    const apollo = readJson(join(casesDir, `${name}.expected.json`));
    const hive = readJson(join(casesDir, `${name}.hive.json`));
    const correction = readJson(join(casesDir, `${name}.corrected.json`));
    const ours = correction ? correction.response : apollo;
    if (apollo === undefined) {
      rows.push([`${fixture}/${name}`, "", "?", "?", "?", "no expected.json"]);
      continue;
    }
    const ah = relation(apollo, hive);
    const ho = relation(hive, ours);
    const ao = relation(apollo, ours);
    if (hive === undefined) totals.noHive++;
    else if (ah === "=") totals.apolloHiveAgree++;
    else totals.apolloHiveDisagree[ah]++;
    if (correction) {
      totals.corrections++;
      if (hive === undefined) {
        // counted in noHive
      } else if (ho === "=") totals.hiveAgreesWithCorrection++;
      else if (ah === "=") totals.hiveAgreesWithApolloAgainstCorrection++;
      else totals.hiveAgreesWithNeither++;
    } else if (hive !== undefined && ah !== "=") {
      totals.uncorrectedHiveDisagrees++;
    }
    if (showAll || ah !== "=" || ho !== "=" || ao !== "=") {
      const verdict = hive === undefined ? "no hive.json" : detail(apollo, hive, ours, !!correction);
      rows.push([`${fixture}/${name}`, correction ? "C" : "", ah, ho, ao, verdict]);
    }
  }
}

const header = ["case", "corr", "A~H", "H~O", "A~O", "where (A|H, O|H: first data difference; error paths)"];
const widths = header.slice(0, 5).map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => r.map((c, i) => (i < 5 ? c.padEnd(widths[i]) : c)).join("  ");
console.log(line(header));
for (const r of rows) console.log(line(r));
console.log("");
console.log("= agree; d: data differs; e: error count/paths differ; ?: file missing; C: case has corrected.json");
const t = totals;
const dis = t.apolloHiveDisagree;
console.log(`cases: ${t.cases} (without hive.json: ${t.noHive})`);
console.log(
  `Apollo and Hive agree: ${t.apolloHiveAgree}; disagree: ${dis.d + dis.e + dis.de} ` +
    `(data only ${dis.d}, errors only ${dis.e}, both ${dis.de}); ` +
    `of those, without a correction: ${t.uncorrectedHiveDisagrees}`,
);
console.log(
  `corrections: ${t.corrections}; Hive agrees with the correction: ${t.hiveAgreesWithCorrection}, ` +
    `with Apollo against it: ${t.hiveAgreesWithApolloAgainstCorrection}, with neither: ${t.hiveAgreesWithNeither}`,
);
