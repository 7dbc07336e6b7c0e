//! Execution: runs a plan's waves against the subgraphs and merges their responses
//! into one [`Store`], collecting errors with client paths.
//!
//! Bodies are assembled from the plan's pre-serialised prefix plus the variables and
//! representations, so the operation text is never re-encoded per request. Responses
//! are parsed once into the store; root fetches and entity results are merged by
//! linking them into the objects they belong to (see [`crate::json`]).

pub mod client;

use crate::json::{Node, NodeId, Store};
use crate::plan::{
    EntityFetch, EntityTarget, PathElement, QueryPlan, RepField, RequestKind, SubgraphRequest,
};
use crate::projection::PossibleTypes;
use crate::response::{GraphQLError, PathSegment, codes};
use apollo_compiler::Name;
use bytes::Bytes;
use client::{FetchError, SubgraphClient};
use http::Uri;
use serde_json_bytes::{ByteString, Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// Where and how to reach one subgraph.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: Uri,
    pub timeout: Duration,
    /// Speak HTTP/2 without negotiating it (h2c on plain HTTP).
    pub http2_only: bool,
}

/// What a plan needs to run.
pub struct Executor<'a> {
    pub client: &'a SubgraphClient,
    /// Indexed by `GraphId`.
    pub endpoints: &'a [Endpoint],
    /// Possible runtime types of abstract types, to follow type conditions in paths.
    pub possible_types: &'a PossibleTypes,
    /// Shares identical concurrent fetches (not for mutations); `None` when off.
    pub dedup: Option<&'a crate::dedup::FetchDedup>,
    /// The verified caller, sent to every subgraph.
    pub caller: Option<&'a Arc<crate::auth::Caller>>,
    /// Sent to every subgraph as `traceparent`.
    pub trace: Option<crate::trace::TraceParent>,
}

/// The merged result of running a plan.
pub struct Execution {
    pub store: Store,
    /// The `data` object every root fetch is linked into.
    pub root: NodeId,
    pub errors: Vec<GraphQLError>,
    /// Places whose missing data an error already explains: the root fields of a
    /// fetch that failed or came back null, the objects of a failed entity fetch.
    pub explained: Vec<Vec<PathSegment>>,
}

