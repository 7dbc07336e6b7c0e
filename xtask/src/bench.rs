//! `cargo xtask bench`: the federation load benchmark.
//!
//! The router under test is pinned to CPU 0; the benchmark's four subgraphs (our
//! `junction-testkit` serving the same data as the benchmark's own) and the load
//! generator (wrk) share CPU 1. Each configuration gets a warm-up, then a measured run
//! per connection count; wrk checks every response byte for byte against the
//! benchmark's expected response. Reported: requests/s, latency percentiles, failed
//! responses, the server's CPU time per request and its peak RSS.
//!
//! The reference gateways (Hive Gateway, Apollo Gateway) run in the same way from
//! `xtask/bench/` (npm), unless `--only-junction`.

use crate::cargo::Cargo;
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Options {
    pub duration_secs: u64,
    pub warmup_secs: u64,
    pub connections: Vec<u32>,
    pub only_junction: bool,
}

/// A child process killed when dropped.
struct Process {
    name: String,
    child: Child,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User + system CPU time so far, from /proc (the process and its threads).
    fn cpu_time(&self) -> Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .with_context(|| format!("reading /proc stat of {}", self.name))?;
        // Fields after the parenthesised command name; utime and stime are 14th and 15th.
        let after = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .context("malformed /proc stat")?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        let hz = clock_ticks_per_second();
        Ok(Duration::from_secs_f64(ticks as f64 / hz as f64))
    }

    /// Peak resident set size (VmHWM), in KiB.
    fn peak_rss_kib(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("no VmHWM in /proc status")
    }
}

/// `getconf CLK_TCK`; 100 on Linux unless configured otherwise.
fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

struct Run {
    server: String,
    connections: u32,
    rps: f64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    failed: u64,
    cpu_ms_per_request: f64,
}

pub fn run(options: &Options) -> Result<u8> {
    let repo = repo_root()?;
    ensure_wrk()?;
    let cargo = Cargo::from_env()?;
    eprintln!("[xtask] building release binaries");
    let status = cargo
        .command()
        .args([
            "build",
            "--release",
            "-p",
            "junction",
            "-p",
            "junction-testkit",
        ])
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("release build failed");
    }
    let bin = cargo.target_dir().join("release");
    let fixture = repo.join("router/tests/fixtures/bench");
    let supergraph = fixture.join("supergraph.graphql");
    let expected = std::fs::read(fixture.join("cases/test_query.expected.json"))?;
    let expected = trim_newline(&expected).to_vec();
    let query = std::fs::read_to_string(fixture.join("cases/test_query.graphql"))?;
    let body = serde_json_string_body(&query);

    let work = std::env::temp_dir().join(format!("junction-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    std::fs::write(work.join("body.json"), &body)?;
    std::fs::write(work.join("expected.json"), &expected)?;
    std::fs::write(work.join("check.lua"), lua_script(&work))?;

    // The supergraph routes to http://0.0.0.0:4200/<subgraph>.
    let _subgraphs = spawn(
        "subgraphs",
        Command::new("taskset")
            .args(["-c", "1"])
            .arg(bin.join("junction-testkit"))
            .args([
                "serve",
                fixture.to_str().context("non-UTF-8 path")?,
                "--listen",
                "127.0.0.1:4200",
            ]),
        "ready",
    )?;

    let mut runs = Vec::new();
    let mut rss = Vec::new();
    let junction = bin.join("junction");
    for (label, dedup) in [
        ("junction (dedup on)", true),
        ("junction (dedup off)", false),
    ] {
        let port = crate::services::free_port()?;
        let mut command = Command::new("taskset");
        command
            .args(["-c", "0"])
            .arg(&junction)
            .args(["router", "--supergraph"])
            .arg(&supergraph)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("JUNCTION_LOG", "warn")
            .env(
                "JUNCTION_ROUTER__DEDUPLICATION__CLIENT_QUERIES",
                dedup.to_string(),
            )
            .env(
                "JUNCTION_ROUTER__DEDUPLICATION__SUBGRAPH_FETCHES",
                dedup.to_string(),
            );
        let server = spawn(label, &mut command, "router listening")?;
        measure(
            label, &server, port, &work, &expected, &body, options, &mut runs,
        )?;
        rss.push((label.to_string(), server.peak_rss_kib()?));
    }

    if !options.only_junction {
        let gateways = repo.join("xtask/bench");
        ensure_node_gateways(&gateways)?;
        let port = crate::services::free_port()?;
        let mut hive = Command::new("taskset");
        hive.args(["-c", "0"])
            .arg(gateways.join("node_modules/.bin/hive-gateway"))
            .arg("supergraph")
            .arg(&supergraph)
            .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
            .current_dir(&gateways);
        let server = spawn("hive-gateway", &mut hive, "")?;
        wait_for_port(port, Duration::from_secs(60))?;
        measure(
            "hive-gateway 2.15.1",
            &server,
            port,
            &work,
            &expected,
            &body,
            options,
            &mut runs,
        )?;
        rss.push(("hive-gateway 2.15.1".into(), server.peak_rss_kib()?));
        drop(server);

        let port = crate::services::free_port()?;
        let mut apollo = Command::new("taskset");
        apollo
            .args(["-c", "0", "node", "apollo-gateway.mjs"])
            .arg(&supergraph)
            .arg(port.to_string())
            .current_dir(&gateways);
        let server = spawn("apollo-gateway", &mut apollo, "ready")?;
        measure(
            "apollo-gateway 2.14.4",
            &server,
            port,
            &work,
            &expected,
            &body,
            options,
            &mut runs,
        )?;
        rss.push(("apollo-gateway 2.14.4".into(), server.peak_rss_kib()?));
    }

    println!();
    println!("| server | conns | req/s | p50 ms | p95 ms | p99 ms | failed | CPU ms/req |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in &runs {
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.3} |",
            r.server,
            r.connections,
            r.rps,
            r.p50_ms,
            r.p95_ms,
            r.p99_ms,
            r.failed,
            r.cpu_ms_per_request
        );
    }
    println!();
    println!("| server | peak RSS MiB |");
    println!("|---|---|");
    for (label, kib) in &rss {
        println!("| {label} | {:.1} |", *kib as f64 / 1024.0);
    }
    let _ = std::fs::remove_dir_all(&work);
    // Junction must answer every request exactly; the reference gateways are reported.
    let junction_failed: u64 = runs
        .iter()
        .filter(|r| r.server.starts_with("junction"))
        .map(|r| r.failed)
        .sum();
    if junction_failed > 0 {
        eprintln!(
            "[xtask] junction gave {junction_failed} responses that differ from the expected one"
        );
        return Ok(1);
    }
    Ok(0)
}

