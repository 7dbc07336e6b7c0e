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
