//! GraphQL errors and the final response body.
//!
//! The body is written by hand into one buffer: `data` comes pre-serialised from the
//! projection stage, so nothing is re-encoded here.

use serde::Serialize;
use serde_json_bytes::{ByteString, Map, Value};

/// One segment of a response path: an object key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    Key(ByteString),
    Index(usize),
}

impl Serialize for PathSegment {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PathSegment::Key(k) => s.serialize_str(k.as_str()),
            PathSegment::Index(i) => s.serialize_u64(*i as u64),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// A GraphQL error as it appears in a response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraphQLError {
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<PathSegment>>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub extensions: Map<ByteString, Value>,
}

impl GraphQLError {
    pub fn new(message: impl Into<String>) -> Self {
        GraphQLError {
            message: message.into(),
            locations: Vec::new(),
            path: None,
            extensions: Map::new(),
        }
    }

    /// Sets `extensions.code`.
    pub fn with_code(mut self, code: &str) -> Self {
        self.extensions.insert("code", Value::String(code.into()));
        self
    }

    pub fn with_extension(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key, value.into());
        self
    }

    pub fn with_path(mut self, path: Vec<PathSegment>) -> Self {
        self.path = Some(path);
        self
    }

    pub fn code(&self) -> Option<&str> {
        self.extensions.get("code").and_then(Value::as_str)
    }
}

/// Machine-readable error codes, as Apollo Router uses them where one exists.
pub mod codes {
    pub const PARSING_ERROR: &str = "GRAPHQL_PARSE_FAILED";
    pub const VALIDATION_ERROR: &str = "GRAPHQL_VALIDATION_FAILED";
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    pub const VARIABLES_INVALID: &str = "BAD_USER_INPUT";
    pub const OPERATION_NOT_FOUND: &str = "GRAPHQL_UNKNOWN_OPERATION_NAME";
    pub const QUERY_PLANNING_FAILED: &str = "QUERY_PLANNING_FAILED";
    pub const MAX_DEPTH_LIMIT: &str = "MAX_DEPTH_LIMIT";
    pub const SUBREQUEST_HTTP_ERROR: &str = "SUBREQUEST_HTTP_ERROR";
    /// A subgraph reported an error without a code of its own.
    pub const DOWNSTREAM_SERVICE_ERROR: &str = "DOWNSTREAM_SERVICE_ERROR";
    pub const SUBREQUEST_TIMEOUT: &str = "GATEWAY_TIMEOUT";
    pub const SUBREQUEST_MALFORMED_RESPONSE: &str = "SUBREQUEST_MALFORMED_RESPONSE";
    pub const METHOD_NOT_ALLOWED_FOR_MUTATION: &str = "MUTATION_NOT_ALLOWED_WITH_GET";
    /// A missing, invalid or expired credential (HTTP 401).
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
}

/// Starts a response body whose `data` will be written next, in place.
pub fn begin_data(capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity + 64);
    out.extend_from_slice(b"{\"data\":");
    out
}

/// Finishes a body [`begin_data`] started: errors, extensions, the closing brace.
pub fn finish_body(
    mut out: Vec<u8>,
    errors: &[GraphQLError],
    extensions: Option<&Map<ByteString, Value>>,
) -> Vec<u8> {
    if !errors.is_empty() {
        out.extend_from_slice(b",\"errors\":");
        // Serialising plain structs into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, errors);
    }
    if let Some(ext) = extensions.filter(|e| !e.is_empty()) {
        out.extend_from_slice(b",\"extensions\":");
        let _ = serde_json::to_writer(&mut out, ext);
    }
    out.push(b'}');
    out
}

/// Writes `{"data":…,"errors":[…],"extensions":{…}}`.
///
/// `data` is `None` for request errors (the key is absent), `Some(b"null")` when
/// null propagation reached the root.
pub fn write_body(
    data: Option<&[u8]>,
    errors: &[GraphQLError],
    extensions: Option<&Map<ByteString, Value>>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.map_or(0, <[u8]>::len) + 64 + errors.len() * 128);
    out.push(b'{');
    let mut first = true;
    if let Some(data) = data {
        out.extend_from_slice(b"\"data\":");
        out.extend_from_slice(data);
        first = false;
    }
    if !errors.is_empty() {
        if !first {
            out.push(b',');
        }
        out.extend_from_slice(b"\"errors\":");
        // Serialising plain structs into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, errors);
        first = false;
    }
    if let Some(ext) = extensions.filter(|e| !e.is_empty()) {
        if !first {
            out.push(b',');
        }
        out.extend_from_slice(b"\"extensions\":");
        let _ = serde_json::to_writer(&mut out, ext);
    }
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_shapes() {
        let err = GraphQLError::new("boom")
            .with_code("X")
            .with_path(vec![PathSegment::Key("a".into()), PathSegment::Index(2)]);
        let body = write_body(Some(b"{\"a\":null}"), &[err], None);
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"data":{"a":null},"errors":[{"message":"boom","path":["a",2],"extensions":{"code":"X"}}]}"#
        );
        let body = write_body(None, &[GraphQLError::new("bad")], None);
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"errors":[{"message":"bad"}]}"#
        );
        let body = write_body(Some(b"null"), &[], None);
        assert_eq!(std::str::from_utf8(&body).unwrap(), r#"{"data":null}"#);
    }
}
