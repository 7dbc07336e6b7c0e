//! Execution: runs a plan's waves against the subgraphs and merges their responses
//! into one data tree, collecting errors with client paths.
//!
//! Bodies are assembled from the plan's pre-serialised prefix plus the variables and
//! representations, so the operation text is never re-encoded per request. Responses
//! are parsed into `serde_json_bytes` values whose strings share the response buffer.

pub mod client;

use crate::plan::{
    EntityFetch, EntityTarget, PathElement, QueryPlan, RepField, RequestKind, SubgraphRequest,
};
use crate::response::{GraphQLError, PathSegment, codes};
use bytes::Bytes;
use client::{FetchError, SubgraphClient};
use http::Uri;
use serde_json_bytes::{ByteString, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Where and how to reach one subgraph.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: Uri,
    pub timeout: Duration,
}

/// What a plan needs to run.
pub struct Executor<'a> {
    pub client: &'a SubgraphClient,
    /// Indexed by `GraphId`.
    pub endpoints: &'a [Endpoint],
    /// Possible runtime types of abstract types, to follow type conditions in paths.
    pub possible_types: &'a crate::projection::PossibleTypes,
    /// Shares identical concurrent fetches (not for mutations); `None` when off.
    pub dedup: Option<&'a crate::dedup::FetchDedup>,
}

/// The merged result of running a plan.
pub struct Execution {
    pub data: Value,
    pub errors: Vec<GraphQLError>,
    /// Places whose missing data an error already explains: the root fields of a
    /// fetch that failed or came back null, the objects of a failed entity fetch.
    pub explained: Vec<Vec<PathSegment>>,
}

impl Executor<'_> {
    pub async fn run(&self, plan: &QueryPlan, variables: &Map<ByteString, Value>) -> Execution {
        let mut data = Value::Object(Map::new());
        let mut errors = Vec::new();
        let mut explained = Vec::new();
        for block in &plan.blocks {
            for wave in &block.waves {
                let prepared: Vec<Prepared<'_>> = wave
                    .requests
                    .iter()
                    .filter_map(|request| self.prepare(request, &data, variables))
                    .collect();
                let responses = futures::future::join_all(
                    prepared
                        .iter()
                        .map(|p| self.send(p.request, p.body.clone())),
                )
                .await;
                for (prepared, response) in prepared.into_iter().zip(responses) {
                    merge_response(
                        &mut data,
                        &mut errors,
                        &mut explained,
                        prepared,
                        response,
                        self.possible_types,
                    );
                }
            }
        }
        Execution {
            data,
            errors,
            explained,
        }
    }

    /// Builds the body; `None` when an entity request has no representations at all.
    fn prepare<'p>(
        &self,
        request: &'p SubgraphRequest,
        data: &Value,
        variables: &Map<ByteString, Value>,
    ) -> Option<Prepared<'p>> {
        let mut body = Vec::with_capacity(request.body_prefix.len() + 256);
        body.extend_from_slice(&request.body_prefix);
        let mut first = true;
        let mut entity_targets = Vec::new();
        if let RequestKind::Entities(fetches) = &request.kind {
            let mut any = false;
            for fetch in fetches {
                let collected = self.collect_representations(fetch, data);
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

    fn collect_representations(&self, fetch: &EntityFetch, data: &Value) -> Collected {
        let mut collected = Collected::default();
        let mut seen: HashMap<Bytes, usize> = HashMap::new();
        for target in &fetch.targets {
            let mut objects = Vec::new();
            let mut path = Vec::new();
            collect_objects(
                data,
                &target.path,
                self.possible_types,
                &mut path,
                &mut objects,
            );
            for (path, object) in objects {
                let Some(rep) = representation(object, target, self.possible_types) else {
                    continue;
                };
                let index = *seen.entry(rep.clone()).or_insert_with(|| {
                    collected.representations.push(rep);
                    collected.representations.len() - 1
                });
                collected.targets.push((path, index));
            }
        }
        collected
    }

    async fn send(&self, request: &SubgraphRequest, body: Bytes) -> Result<Value, FetchFailure> {
        let endpoint = &self.endpoints[request.graph.index()];
        let response = match self.dedup.filter(|_| !request.is_mutation) {
            Some(dedup) => dedup
                .post_json(self.client, &endpoint.url, body, endpoint.timeout)
                .await
                .map_err(FetchFailure::Transport)?,
            None => self
                .client
                .post_json(&endpoint.url, body, endpoint.timeout)
                .await
                .map_err(|e| FetchFailure::Transport(Arc::new(e)))?,
        };
        match Value::from_bytes(response.body) {
            Ok(value @ Value::Object(_)) => {
                // A GraphQL body explains itself even on an error status; a JSON object
                // without `data` or `errors` is not a GraphQL response.
                let graphql = value.get("data").is_some() || value.get("errors").is_some();
                if graphql {
                    Ok(value)
                } else if response.status.is_success() {
                    Err(FetchFailure::Malformed(
                        "the response has neither `data` nor `errors`".into(),
                    ))
                } else {
                    Err(FetchFailure::Transport(Arc::new(FetchError::Status(
                        response.status,
                    ))))
                }
            }
            _ if !response.status.is_success() => Err(FetchFailure::Transport(Arc::new(
                FetchError::Status(response.status),
            ))),
            _ => Err(FetchFailure::Malformed(
                "the response is not a JSON object".into(),
            )),
        }
    }
}

struct Prepared<'p> {
    request: &'p SubgraphRequest,
    body: Bytes,
    /// Per entity fetch, in order: the concrete paths and their representation index.
    entity_targets: Vec<Collected>,
}