impl Executor<'_> {
    pub async fn run(&self, plan: &QueryPlan, variables: &Map<ByteString, Value>) -> Execution {
        let mut store = Store::new();
        let root = store.empty_object();
        let mut errors = Vec::new();
        let mut explained = Vec::new();
        for block in &plan.blocks {
            for wave in &block.waves {
                let prepared: Vec<Prepared<'_>> = wave
                    .requests
                    .iter()
                    .filter_map(|request| self.prepare(request, &store, root, variables))
                    .collect();
                let responses = futures::future::join_all(
                    prepared
                        .iter()
                        .map(|p| self.send(p.request, p.body.clone())),
                )
                .await;
                for (prepared, response) in prepared.into_iter().zip(responses) {
                    let mut merge = Merge {
                        store: &mut store,
                        root,
                        errors: &mut errors,
                        explained: &mut explained,
                        possible: self.possible_types,
                    };
                    merge.response(prepared, response);
                }
            }
        }
        Execution {
            store,
            root,
            errors,
            explained,
        }
    }

    /// Builds the body; `None` when an entity request has no representations at all.
    fn prepare<'p>(
        &self,
        request: &'p SubgraphRequest,
        store: &Store,
        root: NodeId,
        variables: &Map<ByteString, Value>,
    ) -> Option<Prepared<'p>> {
        let mut body = Vec::with_capacity(request.body_prefix.len() + 256);
        body.extend_from_slice(&request.body_prefix);
        let mut first = true;
        let mut entity_targets = Vec::new();
        if let RequestKind::Entities(fetches) = &request.kind {
            let mut any = false;
            for fetch in fetches {
                let collected = self.collect_representations(fetch, store, root);
                any |= !collected.representations.is_empty();
                if !first {
                    body.push(b',');
                }
                first = false;
                let _ = serde_json::to_writer(&mut body, &fetch.variable);
                body.extend_from_slice(b":[");
                for (i, rep) in collected.representations.iter().enumerate() {
                    if i > 0 {
                        body.push(b',');
                    }
                    body.extend_from_slice(rep);
                }
                body.push(b']');
                entity_targets.push(collected);
            }
            if !any {
                return None;
            }
        }
        for name in &request.forwarded_variables {
            if let Some(value) = variables.get(name.as_str()) {
                if !first {
                    body.push(b',');
                }
                first = false;
                let _ = serde_json::to_writer(&mut body, name.as_str());
                body.push(b':');
                let _ = serde_json::to_writer(&mut body, value);
            }
        }
        body.extend_from_slice(b"}}");
        Some(Prepared {
            request,
            body: Bytes::from(body),
            entity_targets,
        })
    }

    fn collect_representations(
        &self,
        fetch: &EntityFetch,
        store: &Store,
        root: NodeId,
    ) -> Collected {
        let mut collected = Collected::default();
        let mut seen: apollo_compiler::collections::HashMap<Bytes, u32> = Default::default();
        let is_abstract = |t: &str| self.possible_types.contains_key(t);
        for target in &fetch.targets {
            walk(
                store,
                root,
                &target.path,
                self.possible_types,
                &mut |object| {
                    let index = match representation(
                        store,
                        object,
                        target,
                        &is_abstract,
                        self.possible_types,
                    ) {
                        Some(rep) => *seen.entry(rep.clone()).or_insert_with(|| {
                            collected.representations.push(rep);
                            (collected.representations.len() - 1) as u32
                        }),
                        None => NOT_SENT,
                    };
                    collected.objects.push((object, index));
                },
            );
        }
        collected
    }

    async fn send(&self, request: &SubgraphRequest, body: Bytes) -> Result<Bytes, FetchFailure> {
        let endpoint = &self.endpoints[request.graph.index()];
        let response = match self.dedup.filter(|_| !request.is_mutation) {
            Some(dedup) => dedup
                .post_json(
                    self.client,
                    endpoint,
                    body,
                    self.caller.cloned(),
                    self.trace,
                )
                .await
                .map_err(FetchFailure::Transport)?,
            None => self
                .client
                .post_json(
                    &endpoint.url,
                    body,
                    endpoint.timeout,
                    endpoint.http2_only,
                    self.caller.map(|c| &**c),
                    self.trace.as_ref(),
                )
                .await
                .map_err(|e| FetchFailure::Transport(Arc::new(e)))?,
        };
        // A GraphQL body explains itself even on an error status; that is decided once
        // the body is parsed.
        if response.status.is_success() {
            Ok(response.body)
        } else {
            Err(FetchFailure::Status(response.status, response.body))
        }
    }
}

struct Prepared<'p> {
    request: &'p SubgraphRequest,
    body: Bytes,
    /// Per entity fetch, in order: the representations and which object got which.
    entity_targets: Vec<Collected>,
}

#[derive(Default)]
struct Collected {
    /// De-duplicated representations as JSON text.
    representations: Vec<Bytes>,
    /// Every object at the fetch's paths, in walk order, with the index of its
    /// representation or [`NOT_SENT`]. Nodes never move in the store, so the merge
    /// links results straight to these objects.
    objects: Vec<(NodeId, u32)>,
}

/// Client paths of a fetch's objects with their representation index (errors only).
type TargetPaths = Vec<(Vec<PathSegment>, u32)>;

/// An object the walk visited but did not send (another type, or a key missing).
const NOT_SENT: u32 = u32::MAX;

enum FetchFailure {
    /// Shared by every request a de-duplicated fetch served.
    Transport(Arc<FetchError>),
    /// An error status; the body may still be a GraphQL response.
    Status(http::StatusCode, Bytes),
}

/// Calls `found` with each object at `path`, flattening lists and keeping only
/// objects a type condition admits.
fn walk(
    store: &Store,
    node: NodeId,
    path: &[PathElement],
    possible: &PossibleTypes,
    found: &mut impl FnMut(NodeId),
) {
    match store.node(node) {
        Node::Array { .. } => {
            for &item in store.items(node) {
                walk(store, item, path, possible, found);
            }
        }
        Node::Object { .. } => match path.split_first() {
            None => found(node),
            Some((PathElement::Key(key), rest)) => {
                if let Some(child) = store.get(node, key) {
                    walk(store, child, rest, possible, found);
                }
            }
            Some((PathElement::TypeCondition(condition), rest)) => {
                if admits(store, node, condition, possible) {
                    walk(store, node, rest, possible, found);
                }
            }
        },
        _ => {}
    }
}

