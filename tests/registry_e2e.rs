//! The registry as a platform team runs it, with the real binary: `junction registry
//! serve`, tokens, `junction schema publish` / `check` against it, and `junction router
//! --registry` hot-swapping the supergraph under load with no failed request.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_junction");

fn command(data_dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("JUNCTION_") {
            command.env_remove(key);
        }
    }
    command
        .env("JUNCTION_DATA_DIR", data_dir)
        .env("JUNCTION_LOG", "warn");
    command
}

/// A long-running `junction` process, killed on drop; `url` is from its banner.
struct Process {
    child: Child,
    url: String,
}

impl Process {
    fn start(mut command: Command, banner: &str) -> Process {
        command.stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = command.spawn().expect("junction starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let banner = banner.to_owned();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains(&banner) {
                    let url = line
                        .split_whitespace()
                        .find(|w| w.starts_with("http://"))
                        .unwrap()
                        .to_owned();
                    let _ = tx.send(url);
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the process prints its banner");
        Process { child, url }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(mut command: Command) -> Output {
    command.output().expect("junction runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn publish_check_and_hot_reload_under_load() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();

    // Registry on embedded SQLite, and a token for CI and one for routers.
    let mut create = command(data.path());
    create.args([
        "registry",
        "create-token",
        "--name",
        "ci",
        "--scopes",
        "publish,check",
    ]);
    let output = run(create);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let ci_token = text(&output.stdout).trim().to_owned();
    assert!(ci_token.starts_with("jrt_"));
    let mut create = command(data.path());
    create.args([
        "registry",
        "create-token",
        "--name",
        "router",
        "--scopes",
        "read,report",
    ]);
    let router_token = text(&run(create).stdout).trim().to_owned();

    let mut serve = command(data.path());
    serve.args(["registry", "serve", "--listen", "127.0.0.1:0"]);
    let registry = Process::start(serve, "registry listening");

    // The subgraphs the router will call.
    let fixture_dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("router/tests/fixtures/basic-entities");
    let fixture = Arc::new(junction_testkit::Fixture::load(&fixture_dir).unwrap());
    let subgraphs = junction_testkit::serve(fixture.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let urls = subgraphs.urls();

    let publish = |name: &str, sdl: &str| {
        let file = work.path().join(format!("{name}.graphql"));
        std::fs::write(&file, sdl).unwrap();
        let mut publish = command(data.path());
        publish
            .args(["schema", "publish", "--subgraph", name, "--schema"])
            .arg(&file)
            .args(["--routing-url", &urls[name]])
            .env("JUNCTION_REGISTRY__URL", &registry.url)
            .env("JUNCTION_REGISTRY__TOKEN", &ci_token);
        run(publish)
    };
    let accounts_sdl = fixture.subgraph("accounts").unwrap().sdl.clone();
    for name in ["accounts", "reviews"] {
        let output = publish(name, &fixture.subgraph(name).unwrap().sdl);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        assert!(text(&output.stdout).contains(&format!("published `{name}`")));
    }
    // A schema that does not compose is refused with exit 1.
    let output = publish("reviews", "type Query { users: Int }");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
    assert!(text(&output.stderr).contains("kept the supergraph"));

    // The router takes its supergraph from the registry.
    let mut router = command(data.path());
    router
        .args([
            "router",
            "--listen",
            "127.0.0.1:0",
            "--registry",
            &registry.url,
        ])
        .env("JUNCTION_REGISTRY__TOKEN", &router_token)
        .env("JUNCTION_REGISTRY__POLL_INTERVAL_MS", "200")
        .env("JUNCTION_REGISTRY__REPORT_USAGE_INTERVAL_MS", "200");
    let router = Process::start(router, "router listening");
    let http = reqwest::Client::new();
    let query = json!({"query": "{ users { id name } }"});
    let first: Value = http
        .post(&router.url)
        .json(&query)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(first["data"]["users"].is_array(), "{first}");

    // Load from 8 clients while a new supergraph is published and swapped in.
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut load = Vec::new();
    for _ in 0..8 {
        let (http, url, query, expected) = (
            http.clone(),
            router.url.clone(),
            query.clone(),
            first.clone(),
        );
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let request = http
                    .post(&url)
                    .header("graphql-client-name", "storefront")
                    .json(&query);
                let outcome = match request.send().await {
                    Ok(response) if response.status() == 200 => {
                        match response.json::<Value>().await {
                            Ok(body) if body == expected => None,
                            Ok(body) => Some(body.to_string()),
                            Err(e) => Some(e.to_string()),
                        }
                    }
                    Ok(response) => Some(format!("HTTP {}", response.status())),
                    Err(e) => Some(e.to_string()),
                };
                match outcome {
                    None => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(problem) => failed.lock().unwrap().push(problem),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let marked =
        format!("{accounts_sdl}\n\"Published during the load test.\"\ntype Marker {{ id: ID }}\n");
    let output = publish("accounts", &marked);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let introspect = json!({"query": "{ __type(name: \"Marker\") { name } }"});
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body: Value = http
            .post(&router.url)
            .json(&introspect)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if body["data"]["__type"]["name"] == "Marker" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the router never swapped in the new supergraph"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    let failed = failed.lock().unwrap().clone();
    assert!(
        failed.is_empty(),
        "{} failed requests, e.g. {:?}",
        failed.len(),
        failed.first()
    );
    eprintln!(
        "hot reload under load: {} requests, none failed",
        ok.load(Ordering::Relaxed)
    );
    assert!(
        ok.load(Ordering::Relaxed) > 50,
        "only {} requests",
        ok.load(Ordering::Relaxed)
    );

    // The router reported what the load ran. A check against the registry: removing
    // `email` is breaking, but no operation the router saw uses it (safe by usage, exit 0);
    // removing `name` breaks the storefront's operation (exit 1).
    let check = |sdl: String| {
        let proposed = work.path().join("proposed.graphql");
        std::fs::write(&proposed, sdl).unwrap();
        let mut check = command(data.path());
        check
            .args(["schema", "check", "--subgraph", "accounts", "--schema"])
            .arg(&proposed)
            .args(["--against", &registry.url, "--format", "json"])
            .env("JUNCTION_REGISTRY__TOKEN", &ci_token);
        let output = run(check);
        let report: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", text(&output.stderr)));
        (output.status.code(), report)
    };
    let change = |report: &Value, path: &str| -> Value {
        report["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "FIELD_REMOVED" && c["path"] == path)
            .cloned()
            .unwrap_or_else(|| panic!("no FIELD_REMOVED {path}: {report}"))
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let (code, report) = loop {
        let (code, report) = check(accounts_sdl.replace("email: String", ""));
        if code == Some(0) || Instant::now() > deadline {
            break (code, report);
        }
        // The first usage report may still be on its way.
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(
        change(&report, "User.email")["safeByUsage"],
        true,
        "{report}"
    );
    let (code, report) = check(accounts_sdl.replace("name: String!", ""));
    assert_eq!(code, Some(1), "{report}");
    let removed = change(&report, "User.name");
    assert_eq!(removed["safeByUsage"], false, "{report}");
    assert!(
        !removed["affectedOperations"].as_array().unwrap().is_empty(),
        "{report}"
    );

    // The registry goes down: the router keeps serving its last good supergraph.
    drop(registry);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let body: Value = http
        .post(&router.url)
        .json(&query)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, first);
}
