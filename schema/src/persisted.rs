//! Persisted-query manifests in Apollo's format, shared by the CLI, the registry and the
//! router:
//!
//! ```json
//! {"format": "apollo-persisted-query-manifest", "version": 1,
//!  "operations": [{"id": "…", "name": "Me", "type": "query", "body": "query Me { … }"}]}
//! ```

use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

pub const MANIFEST_FORMAT: &str = "apollo-persisted-query-manifest";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub operations: Vec<ManifestOperation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestOperation {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("not a persisted-query manifest: {0}")]
    Json(String),
    #[error("`format` is `{0}`, expected `apollo-persisted-query-manifest`")]
    Format(String),
    #[error("`version` is {0}, expected 1")]
    Version(u32),
    #[error("operation id `{0}` appears more than once")]
    DuplicateId(String),
    #[error("operation `{id}` does not validate against the API schema: {message}")]
    Invalid { id: String, message: String },
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest =
            serde_json::from_str(text).map_err(|e| ManifestError::Json(e.to_string()))?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(ManifestError::Format(manifest.format));
        }
        if manifest.version != 1 {
            return Err(ManifestError::Version(manifest.version));
        }
        let mut ids = HashSet::new();
        for operation in &manifest.operations {
            if !ids.insert(operation.id.as_str()) {
                return Err(ManifestError::DuplicateId(operation.id.clone()));
            }
        }
        Ok(manifest)
    }

    /// Every operation that does not validate against `api_schema`.
    pub fn validate(&self, api_schema: &Valid<Schema>) -> Vec<ManifestError> {
        self.operations
            .iter()
            .filter_map(|operation| {
                ExecutableDocument::parse_and_validate(
                    api_schema,
                    &operation.body,
                    "operation.graphql",
                )
                .err()
                .map(|errors| ManifestError::Invalid {
                    id: operation.id.clone(),
                    message: errors
                        .errors
                        .iter()
                        .map(|e| e.error.to_string())
                        .collect::<Vec<_>>()
                        .join("; "),
                })
            })
            .collect()
    }
}