/// [`walk`] that also tracks each object's response path (for errors; not on the hot
/// path).
fn walk_with_paths(
    store: &Store,
    node: NodeId,
    path: &[PathElement],
    possible: &PossibleTypes,
    current: &mut Vec<PathSegment>,
    found: &mut impl FnMut(&[PathSegment], NodeId),
) {
    match store.node(node) {
        Node::Array { .. } => {
            for (i, &item) in store.items(node).iter().enumerate() {
                current.push(PathSegment::Index(i));
                walk_with_paths(store, item, path, possible, current, found);
                current.pop();
            }
        }
        Node::Object { .. } => match path.split_first() {
            None => found(current, node),
            Some((PathElement::Key(key), rest)) => {
                if let Some(child) = store.get(node, key) {
                    current.push(PathSegment::Key(ByteString::from(key.as_str())));
                    walk_with_paths(store, child, rest, possible, current, found);
                    current.pop();
                }
            }
            Some((PathElement::TypeCondition(condition), rest)) => {
                if admits(store, node, condition, possible) {
                    walk_with_paths(store, node, rest, possible, current, found);
                }
            }
        },
        _ => {}
    }
}

/// Whether the object's runtime type is `condition` or one of its possible types.
fn admits(store: &Store, object: NodeId, condition: &Name, possible: &PossibleTypes) -> bool {
    let is_abstract = |t: &str| possible.contains_key(t);
    store.typename(object, &is_abstract).is_some_and(|t| {
        t == condition.as_str()
            || possible
                .get(condition)
                .is_some_and(|types| types.iter().any(|p| p == t))
    })
}

/// `{"__typename":…, key and required fields…}` for `object`, or `None` when the
/// object's type is not fetched here or a needed field is missing.
fn representation(
    store: &Store,
    object: NodeId,
    target: &EntityTarget,
    is_abstract: &impl Fn(&str) -> bool,
    possible: &PossibleTypes,
) -> Option<Bytes> {
    let typename = store.typename(object, is_abstract)?;
    let spec = target.representations.get(typename).or_else(|| {
        target
            .representations
            .iter()
            .find_map(|(entity_type, spec)| {
                possible
                    .get(entity_type)
                    .is_some_and(|types| types.iter().any(|t| t == typename))
                    .then_some(spec)
            })
    })?;
    let sent = spec.typename.as_ref().map_or(typename, |t| t.as_str());
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"{\"__typename\":");
    let _ = serde_json::to_writer(&mut out, sent);
    write_rep_fields(store, object, &spec.fields, &mut out)?;
    out.push(b'}');
    Some(Bytes::from(out))
}

/// Writes `,"name":value` for each field (read under its response key).
fn write_rep_fields(
    store: &Store,
    object: NodeId,
    fields: &[RepField],
    out: &mut Vec<u8>,
) -> Option<()> {
    for field in fields {
        let value = store.get(object, &field.source)?;
        out.extend_from_slice(b",\"");
        out.extend_from_slice(field.name.as_bytes());
        out.extend_from_slice(b"\":");
        write_rep_value(store, value, &field.children, out)?;
    }
    Some(())
}

fn write_rep_value(
    store: &Store,
    value: NodeId,
    children: &[RepField],
    out: &mut Vec<u8>,
) -> Option<()> {
    if children.is_empty() {
        store.write(value, out);
        return Some(());
    }
    match store.node(value) {
        Node::Object { .. } => {
            out.push(b'{');
            let start = out.len();
            write_rep_fields(store, value, children, out)?;
            // write_rep_fields prefixes every field with a comma.
            if out.len() > start {
                out.remove(start);
            }
            out.push(b'}');
            Some(())
        }
        Node::Array { .. } => {
            out.push(b'[');
            for (i, &item) in store.items(value).iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_rep_value(store, item, children, out)?;
            }
            out.push(b']');
            Some(())
        }
        Node::Null => {
            out.extend_from_slice(b"null");
            Some(())
        }
        _ => None,
    }
}

/// Folds one subgraph response into the store.
struct Merge<'m> {
    store: &'m mut Store,
    root: NodeId,
    errors: &'m mut Vec<GraphQLError>,
    explained: &'m mut Vec<Vec<PathSegment>>,
    possible: &'m PossibleTypes,
}