#[allow(clippy::too_many_arguments)]
fn measure(
    label: &str,
    server: &Process,
    port: u16,
    work: &Path,
    expected: &[u8],
    body: &str,
    options: &Options,
    runs: &mut Vec<Run>,
) -> Result<()> {
    let url = format!("http://127.0.0.1:{port}/graphql");
    if let Err(e) = check_once(&url, body, expected) {
        // Still measured: wrk counts every wrong response as failed.
        eprintln!("[xtask] {label} answers wrongly: {e:#}");
    }
    for &connections in &options.connections {
        wrk(&url, work, connections, options.warmup_secs)?;
        let before = server.cpu_time()?;
        let report = wrk(&url, work, connections, options.duration_secs)?;
        let cpu = server.cpu_time()? - before;
        let requests = report.requests.max(1);
        let run = Run {
            server: label.to_string(),
            connections,
            rps: report.requests as f64 / (report.duration_us as f64 / 1e6),
            p50_ms: report.p50_us as f64 / 1000.0,
            p95_ms: report.p95_us as f64 / 1000.0,
            p99_ms: report.p99_us as f64 / 1000.0,
            failed: report.bad + report.errors,
            cpu_ms_per_request: cpu.as_secs_f64() * 1000.0 / requests as f64,
        };
        eprintln!(
            "[xtask] {label} c={connections}: {:.0} req/s, p99 {:.2} ms, {} failed, {:.3} CPU ms/req",
            run.rps, run.p99_ms, run.failed, run.cpu_ms_per_request
        );
        runs.push(run);
    }
    Ok(())
}

struct WrkReport {
    requests: u64,
    duration_us: u64,
    bad: u64,
    errors: u64,
    p50_us: u64,
    p95_us: u64,
    p99_us: u64,
}

