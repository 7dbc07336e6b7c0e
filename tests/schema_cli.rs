//! `junction schema …` as a CI job runs it: the real binary, its exit codes and output.

use junction_schema::{SubgraphInput, Supergraph};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_junction");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn junction(args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("JUNCTION_") {
            command.env_remove(key);
        }
    }
    command.output().expect("junction runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The `subgraphs/*.graphql` of a fixture or corpus set, by name.
fn subgraph_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("subgraphs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "graphql"))
        .map(|p| (p.file_stem().unwrap().to_str().unwrap().to_owned(), p))
        .collect();
    files.sort();
    files
}

fn fixture_url(name: &str) -> String {
    format!("http://{name}.fixture.invalid/graphql")
}

#[test]
fn compose_from_files_prints_what_the_library_composes() {
    let fixture = repo().join("router/tests/fixtures/basic-entities");
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from("federation_version: =2.9.0\nsubgraphs:\n");
    let mut inputs = Vec::new();
    for (name, path) in subgraph_files(&fixture) {
        // Relative to the config file, as Rover resolves them.
        let copy = dir.path().join(format!("{name}.graphql"));
        std::fs::copy(&path, &copy).unwrap();
        yaml.push_str(&format!(
            "  {name}:\n    routing_url: {}\n    schema:\n      file: ./{name}.graphql\n",
            fixture_url(&name)
        ));
        inputs.push(SubgraphInput {
            name: name.clone(),
            url: fixture_url(&name),
            sdl: std::fs::read_to_string(&path).unwrap(),
        });
    }
    let config = dir.path().join("supergraph.yaml");
    std::fs::write(&config, yaml).unwrap();

    let output = junction(&["schema", "compose", "--config", config.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let printed = String::from_utf8(output.stdout).unwrap();
    assert_eq!(printed, junction_schema::compose(&inputs).unwrap());
    Supergraph::parse(&printed).expect("the router accepts the supergraph");

    let out_file = dir.path().join("supergraph.graphql");
    let output = junction(&[
        "schema",
        "compose",
        "--config",
        config.to_str().unwrap(),
        "--output",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), printed);
}

#[tokio::test(flavor = "multi_thread")]
async fn compose_fetches_sdl_from_running_subgraphs() {
    let fixture_dir = repo().join("router/tests/fixtures/basic-entities");
    let fixture = Arc::new(junction_testkit::Fixture::load(&fixture_dir).unwrap());
    let running = junction_testkit::serve(fixture.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from("subgraphs:\n");
    let mut inputs = Vec::new();
    for (name, url) in running.urls() {
        // No routing_url: Rover then routes to the URL the schema came from.
        yaml.push_str(&format!(
            "  {name}:\n    schema:\n      subgraph_url: {url}\n      introspection_headers:\n        x-test: yes\n"
        ));
        inputs.push(SubgraphInput {
            name: name.clone(),
            url: url.clone(),
            sdl: fixture.subgraph(&name).unwrap().sdl.clone(),
        });
    }
    let config = dir.path().join("supergraph.yaml");
    std::fs::write(&config, yaml).unwrap();
    let config = config.to_str().unwrap().to_owned();
    let output =
        tokio::task::spawn_blocking(move || junction(&["schema", "compose", "--config", &config]))
            .await
            .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let printed = String::from_utf8(output.stdout).unwrap();
    assert_eq!(printed, junction_schema::compose(&inputs).unwrap());
    let received = running.received();
    assert!(
        received
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains("_service")),
        "the SDL was fetched with `_service {{ sdl }}`"
    );
}

#[test]
fn composition_errors_exit_1_with_code_and_source_line() {
    let set = repo().join("schema/tests/composition/invalid-field-sharing");
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from("subgraphs:\n");
    for (name, path) in subgraph_files(&set) {
        yaml.push_str(&format!(
            "  {name}:\n    routing_url: {}\n    schema:\n      file: {}\n",
            fixture_url(&name),
            path.display()
        ));
    }
    let config = dir.path().join("supergraph.yaml");
    std::fs::write(&config, yaml).unwrap();
    let output = junction(&["schema", "compose", "--config", config.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "no supergraph is printed");
    let text = stderr(&output);
    assert!(text.contains("error[INVALID_FIELD_SHARING]"), "{text}");
    assert!(text.contains("\"Product.name\""), "{text}");
    // The excerpt shows the offending definition in each subgraph.
    assert!(text.contains("--> products:"), "{text}");
    assert!(text.contains("--> search:"), "{text}");
    assert!(text.contains("| ") && text.contains("name"), "{text}");
}

#[test]
fn compose_that_cannot_run_exits_2_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("supergraph.yaml");

    // A subgraph that is down.
    std::fs::write(
        &config,
        "subgraphs:\n  a:\n    schema:\n      subgraph_url: http://127.0.0.1:1/graphql\n",
    )
    .unwrap();
    let output = junction(&["schema", "compose", "--config", config.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("subgraphs.a.schema.subgraph_url"));

    // A misspelt key.
    std::fs::write(
        &config,
        "subgraphs:\n  a:\n    routing_url: http://a\n    schema:\n      fil: a.graphql\n",
    )
    .unwrap();
    let output = junction(&["schema", "compose", "--config", config.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("subgraphs.a.schema") && text.contains("fil"),
        "{text}"
    );

    // A missing file.
    std::fs::write(
        &config,
        "subgraphs:\n  a:\n    routing_url: http://a\n    schema:\n      file: nope.graphql\n",
    )
    .unwrap();
    let output = junction(&["schema", "compose", "--config", config.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("nope.graphql"));
}

const USERS: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
type Query { user(id: ID!): User users: [User!]! }
type User @key(fields: "id") { id: ID! name: String email: String }
"#;

const REVIEWS: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
type User @key(fields: "id") { id: ID! reviews: [Review!]! }
type Review { id: ID! body: String! }
"#;

/// A workspace as a CI job sees it: the current subgraphs, a manifest, a proposal.
struct CheckWorkspace {
    dir: tempfile::TempDir,
}

impl CheckWorkspace {
    fn new() -> CheckWorkspace {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("users.graphql"), USERS).unwrap();
        std::fs::write(dir.path().join("reviews.graphql"), REVIEWS).unwrap();
        std::fs::write(
            dir.path().join("supergraph.yaml"),
            "subgraphs:\n  users:\n    routing_url: http://users/graphql\n    schema:\n      file: users.graphql\n  reviews:\n    routing_url: http://reviews/graphql\n    schema:\n      file: reviews.graphql\n",
        )
        .unwrap();
        let manifest = serde_json::json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [
                {"id": "a1", "name": "Profile", "type": "query", "body": "query Profile { user(id: 1) { name email } }"},
                {"id": "b2", "name": "Reviews", "type": "query", "body": "query Reviews { users { reviews { body } } }"},
            ],
        });
        std::fs::write(dir.path().join("manifest.json"), manifest.to_string()).unwrap();
        CheckWorkspace { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }

    /// Proposes `sdl` for `users` and runs the check with `extra` arguments.
    fn check(&self, sdl: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let mut args = vec!["--against", &self.path("supergraph.yaml")]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        args.extend(extra.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.check_with(sdl, &args, env)
    }

    /// Like `check`, with `args` naming what to check against.
    fn check_with(&self, sdl: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
        std::fs::write(self.dir.path().join("proposed.graphql"), sdl).unwrap();
        let mut command = Command::new(BIN);
        command.args([
            "schema",
            "check",
            "--subgraph",
            "users",
            "--schema",
            &self.path("proposed.graphql"),
        ]);
        command.args(extra);
        command.env_remove("GITHUB_STEP_SUMMARY");
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().unwrap()
    }
}

#[test]
fn check_fails_a_breaking_change_a_persisted_operation_uses() {
    let ws = CheckWorkspace::new();
    let proposed = USERS.replace("email: String", "");
    let manifest = ws.path("manifest.json");
    let output = ws.check(&proposed, &["--operations", &manifest], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("Composition: ok"), "{text}");
    assert!(
        text.contains("[breaking] FIELD_REMOVED User.email"),
        "{text}"
    );
    assert!(text.contains("used by Profile"), "{text}");
    assert!(text.contains("2 checked, 1 broken"), "{text}");
    assert!(text.contains("failed"), "{text}");

    let output = ws.check(
        &proposed,
        &["--operations", &manifest, "--format", "json"],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["passed"], false);
    assert_eq!(report["changes"][0]["type"], "FIELD_REMOVED");
    assert_eq!(report["changes"][0]["criticality"], "BREAKING");
    assert_eq!(report["changes"][0]["affectedOperations"][0], "Profile");
    assert_eq!(report["operations"]["failures"][0]["operation"], "Profile");
}

/// A supergraph SDL is enough to check against: its subgraphs are rebuilt from the join
/// directives.
#[test]
fn check_against_a_supergraph_file() {
    let ws = CheckWorkspace::new();
    let output = junction(&[
        "schema",
        "compose",
        "--config",
        &ws.path("supergraph.yaml"),
        "--output",
        &ws.path("supergraph.graphql"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let against = ws.path("supergraph.graphql");
    let manifest = ws.path("manifest.json");

    let proposed = USERS.replace("email: String", "");
    let output = ws.check_with(
        &proposed,
        &["--against", &against, "--operations", &manifest],
        &[],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("[breaking] FIELD_REMOVED User.email"),
        "{text}"
    );
    assert!(text.contains("used by Profile"), "{text}");

    // Unchanged: nothing to report, the check passes.
    let output = ws.check_with(USERS, &["--against", &against], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(!text.contains("FIELD_"), "{text}");
}

#[test]
fn check_passes_a_breaking_change_no_operation_uses_and_safe_changes() {
    let ws = CheckWorkspace::new();
    let manifest = ws.path("manifest.json");
    // Adding a field is safe.
    let proposed = USERS.replace("email: String", "email: String nickname: String");
    let output = ws.check(&proposed, &["--operations", &manifest], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("[safe] FIELD_ADDED User.nickname"), "{text}");
    assert!(text.contains("passed"), "{text}");

    // Removing a field only non-persisted clients could use: safe by usage.
    let manifest_without_email = serde_json::json!({
        "format": "apollo-persisted-query-manifest", "version": 1,
        "operations": [{"id": "b2", "name": "Reviews", "type": "query",
                        "body": "query Reviews { users { reviews { body } } }"}],
    });
    std::fs::write(
        ws.dir.path().join("m2.json"),
        manifest_without_email.to_string(),
    )
    .unwrap();
    let proposed = USERS.replace("email: String", "");
    let output = ws.check(&proposed, &["--operations", &ws.path("m2.json")], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("[safe by usage] FIELD_REMOVED User.email"),
        "{text}"
    );

    // With no usage at all, the same change fails.
    let output = ws.check(&proposed, &[], &[]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn check_writes_github_annotations_and_a_step_summary() {
    let ws = CheckWorkspace::new();
    let summary = ws.path("summary.md");
    let proposed = USERS.replace("email: String", "");
    let output = ws.check(
        &proposed,
        &[
            "--operations",
            &ws.path("manifest.json"),
            "--format",
            "github",
        ],
        &[("GITHUB_STEP_SUMMARY", &summary)],
    );
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).unwrap();
    let schema_file = ws.path("proposed.graphql");
    assert!(
        text.contains(&format!(
            "::error file={schema_file},title=breaking change::"
        )),
        "{text}"
    );
    assert!(
        text.contains("::error file=") && text.contains("Operation Profile broken"),
        "{text}"
    );
    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(
        markdown.contains("Schema check of `users` failed"),
        "{markdown}"
    );
    assert!(markdown.contains("| breaking |"), "{markdown}");
    assert!(markdown.contains("`User.email`"), "{markdown}");
}

#[test]
fn check_reports_composition_errors_and_cannot_run_without_inputs() {
    let ws = CheckWorkspace::new();
    // `Review` becomes a conflicting value type in `users`.
    let proposed = format!("{USERS}\ntype Review {{ id: ID! body: Int }}\n");
    let output = ws.check(&proposed, &[], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("Composition: "), "{text}");
    assert!(text.contains("error["), "{text}");
    assert!(text.contains("--> users:"), "{text}");

    let output = Command::new(BIN)
        .args([
            "schema",
            "check",
            "--subgraph",
            "users",
            "--schema",
            "/nonexistent.graphql",
        ])
        .args(["--against", &ws.path("supergraph.yaml")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("/nonexistent.graphql"));
}