impl Merge<'_> {
    fn response(&mut self, prepared: Prepared<'_>, response: Result<Bytes, FetchFailure>) {
        let request = prepared.request;
        let (status, body) = match response {
            Ok(body) => (None, body),
            Err(FetchFailure::Status(status, body)) => (Some(status), body),
            Err(FetchFailure::Transport(e)) => {
                let (message, code) = match &*e {
                    FetchError::Timeout(d) => (
                        format!(
                            "HTTP fetch failed from '{}': request timed out after {}ms",
                            request.subgraph,
                            d.as_millis()
                        ),
                        codes::SUBREQUEST_TIMEOUT,
                    ),
                    other => (
                        format!("HTTP fetch failed from '{}': {other}", request.subgraph),
                        codes::SUBREQUEST_HTTP_ERROR,
                    ),
                };
                return self.failed(&prepared, message, code);
            }
        };
        // A GraphQL body explains itself even on an error status; anything else is a
        // transport failure (error status) or a malformed response.
        let parsed = self.store.parse(body).ok().filter(|&response| {
            matches!(self.store.node(response), Node::Object { .. })
                && (self.store.get(response, "data").is_some()
                    || self.store.get(response, "errors").is_some())
        });
        let Some(response) = parsed else {
            let (message, code) = match status {
                Some(status) => (
                    format!("HTTP fetch failed from '{}': {status}", request.subgraph),
                    codes::SUBREQUEST_HTTP_ERROR,
                ),
                None => (
                    format!(
                        "HTTP fetch failed from '{}': the response is not a GraphQL response",
                        request.subgraph
                    ),
                    codes::SUBREQUEST_MALFORMED_RESPONSE,
                ),
            };
            return self.failed(&prepared, message, code);
        };
        let errors: Vec<NodeId> = self
            .store
            .get(response, "errors")
            .map(|e| self.store.items(e).to_vec())
            .unwrap_or_default();
        let data = self
            .store
            .get(response, "data")
            .filter(|&d| matches!(self.store.node(d), Node::Object { .. }));
        match &request.kind {
            RequestKind::Root(_) => {
                if !errors.is_empty() && data.is_none() {
                    // The subgraph nulled its whole response: its errors explain every
                    // root field it was asked for.
                    let paths = self.fetched_paths(&prepared);
                    self.explained.extend(paths);
                }
                for error in errors {
                    let error = self.store.to_value(error);
                    self.errors
                        .push(subgraph_error(error, &request.subgraph, |path| {
                            Some(path.to_vec())
                        }));
                }
                if let Some(data) = data {
                    self.store.link(self.root, data);
                }
            }
            RequestKind::Entities(fetches) => {
                for (fetch, collected) in fetches.iter().zip(&prepared.entity_targets) {
                    let results = match data.and_then(|d| self.store.get(d, &fetch.response_key)) {
                        None => continue,
                        Some(list) => match self.store.node(list) {
                            Node::Array { .. } => self.store.items(list).to_vec(),
                            Node::Null => continue,
                            _ => {
                                self.errors.push(malformed(
                                    &request.subgraph,
                                    "`_entities` is not a list",
                                ));
                                continue;
                            }
                        },
                    };
                    if results.len() != collected.representations.len() {
                        self.errors.push(malformed(
                            &request.subgraph,
                            &format!(
                                "`_entities` returned {} items for {} representations",
                                results.len(),
                                collected.representations.len()
                            ),
                        ));
                        continue;
                    }
                    self.link_entities(&results, collected);
                }
                // Client paths are worked out only when a subgraph reports errors.
                let mut paths: Vec<Option<TargetPaths>> = vec![None; fetches.len()];
                for error in errors {
                    let error = self.store.to_value(error);
                    let client_paths = self.entity_error_paths(
                        &error,
                        fetches,
                        &prepared.entity_targets,
                        &mut paths,
                    );
                    let error = subgraph_error(error, &request.subgraph, |_| None);
                    if client_paths.is_empty() {
                        self.errors.push(error);
                    } else {
                        // A de-duplicated entity stands at several client paths: one
                        // error each.
                        for path in client_paths {
                            self.errors.push(error.clone().with_path(path));
                        }
                    }
                }
            }
        }
    }

    fn failed(&mut self, prepared: &Prepared<'_>, message: String, code: &str) {
        self.errors.push(
            GraphQLError::new(message)
                .with_code(code)
                .with_extension("serviceName", prepared.request.subgraph.as_str()),
        );
        let paths = self.fetched_paths(prepared);
        self.explained.extend(paths);
    }

    /// Links each result to the objects it was fetched for.
    fn link_entities(&mut self, results: &[NodeId], collected: &Collected) {
        for &(object, index) in &collected.objects {
            if let Some(&entity) = results.get(index as usize)
                && matches!(self.store.node(entity), Node::Object { .. })
            {
                self.store.link(object, entity);
            }
        }
    }

    /// The response paths of a fetch's objects, paired with their representation index.
    fn target_paths(
        &self,
        fetch: &EntityFetch,
        collected: &Collected,
    ) -> Vec<(Vec<PathSegment>, u32)> {
        let index_of: std::collections::HashMap<NodeId, u32> =
            collected.objects.iter().copied().collect();
        let mut out = Vec::new();
        for target in &fetch.targets {
            walk_with_paths(
                self.store,
                self.root,
                &target.path,
                self.possible,
                &mut Vec::new(),
                &mut |path, object| {
                    if let Some(&index) = index_of.get(&object) {
                        out.push((path.to_vec(), index));
                    }
                },
            );
        }
        out
    }

    /// Where a request's data would have gone: its root fields, or its entities' objects.
    fn fetched_paths(&self, prepared: &Prepared<'_>) -> Vec<Vec<PathSegment>> {
        match &prepared.request.kind {
            RequestKind::Root(keys) => keys
                .iter()
                .map(|k| vec![PathSegment::Key(ByteString::from(k.as_str()))])
                .collect(),
            RequestKind::Entities(fetches) => fetches
                .iter()
                .zip(&prepared.entity_targets)
                .flat_map(|(fetch, collected)| self.target_paths(fetch, collected))
                .filter(|(_, index)| *index != NOT_SENT)
                .map(|(path, _)| path)
                .collect(),
        }
    }

    /// The client paths of `["_entities", i, …rest]` (or an alias): every object that
    /// representation `i` came from, followed by `rest`.
    fn entity_error_paths(
        &self,
        error: &Value,
        fetches: &[EntityFetch],
        collected: &[Collected],
        cache: &mut [Option<TargetPaths>],
    ) -> Vec<Vec<PathSegment>> {
        let Some(Value::Array(raw)) = error.get("path") else {
            return Vec::new();
        };
        let path: Vec<PathSegment> = raw.iter().filter_map(path_segment).collect();
        let (Some(PathSegment::Key(key)), Some(PathSegment::Index(index))) =
            (path.first(), path.get(1))
        else {
            return Vec::new();
        };
        let Some(position) = fetches.iter().position(|f| f.response_key == key.as_str()) else {
            return Vec::new();
        };
        let targets = cache[position]
            .get_or_insert_with(|| self.target_paths(&fetches[position], &collected[position]));
        targets
            .iter()
            .filter(|(_, rep)| *rep as usize == *index)
            .map(|(target, _)| {
                let mut client_path = target.clone();
                client_path.extend_from_slice(&path[2..]);
                client_path
            })
            .collect()
    }
}

