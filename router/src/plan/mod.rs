//! Query plans: which subgraph requests to send, in which waves, and where each
//! response merges into the result.
//!
//! A plan is a sequence of blocks (one per serial mutation step; a query has one
//! block), each a sequence of waves. A wave's requests run in parallel and depend only
//! on earlier waves. Every request is one HTTP call to one subgraph: a root fetch, or
//! one or more `_entities` fetches batched together (each under its own alias when
//! their selections differ, sharing one de-duplicated representation list when equal).

mod build;
mod selection;

pub use build::{NoLabels, build_plan};
pub use selection::RepField;

use apollo_compiler::Name;
use bytes::Bytes;
use indexmap::IndexMap;
use junction_schema::GraphId;
use serde_json_bytes::{ByteString, Map, Value};

#[derive(Debug)]
pub struct QueryPlan {
    pub blocks: Vec<Block>,
    /// Client fields a subgraph answers under another key (see [`Renames`]).
    pub renames: Renames,
}

/// (response keys of the parent's path, parent's runtime type, client's key) → the key
/// the data arrives under. Fields whose types conflict in a subgraph are aliased there.
pub type Renames = std::collections::HashMap<(Vec<Name>, Name, Name), Name>;

/// Waves that run one after another.
#[derive(Debug, Default)]
pub struct Block {
    pub waves: Vec<Wave>,
}

/// Requests that run in parallel.
#[derive(Debug, Default)]
pub struct Wave {
    pub requests: Vec<SubgraphRequest>,
}

#[derive(Debug)]
pub struct SubgraphRequest {
    pub graph: GraphId,
    pub subgraph: String,
    /// The operation text sent to the subgraph.
    pub operation: String,
    /// `{"query":"…","variables":{` — the fixed start of every body for this request.
    pub body_prefix: Bytes,
    /// Client variables this operation uses, forwarded as they arrived (after coercion).
    pub forwarded_variables: Vec<Name>,
    pub kind: RequestKind,
    /// A root mutation fetch: never shared with another request.
    pub is_mutation: bool,
}

#[derive(Debug)]
pub enum RequestKind {
    /// Root fields (their response keys): the response data merges at the root.
    Root(Vec<Name>),
    /// `_entities` fetches; one per distinct selection.
    Entities(Vec<EntityFetch>),
}

/// One `_entities` field of a request.
#[derive(Debug)]
pub struct EntityFetch {
    /// Response key of the field: `_entities`, or `_e0`, `_e1`… when batched.
    pub response_key: String,
    /// Variable holding its representations: `representations`, or `r0`, `r1`…
    pub variable: String,
    /// Every place in the response whose objects feed this fetch.
    pub targets: Vec<EntityTarget>,
}

/// Objects at `path` whose `__typename` matches an entry of `representations` (the
/// type itself, or an abstract type it belongs to) are sent as representations; the
/// fetched fields merge back into them.
#[derive(Debug, Clone)]
pub struct EntityTarget {
    pub path: Vec<PathElement>,
    pub representations: IndexMap<Name, RepSpec>,
}

/// How to build a representation for objects of one type.
#[derive(Debug, Clone)]
pub struct RepSpec {
    /// `__typename` to send instead of the object's own (an `@interfaceObject` target
    /// knows only the interface).
    pub typename: Option<Name>,
    pub fields: Vec<RepField>,
}

/// A step in a response path. Lists are flattened implicitly.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathElement {
    Key(Name),
    /// Only objects whose runtime type is this type or one of its possible types.
    TypeCondition(Name),
}

impl QueryPlan {
    pub fn request_count(&self) -> usize {
        self.blocks
            .iter()
            .flat_map(|b| &b.waves)
            .map(|w| w.requests.len())
            .sum()
    }

    pub fn wave_count(&self) -> usize {
        self.blocks.iter().map(|b| b.waves.len()).sum()
    }

    /// A JSON description for `extensions.queryPlan` and `junction plan`, shaped as
    /// the usual tree of Sequence / Parallel / Fetch nodes.
    pub fn to_json(&self) -> Value {
        let mut sequence = Vec::new();
        for block in &self.blocks {
            for wave in &block.waves {
                let fetches: Vec<Value> = wave.requests.iter().map(request_json).collect();
                sequence.push(if fetches.len() == 1 {
                    fetches.into_iter().next().unwrap_or(Value::Null)
                } else {
                    node("Parallel", vec![("nodes", Value::Array(fetches))])
                });
            }
        }
        let root = if sequence.len() == 1 {
            sequence.into_iter().next().unwrap_or(Value::Null)
        } else {
            node("Sequence", vec![("nodes", Value::Array(sequence))])
        };
        node(
            "QueryPlan",
            vec![
                ("requests", Value::from(self.request_count() as u64)),
                ("waves", Value::from(self.wave_count() as u64)),
                ("node", root),
            ],
        )
    }
}

fn node(kind: &str, fields: Vec<(&str, Value)>) -> Value {
    let mut map = Map::new();
    map.insert("kind", Value::String(kind.into()));
    for (k, v) in fields {
        map.insert(ByteString::from(k), v);
    }
    Value::Object(map)
}

fn request_json(request: &SubgraphRequest) -> Value {
    let mut fields = vec![
        (
            "serviceName",
            Value::String(request.subgraph.as_str().into()),
        ),
        (
            "operation",
            Value::String(request.operation.as_str().into()),
        ),
    ];
    if let RequestKind::Entities(fetches) = &request.kind {
        let merges: Vec<Value> = fetches
            .iter()
            .flat_map(|f| &f.targets)
            .map(|t| Value::String(path_string(&t.path).into()))
            .collect();
        fields.push(("mergeAt", Value::Array(merges)));
    }
    node("Fetch", fields)
}

/// `users.@.reviews|Review` style rendering of a path, for plans and logs.
pub fn path_string(path: &[PathElement]) -> String {
    let mut out = String::new();
    for element in path {
        match element {
            PathElement::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathElement::TypeCondition(t) => {
                out.push('|');
                out.push_str(t);
            }
        }
    }
    out
}
