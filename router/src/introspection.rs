//! `__schema` / `__type`, answered by the router from the API schema.

use crate::response::{GraphQLError, codes};
use apollo_compiler::collections::HashMap;
use apollo_compiler::executable::{ExecutableDocument, Operation};
use apollo_compiler::schema::Implementers;
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Schema};
use serde_json_bytes::{ByteString, Map, Value};

/// Runs the introspection part of `operation`; returns the root fields it produced.
pub fn execute(
    schema: &Valid<Schema>,
    implementers: &HashMap<Name, Implementers>,
    document: &Valid<ExecutableDocument>,
    operation: &Operation,
    variables: &Valid<Map<ByteString, Value>>,
) -> Result<Map<ByteString, Value>, Box<GraphQLError>> {
    let to_error = |e: apollo_compiler::request::RequestError| {
        Box::new(GraphQLError::new(e.message().to_string()).with_code(codes::VALIDATION_ERROR))
    };
    apollo_compiler::introspection::check_max_depth(document, operation).map_err(to_error)?;
    let response = apollo_compiler::introspection::partial_execute(
        schema,
        implementers,
        document,
        operation,
        variables,
    )
    .map_err(to_error)?;
    if let Some(error) = response.errors.into_iter().next() {
        return Err(Box::new(GraphQLError::new(error.message)));
    }
    Ok(response.data.unwrap_or_default())
}