#[derive(Default)]
struct Collected {
    /// De-duplicated representations as JSON text.
    representations: Vec<Bytes>,
    targets: Vec<(Vec<PathSegment>, usize)>,
}

enum FetchFailure {
    /// Shared by every request a de-duplicated fetch served.
    Transport(Arc<FetchError>),
    Malformed(String),
}

/// Finds the objects at `path`, flattening lists and filtering by type conditions.
fn collect_objects<'d>(
    value: &'d Value,
    path: &[PathElement],
    possible: &crate::projection::PossibleTypes,
    current: &mut Vec<PathSegment>,
    out: &mut Vec<(Vec<PathSegment>, &'d Map<ByteString, Value>)>,
) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                current.push(PathSegment::Index(i));
                collect_objects(item, path, possible, current, out);
                current.pop();
            }
        }
        Value::Object(object) => match path.split_first() {
            None => out.push((current.clone(), object)),
            Some((PathElement::Key(key), rest)) => {
                if let Some(child) = object.get(key.as_str()) {
                    current.push(PathSegment::Key(ByteString::from(key.as_str())));
                    collect_objects(child, rest, possible, current, out);
                    current.pop();
                }
            }
            Some((PathElement::TypeCondition(condition), rest)) => {
                let runtime = object.get("__typename").and_then(Value::as_str);
                let applies = runtime.is_some_and(|t| {
                    t == condition.as_str()
                        || possible
                            .get(condition)
                            .is_some_and(|types| types.iter().any(|p| p == t))
                });
                if applies {
                    collect_objects(value, rest, possible, current, out);
                }
            }
        },
        _ => {}
    }
}

/// `{"__typename":…, key and required fields…}` for `object`, or `None` when the
/// object's type is not fetched here or a needed field is missing.
fn representation(
    object: &Map<ByteString, Value>,
    target: &EntityTarget,
    possible: &crate::projection::PossibleTypes,
) -> Option<Bytes> {
    let typename = object.get("__typename").and_then(Value::as_str)?;
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
    write_rep_fields(object, &spec.fields, &mut out)?;
    out.push(b'}');
    Some(Bytes::from(out))
}

fn write_rep_fields(
    object: &Map<ByteString, Value>,
    fields: &[RepField],
    out: &mut Vec<u8>,
) -> Option<()> {
    for field in fields {
        let value = object.get(field.source.as_str())?;
        out.push(b',');
        let _ = serde_json::to_writer(&mut *out, field.name.as_str());
        out.push(b':');
        write_rep_value(value, &field.children, out)?;
    }
    Some(())
}

fn write_rep_value(value: &Value, children: &[RepField], out: &mut Vec<u8>) -> Option<()> {
    if children.is_empty() {
        let _ = serde_json::to_writer(&mut *out, value);
        return Some(());
    }
    match value {
        Value::Object(object) => {
            out.push(b'{');
            let start = out.len();
            write_rep_fields(object, children, out)?;
            // write_rep_fields prefixes every field with a comma.
            if out.len() > start {
                out.remove(start);
            }
            out.push(b'}');
            Some(())
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_rep_value(item, children, out)?;
            }
            out.push(b']');
            Some(())
        }
        Value::Null => {
            out.extend_from_slice(b"null");
            Some(())
        }
        _ => None,
    }
}

