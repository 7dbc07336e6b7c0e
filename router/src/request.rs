//! The GraphQL request as it arrives over HTTP (POST JSON body or GET query string).
//!
//! Only the envelope is read here; the document is parsed by the next stage.

use bytes::Bytes;
use serde_json_bytes::{ByteString, Map, Value};

/// A GraphQL request: the fields of the GraphQL-over-HTTP envelope.
#[derive(Debug, Clone, Default)]
pub struct GraphQLRequest {
    pub query: Option<String>,
    pub operation_name: Option<String>,
    /// A persisted operation's id (`documentId`, the GraphQL-over-HTTP spelling).
    pub document_id: Option<String>,
    pub variables: Map<ByteString, Value>,
    pub extensions: Map<ByteString, Value>,
}

/// Why a request envelope is unusable. Always an HTTP 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("request body must be a JSON object")]
    NotAnObject,
    #[error("`{field}` must be {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("`{field}` query parameter is not valid JSON: {message}")]
    InvalidParameter {
        field: &'static str,
        message: String,
    },
    #[error("batched requests (a JSON array) are not supported")]
    Batch,
}

impl GraphQLRequest {
    /// Reads a POST body (`application/json`).
    pub fn from_json(body: Bytes) -> Result<Self, RequestError> {
        let value =
            Value::from_bytes(body).map_err(|e| RequestError::InvalidJson(e.to_string()))?;
        let mut object = match value {
            Value::Object(object) => object,
            Value::Array(_) => return Err(RequestError::Batch),
            _ => return Err(RequestError::NotAnObject),
        };
        Ok(GraphQLRequest {
            query: take_string(&mut object, "query")?,
            operation_name: take_string(&mut object, "operationName")?,
            document_id: take_string(&mut object, "documentId")?,
            variables: take_object(&mut object, "variables")?,
            extensions: take_object(&mut object, "extensions")?,
        })
    }

    /// Reads a GET query string: `query`, `operationName`, and JSON-encoded
    /// `variables` / `extensions`.
    pub fn from_query_string(raw: &str) -> Result<Self, RequestError> {
        let mut request = GraphQLRequest::default();
        for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            match key.as_ref() {
                "query" => request.query = Some(value.into_owned()),
                "operationName" if !value.is_empty() => {
                    request.operation_name = Some(value.into_owned())
                }
                "documentId" if !value.is_empty() => request.document_id = Some(value.into_owned()),
                "variables" => request.variables = parse_object_param("variables", &value)?,
                "extensions" => request.extensions = parse_object_param("extensions", &value)?,
                _ => {}
            }
        }
        Ok(request)
    }
}

fn take_string(
    object: &mut Map<ByteString, Value>,
    field: &'static str,
) -> Result<Option<String>, RequestError> {
    match object.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str().to_owned())),
        Some(_) => Err(RequestError::WrongType {
            field,
            expected: "a string",
        }),
    }
}

fn take_object(
    object: &mut Map<ByteString, Value>,
    field: &'static str,
) -> Result<Map<ByteString, Value>, RequestError> {
    match object.remove(field) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(RequestError::WrongType {
            field,
            expected: "an object",
        }),
    }
}

fn parse_object_param(
    field: &'static str,
    raw: &str,
) -> Result<Map<ByteString, Value>, RequestError> {
    if raw.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err(RequestError::WrongType {
            field,
            expected: "a JSON object",
        }),
        Err(e) => Err(RequestError::InvalidParameter {
            field,
            message: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_body() {
        let req = GraphQLRequest::from_json(Bytes::from_static(
            br#"{"query":"{ a }","operationName":null,"variables":{"x":1},"extra":true}"#,
        ))
        .unwrap();
        assert_eq!(req.query.as_deref(), Some("{ a }"));
        assert_eq!(req.operation_name, None);
        assert_eq!(req.variables.get("x"), Some(&Value::from(1)));
    }

    #[test]
    fn post_body_errors() {
        let bad = |b: &'static [u8]| GraphQLRequest::from_json(Bytes::from_static(b)).unwrap_err();
        assert!(matches!(bad(b"{"), RequestError::InvalidJson(_)));
        assert_eq!(bad(b"[]"), RequestError::Batch);
        assert_eq!(bad(b"3"), RequestError::NotAnObject);
        assert_eq!(
            bad(br#"{"query":1}"#),
            RequestError::WrongType {
                field: "query",
                expected: "a string"
            }
        );
        assert_eq!(
            bad(br#"{"query":"{a}","variables":[1]}"#),
            RequestError::WrongType {
                field: "variables",
                expected: "an object"
            }
        );
    }

    #[test]
    fn get_query_string() {
        let req = GraphQLRequest::from_query_string(
            "query=query+Q(%24id%3A+ID!)+%7B+a+%7D&operationName=Q&variables=%7B%22id%22%3A%221%22%7D",
        )
        .unwrap();
        assert_eq!(req.query.as_deref(), Some("query Q($id: ID!) { a }"));
        assert_eq!(req.operation_name.as_deref(), Some("Q"));
        assert_eq!(req.variables.get("id"), Some(&Value::from("1")));
        let err = GraphQLRequest::from_query_string("query=%7Ba%7D&variables=nope").unwrap_err();
        assert!(matches!(
            err,
            RequestError::InvalidParameter {
                field: "variables",
                ..
            }
        ));
    }
}
