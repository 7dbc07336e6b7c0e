//! Fixture directories: subgraphs (SDL + data + behaviour), the supergraph composed from
//! them, and cases (an operation and the response a reference gateway gave).
//!
//! ```text
//! <fixture>/README.md                     what the fixture covers (first line: its title)
//! <fixture>/supergraph.graphql            composed by @apollo/composition
//! <fixture>/subgraphs/<name>.graphql      the subgraph's SDL
//! <fixture>/subgraphs/<name>.json         its data (see the `data` module)
//! <fixture>/subgraphs/<name>.behavior.json  optional: {"status", "body", "content_type", "delay_ms", "down"}
//! <fixture>/cases/<case>.graphql          an operation
//! <fixture>/cases/<case>.request.json     optional: {"variables": {…}, "operationName": "…"}
//! <fixture>/cases/<case>.expected.json    the reference gateway's response
//! <fixture>/cases/<case>.corrected.json   optional: {"reason": "…", "response": {…}} where the
//!                                         reference is wrong by the spec
//! ```

use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{fixture}/{subgraph}: invalid subgraph schema: {message}")]
    Schema {
        fixture: String,
        subgraph: String,
        message: String,
    },
}

fn file_error(path: &Path, message: impl std::fmt::Display) -> FixtureError {
    FixtureError::File {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

fn read(path: &Path) -> Result<String, FixtureError> {
    std::fs::read_to_string(path).map_err(|e| file_error(path, e))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, FixtureError> {
    serde_json::from_str(&read(path)?).map_err(|e| file_error(path, e))
}

/// How a subgraph misbehaves, for failure tests.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Behavior {
    /// Answer every request with this HTTP status (and `body`).
    pub status: Option<u16>,
    pub body: Option<String>,
    pub content_type: Option<String>,
    /// Wait this long before answering.
    pub delay_ms: Option<u64>,
    /// Not running at all: the router gets a closed port.
    pub down: bool,
}

pub struct SubgraphFixture {
    pub name: String,
    pub sdl: String,
    /// The schema as a federation server serves it (with `_entities`, `_service`).
    pub schema: Valid<Schema>,
    pub data: Map<String, Value>,
    pub behavior: Behavior,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub query: String,
    pub variables: Option<Value>,
    pub operation_name: Option<String>,
    /// What the reference gateway answered (absent until the refresh script ran).
    pub expected: Option<Value>,
    /// A hand-corrected answer and why the reference is wrong.
    pub corrected: Option<(Value, String)>,
}

impl Case {
    /// The response the router must give: the correction when there is one.
    pub fn want(&self) -> Option<&Value> {
        self.corrected
            .as_ref()
            .map(|(v, _)| v)
            .or(self.expected.as_ref())
    }

    /// The JSON body to POST.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("query".into(), Value::String(self.query.clone()));
        if let Some(v) = &self.variables {
            body.insert("variables".into(), v.clone());
        }
        if let Some(n) = &self.operation_name {
            body.insert("operationName".into(), Value::String(n.clone()));
        }
        Value::Object(body)
    }
}

pub struct Fixture {
    pub name: String,
    pub dir: PathBuf,
    pub title: String,
    pub supergraph: Option<String>,
    pub subgraphs: Vec<SubgraphFixture>,
    pub cases: Vec<Case>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
struct CaseRequest {
    variables: Option<Value>,
    operation_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Correction {
    reason: String,
    response: Value,
}

impl Fixture {
    pub fn load(dir: &Path) -> Result<Fixture, FixtureError> {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("fixture")
            .to_string();
        let title = std::fs::read_to_string(dir.join("README.md"))
            .ok()
            .and_then(|t| {
                t.lines()
                    .next()
                    .map(|l| l.trim_start_matches('#').trim().to_string())
            })
            .unwrap_or_else(|| name.clone());
        let supergraph_path = dir.join("supergraph.graphql");
        let supergraph = supergraph_path
            .exists()
            .then(|| read(&supergraph_path))
            .transpose()?;

        let mut subgraphs = Vec::new();
        for path in sorted_files(&dir.join("subgraphs"), "graphql")? {
            let sub_name = stem(&path);
            let sdl = read(&path)?;
            let schema = junction_schema::compose::served_subgraph_schema(&sub_name, &sdl)
                .map_err(|errors| FixtureError::Schema {
                    fixture: name.clone(),
                    subgraph: sub_name.clone(),
                    message: errors
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("; "),
                })?;
            let data_path = path.with_extension("json");
            let data = if data_path.exists() {
                read_json(&data_path)?
            } else {
                Map::new()
            };
            let behavior_path = dir
                .join("subgraphs")
                .join(format!("{sub_name}.behavior.json"));
            let behavior = if behavior_path.exists() {
                read_json(&behavior_path)?
            } else {
                Behavior::default()
            };
            subgraphs.push(SubgraphFixture {
                name: sub_name,
                sdl,
                schema,
                data,
                behavior,
            });
        }

        let mut cases = Vec::new();
        for path in sorted_files(&dir.join("cases"), "graphql")? {
            let case_name = stem(&path);
            let sibling = |suffix: &str| dir.join("cases").join(format!("{case_name}.{suffix}"));
            let request: CaseRequest = if sibling("request.json").exists() {
                read_json(&sibling("request.json"))?
            } else {
                CaseRequest::default()
            };
            let expected = sibling("expected.json")
                .exists()
                .then(|| read_json::<Value>(&sibling("expected.json")))
                .transpose()?;
            let corrected = sibling("corrected.json")
                .exists()
                .then(|| read_json::<Correction>(&sibling("corrected.json")))
                .transpose()?
                .map(|c| (c.response, c.reason));
            cases.push(Case {
                name: case_name,
                query: read(&path)?,
                variables: request.variables,
                operation_name: request.operation_name,
                expected,
                corrected,
            });
        }
        Ok(Fixture {
            name,
            dir: dir.to_owned(),
            title,
            supergraph,
            subgraphs,
            cases,
        })
    }

    /// Every fixture directory under `root`, in name order.
    pub fn load_all(root: &Path) -> Result<Vec<Fixture>, FixtureError> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
            .map_err(|e| file_error(root, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("subgraphs").is_dir())
            .collect();
        dirs.sort();
        dirs.iter().map(|d| Fixture::load(d)).collect()
    }

    pub fn subgraph(&self, name: &str) -> Option<&SubgraphFixture> {
        self.subgraphs.iter().find(|s| s.name == name)
    }
}

fn sorted_files(dir: &Path, extension: &str) -> Result<Vec<PathBuf>, FixtureError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| file_error(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(extension))
        .collect();
    files.sort();
    Ok(files)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string()
}