fn merge_response(
    data: &mut Value,
    errors: &mut Vec<GraphQLError>,
    explained: &mut Vec<Vec<PathSegment>>,
    prepared: Prepared<'_>,
    response: Result<Value, FetchFailure>,
    possible: &crate::projection::PossibleTypes,
) {
    let request = prepared.request;
    let mut body = match response {
        Ok(body) => body,
        Err(failure) => {
            let (message, code) = match failure {
                FetchFailure::Transport(e) => match &*e {
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
                },
                FetchFailure::Malformed(e) => (
                    format!("HTTP fetch failed from '{}': {e}", request.subgraph),
                    codes::SUBREQUEST_MALFORMED_RESPONSE,
                ),
            };
            errors.push(
                GraphQLError::new(message)
                    .with_code(code)
                    .with_extension("serviceName", request.subgraph.as_str()),
            );
            explained.extend(fetched_paths(request, &prepared.entity_targets));
            return;
        }
    };
    let subgraph_errors = match body.as_object_mut().and_then(|b| b.remove("errors")) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let response_data = body.as_object_mut().and_then(|b| b.remove("data"));
    match &request.kind {
        RequestKind::Root(_) => {
            if !subgraph_errors.is_empty() && !matches!(response_data, Some(Value::Object(_))) {
                // The subgraph nulled its whole response: its errors explain every root
                // field it was asked for.
                explained.extend(fetched_paths(request, &prepared.entity_targets));
            }
            for error in subgraph_errors {
                errors.push(subgraph_error(error, &request.subgraph, |path| {
                    Some(path.to_vec())
                }));
            }
            if let Some(response_data @ Value::Object(_)) = response_data {
                deep_merge(data, response_data);
            }
        }
        RequestKind::Entities(fetches) => {
            let mut response_data = match response_data {
                Some(Value::Object(map)) => map,
                _ => Map::new(),
            };
            for (fetch, collected) in fetches.iter().zip(&prepared.entity_targets) {
                let results = match response_data.remove(fetch.response_key.as_str()) {
                    Some(Value::Array(items)) => items,
                    Some(Value::Null) | None => Vec::new(),
                    Some(_) => {
                        errors.push(malformed(&request.subgraph, "`_entities` is not a list"));
                        continue;
                    }
                };
                if !results.is_empty() && results.len() != collected.representations.len() {
                    errors.push(malformed(
                        &request.subgraph,
                        &format!(
                            "`_entities` returned {} items for {} representations",
                            results.len(),
                            collected.representations.len()
                        ),
                    ));
                    continue;
                }
                merge_entities(data, results, &collected.targets, possible);
            }
            for error in subgraph_errors {
                let paths = entity_error_paths(&error, fetches, &prepared.entity_targets);
                let error = subgraph_error(error, &request.subgraph, |_| None);
                if paths.is_empty() {
                    errors.push(error);
                } else {
                    // A de-duplicated entity stands at several client paths: one error each.
                    for path in paths {
                        errors.push(error.clone().with_path(path));
                    }
                }
            }
        }
    }
}

/// Where a request's data would have gone: its root fields, or its entities' objects.
fn fetched_paths(request: &SubgraphRequest, entity_targets: &[Collected]) -> Vec<Vec<PathSegment>> {
    match &request.kind {
        RequestKind::Root(keys) => keys
            .iter()
            .map(|k| vec![PathSegment::Key(ByteString::from(k.as_str()))])
            .collect(),
        RequestKind::Entities(_) => entity_targets
            .iter()
            .flat_map(|c| c.targets.iter().map(|(path, _)| path.clone()))
            .collect(),
    }
}

fn malformed(subgraph: &str, what: &str) -> GraphQLError {
    GraphQLError::new(format!("HTTP fetch failed from '{subgraph}': {what}"))
        .with_code(codes::SUBREQUEST_MALFORMED_RESPONSE)
        .with_extension("serviceName", subgraph)
}