fn malformed(subgraph: &str, what: &str) -> GraphQLError {
    GraphQLError::new(format!("HTTP fetch failed from '{subgraph}': {what}"))
        .with_code(codes::SUBREQUEST_MALFORMED_RESPONSE)
        .with_extension("serviceName", subgraph)
}

fn path_segment(value: &Value) -> Option<PathSegment> {
    match value {
        Value::String(k) => Some(PathSegment::Key(k.clone())),
        Value::Number(n) => n.as_u64().map(|i| PathSegment::Index(i as usize)),
        _ => None,
    }
}

fn subgraph_error(
    error: Value,
    subgraph: &str,
    rewrite: impl FnOnce(&[PathSegment]) -> Option<Vec<PathSegment>>,
) -> GraphQLError {
    let Value::Object(mut error) = error else {
        return GraphQLError::new(format!("subgraph '{subgraph}' returned a malformed error"))
            .with_extension("serviceName", subgraph);
    };
    let message = match error.remove("message") {
        Some(Value::String(s)) => s.as_str().to_owned(),
        _ => format!("subgraph '{subgraph}' returned an error without a message"),
    };
    let mut out = GraphQLError::new(message);
    if let Some(Value::Array(segments)) = error.remove("path") {
        let path: Vec<PathSegment> = segments.iter().filter_map(path_segment).collect();
        out.path = rewrite(&path);
    }
    if let Some(Value::Object(extensions)) = error.remove("extensions") {
        out.extensions = extensions;
    }
    if out.code().is_none() {
        out.extensions.insert(
            "code",
            Value::String(codes::DOWNSTREAM_SERVICE_ERROR.into()),
        );
    }
    // Locations refer to the subgraph operation, which the client never saw.
    out.extensions
        .insert("serviceName", Value::String(subgraph.into()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(store: &mut Store, text: &str) -> NodeId {
        store.parse(Bytes::from(text.to_string())).unwrap()
    }

    fn text(store: &Store, node: NodeId) -> String {
        let mut out = Vec::new();
        store.write(node, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn walks_lists_and_type_conditions() {
        let mut store = Store::new();
        let data = parsed(
            &mut store,
            r#"{"items":[{"__typename":"A","id":1},{"__typename":"B","id":2},[{"__typename":"A","id":3}]]}"#,
        );
        let mut possible = PossibleTypes::new();
        possible.insert(
            apollo_compiler::name!("I"),
            vec![apollo_compiler::name!("A")],
        );
        let path = vec![
            PathElement::Key(apollo_compiler::name!("items")),
            PathElement::TypeCondition(apollo_compiler::name!("I")),
        ];
        let mut found = Vec::new();
        walk_with_paths(
            &store,
            data,
            &path,
            &possible,
            &mut Vec::new(),
            &mut |p, o| found.push((p.to_vec(), o)),
        );
        let ids: Vec<String> = found
            .iter()
            .map(|(_, o)| text(&store, store.get(*o, "id").unwrap()))
            .collect();
        assert_eq!(ids, ["1", "3"]);
        assert_eq!(
            found[1].0,
            vec![
                PathSegment::Key("items".into()),
                PathSegment::Index(2),
                PathSegment::Index(0)
            ]
        );
    }

    #[test]
    fn representations_include_nested_fields_and_skip_incomplete_objects() {
        let field = |name: &str, children| RepField {
            name: apollo_compiler::Name::new(name).unwrap(),
            source: apollo_compiler::Name::new(name).unwrap(),
            children,
        };
        let mut reps = indexmap::IndexMap::new();
        reps.insert(
            apollo_compiler::name!("Product"),
            crate::plan::RepSpec {
                typename: None,
                fields: vec![
                    field("upc", vec![]),
                    field("dims", vec![field("w", vec![])]),
                ],
            },
        );
        let target = EntityTarget {
            path: vec![],
            representations: reps,
        };
        let possible = PossibleTypes::new();
        let is_abstract = |_: &str| false;
        let mut store = Store::new();
        let object = parsed(
            &mut store,
            r#"{"__typename":"Product","upc":"1","name":"x","dims":{"w":3,"h":4}}"#,
        );
        let rep = representation(&store, object, &target, &is_abstract, &possible).unwrap();
        assert_eq!(
            std::str::from_utf8(&rep).unwrap(),
            r#"{"__typename":"Product","upc":"1","dims":{"w":3}}"#
        );
        let missing = parsed(&mut store, r#"{"__typename":"Product","name":"x"}"#);
        assert!(representation(&store, missing, &target, &is_abstract, &possible).is_none());
        let other = parsed(&mut store, r#"{"__typename":"User","upc":"1"}"#);
        assert!(representation(&store, other, &target, &is_abstract, &possible).is_none());
    }

    #[test]
    fn entity_results_link_into_every_target_in_walk_order() {
        let mut store = Store::new();
        let root = store.empty_object();
        let data = parsed(
            &mut store,
            r#"{"a":{"__typename":"P","id":1},"b":[{"__typename":"P","id":1},{"__typename":"P","id":2}]}"#,
        );
        store.link(root, data);
        let results = vec![
            parsed(&mut store, r#"{"name":"one"}"#),
            parsed(&mut store, r#"{"name":"two"}"#),
        ];
        let a = store.get(data, "a").unwrap();
        let b = store.items(store.get(data, "b").unwrap()).to_vec();
        let collected = Collected {
            representations: Vec::new(),
            objects: vec![(a, 0), (b[0], 0), (b[1], 1)],
        };
        let possible = PossibleTypes::new();
        let mut errors = Vec::new();
        let mut explained = Vec::new();
        let mut merge = Merge {
            store: &mut store,
            root,
            errors: &mut errors,
            explained: &mut explained,
            possible: &possible,
        };
        merge.link_entities(&results, &collected);
        assert_eq!(
            text(&store, root),
            r#"{"a":{"__typename":"P","id":1,"name":"one"},"b":[{"__typename":"P","id":1,"name":"one"},{"__typename":"P","id":2,"name":"two"}]}"#
        );
    }
}