fn wrk(url: &str, work: &Path, connections: u32, seconds: u64) -> Result<WrkReport> {
    let output = Command::new("taskset")
        .args(["-c", "1", "wrk", "-t1"])
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("-s")
        .arg(work.join("check.lua"))
        .arg(url)
        .output()
        .context("running wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .with_context(|| format!("wrk printed no result:\n{stdout}"))?;
    let numbers: Vec<u64> = line["RESULT ".len()..]
        .split_whitespace()
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    let [requests, duration_us, bad, errors, p50_us, p95_us, p99_us] = numbers[..] else {
        bail!("unexpected wrk result line: {line}");
    };
    Ok(WrkReport {
        requests,
        duration_us,
        bad,
        errors,
        p50_us,
        p95_us,
        p99_us,
    })
}

/// wrk script: POST the body, compare every response with the expected bytes.
fn lua_script(work: &Path) -> String {
    let body = work.join("body.json");
    let expected = work.join("expected.json");
    format!(
        r#"local function slurp(path) local f = assert(io.open(path, "rb")); local s = f:read("*a"); f:close(); return s end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = slurp("{body}")
local expected = slurp("{expected}")
bad = 0
function response(status, headers, body)
  -- Apollo Gateway ends its body with a newline; the JSON is what must match.
  if body:sub(-1) == "\n" then body = body:sub(1, -2) end
  if status ~= 200 or body ~= expected then bad = bad + 1 end
end
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do b = b + t:get("bad") end
  local e = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %d %d %d %d %d %d %d\n", summary.requests, summary.duration, b, e,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"#,
        body = body.display(),
        expected = expected.display()
    )
}

fn check_once(url: &str, body: &str, expected: &[u8]) -> Result<()> {
    let output = Command::new("curl")
        .args([
            "-sS",
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "--data-binary",
        ])
        .arg(body)
        .arg(url)
        .output()
        .context("running curl")?;
    let got = trim_newline(&output.stdout);
    if got != expected {
        bail!(
            "response is not the expected one ({} bytes, want {}): {}",
            got.len(),
            expected.len(),
            String::from_utf8_lossy(&got[..got.len().min(300)])
        );
    }
    Ok(())
}

fn trim_newline(bytes: &[u8]) -> &[u8] {
    bytes.strip_suffix(b"\n").unwrap_or(bytes)
}

/// `{"query":"…"}` exactly as the benchmark's k6 script sends it.
fn serde_json_string_body(query: &str) -> String {
    let mut escaped = String::with_capacity(query.len() + 16);
    for c in query.chars() {
        match c {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if (c as u32) < 0x20 => escaped.push_str(&format!("\\u{:04x}", c as u32)),
            c => escaped.push(c),
        }
    }
    format!("{{\"query\":\"{escaped}\"}}")
}

fn spawn(name: &str, command: &mut Command, ready_line: &str) -> Result<Process> {
    command.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {name}"))?;
    let stdout = child.stdout.take().context("piped stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    let ready_line = ready_line.to_string();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !sent && line.contains(&ready_line) {
                let _ = tx.send(());
                sent = true;
            }
        }
    });
    let mut process = Process {
        name: name.to_string(),
        child,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if rx.recv_timeout(Duration::from_millis(100)).is_ok() {
            return Ok(process);
        }
        if let Some(status) = process.child.try_wait()? {
            bail!("{name} exited before it was ready ({status}); is its port already in use?");
        }
        if Instant::now() > deadline {
            bail!("{name} did not become ready within 60 s");
        }
    }
}

fn wait_for_port(port: u16, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("nothing listens on port {port} after {limit:?}")
}

fn ensure_wrk() -> Result<()> {
    if crate::install::find_program("wrk").is_none() {
        crate::install::apt_install(&["wrk"])?;
    }
    Ok(())
}

fn ensure_node_gateways(dir: &Path) -> Result<()> {
    if dir.join("node_modules/.bin/hive-gateway").exists()
        && dir.join("node_modules/@apollo/gateway").exists()
    {
        return Ok(());
    }
    eprintln!("[xtask] installing the reference gateways with npm");
    let status = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .status()
        .context("running npm (Node.js 20+ is needed for the reference gateways)")?;
    if !status.success() {
        bail!("npm install failed in {}", dir.display());
    }
    Ok(())
}

fn repo_root() -> Result<PathBuf> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let dir = manifest.unwrap_or_else(|_| PathBuf::from("xtask"));
    dir.parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}