/// The client paths of `["_entities", i, …rest]` (or an alias): every object that
/// representation `i` came from, followed by `rest`.
fn entity_error_paths(
    error: &Value,
    fetches: &[EntityFetch],
    collected: &[Collected],
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
    collected[position]
        .targets
        .iter()
        .filter(|(_, rep)| rep == index)
        .map(|(target, _)| {
            let mut client_path = target.clone();
            client_path.extend_from_slice(&path[2..]);
            client_path
        })
        .collect()
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

/// Merges `_entities` results into the objects they were fetched for.
///
/// `__typename`: a concrete type already there wins over what the entity says (an
/// `@interfaceObject` subgraph answers with the interface's name); an interface name
/// there (the object came from such a subgraph) gives way to the concrete type.
fn merge_entities(
    data: &mut Value,
    results: Vec<Value>,
    targets: &[(Vec<PathSegment>, usize)],
    possible: &crate::projection::PossibleTypes,
) {
    if results.is_empty() {
        return;
    }
    let mut remaining = vec![0usize; results.len()];
    for (_, index) in targets {
        remaining[*index] += 1;
    }
    let mut results: Vec<Option<Value>> = results.into_iter().map(Some).collect();
    for (path, index) in targets {
        remaining[*index] -= 1;
        // The last user of a result takes it; earlier ones get a copy.
        let entity = if remaining[*index] == 0 {
            results[*index].take()
        } else {
            results[*index].clone()
        };
        let Some(mut entity) = entity else { continue };
        if let Some(target) = navigate_mut(data, path) {
            let current = target.get("__typename").and_then(Value::as_str);
            let incoming = entity.get("__typename").and_then(Value::as_str);
            if let (Some(current), Some(incoming)) = (current, incoming) {
                let keep = !possible.contains_key(current) || possible.contains_key(incoming);
                if keep && let Some(object) = entity.as_object_mut() {
                    object.remove("__typename");
                }
            }
            deep_merge(target, entity);
        }
    }
}

fn navigate_mut<'d>(mut value: &'d mut Value, path: &[PathSegment]) -> Option<&'d mut Value> {
    for segment in path {
        value = match segment {
            PathSegment::Key(key) => value.as_object_mut()?.get_mut(key.as_str())?,
            PathSegment::Index(i) => value.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(value)
}

/// Merges `source` into `target`: objects field by field, equal-length lists item by
/// item. A null never overwrites data another fetch already produced.
fn deep_merge(target: &mut Value, source: Value) {
    match (target, source) {
        (Value::Object(target), Value::Object(source)) => {
            for (key, value) in source {
                match target.get_mut(key.as_str()) {
                    Some(existing) => deep_merge(existing, value),
                    None => {
                        target.insert(key, value);
                    }
                }
            }
        }
        (Value::Array(target), Value::Array(source)) if target.len() == source.len() => {
            for (t, s) in target.iter_mut().zip(source) {
                deep_merge(t, s);
            }
        }
        (_, Value::Null) => {}
        (target, source) => *target = source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn deep_merge_objects_and_lists() {
        let mut target = json(r#"{"a":[{"id":1},{"id":2}],"b":{"x":1}}"#);
        deep_merge(
            &mut target,
            json(r#"{"a":[{"n":"one"},{"n":"two"}],"b":{"y":2},"c":null}"#),
        );
        assert_eq!(
            target,
            json(r#"{"a":[{"id":1,"n":"one"},{"id":2,"n":"two"}],"b":{"x":1,"y":2},"c":null}"#)
        );
        let mut target = json(r#"{"a":1}"#);
        deep_merge(&mut target, json(r#"{"a":null}"#));
        assert_eq!(target, json(r#"{"a":1}"#));
    }

    #[test]
    fn collects_objects_through_lists_and_type_conditions() {
        let data = json(
            r#"{"items":[{"__typename":"A","id":1},{"__typename":"B","id":2},[{"__typename":"A","id":3}]]}"#,
        );
        let mut possible = crate::projection::PossibleTypes::new();
        possible.insert(
            apollo_compiler::name!("I"),
            vec![apollo_compiler::name!("A")],
        );
        let path = vec![
            PathElement::Key(apollo_compiler::name!("items")),
            PathElement::TypeCondition(apollo_compiler::name!("I")),
        ];
        let mut out = Vec::new();
        collect_objects(&data, &path, &possible, &mut Vec::new(), &mut out);
        let ids: Vec<_> = out.iter().map(|(_, o)| o.get("id").cloned()).collect();
        assert_eq!(ids, vec![Some(json("1")), Some(json("3"))]);
        assert_eq!(
            out[1].0,
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
        let object = json(r#"{"__typename":"Product","upc":"1","name":"x","dims":{"w":3,"h":4}}"#);
        let possible = crate::projection::PossibleTypes::new();
        let rep = representation(object.as_object().unwrap(), &target, &possible).unwrap();
        assert_eq!(
            std::str::from_utf8(&rep).unwrap(),
            r#"{"__typename":"Product","upc":"1","dims":{"w":3}}"#
        );
        let missing = json(r#"{"__typename":"Product","name":"x"}"#);
        assert!(representation(missing.as_object().unwrap(), &target, &possible).is_none());
        let other = json(r#"{"__typename":"User","upc":"1"}"#);
        assert!(representation(other.as_object().unwrap(), &target, &possible).is_none());
    }

    #[test]
    fn entity_results_merge_into_every_target() {
        let mut data = json(r#"{"a":{"__typename":"P","id":1},"b":[{"__typename":"P","id":1}]}"#);
        let targets = vec![
            (vec![PathSegment::Key("a".into())], 0),
            (vec![PathSegment::Key("b".into()), PathSegment::Index(0)], 0),
        ];
        merge_entities(
            &mut data,
            vec![json(r#"{"name":"n"}"#)],
            &targets,
            &crate::projection::PossibleTypes::new(),
        );
        assert_eq!(
            data,
            json(
                r#"{"a":{"__typename":"P","id":1,"name":"n"},"b":[{"__typename":"P","id":1,"name":"n"}]}"#
            )
        );
    }
}
