//! GraphQL errors every subgraph reports the same way.

use async_graphql::ErrorExtensions;

/// A client mistake in one input field: `extensions.code = BAD_USER_INPUT` and
/// `extensions.field` naming the field (for example `input.email`).
pub fn bad_input(field: &str, message: impl std::fmt::Display) -> async_graphql::Error {
    async_graphql::Error::new(format!("{field}: {message}")).extend_with(|_, ext| {
        ext.set("code", "BAD_USER_INPUT");
        ext.set("field", field);
    })
}

/// Something requested does not exist.
pub fn not_found(what: impl std::fmt::Display) -> async_graphql::Error {
    async_graphql::Error::new(format!("{what} not found"))
        .extend_with(|_, ext| ext.set("code", "NOT_FOUND"))
}

/// A failure that is not the client's fault. Logged with its cause; the client sees a
/// generic message so internals (SQL, hostnames) do not leak.
pub fn internal(service: &str, error: impl std::fmt::Display) -> async_graphql::Error {
    tracing::error!(service, %error, "request failed");
    async_graphql::Error::new("internal error; see the service logs")
        .extend_with(|_, ext| ext.set("code", "INTERNAL_SERVER_ERROR"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_names_the_field() {
        let error = bad_input("input.email", "must contain @");
        assert_eq!(error.message, "input.email: must contain @");
        let ext = error.extensions.unwrap();
        assert_eq!(
            ext.get("field"),
            Some(&async_graphql::Value::from("input.email"))
        );
        assert_eq!(
            ext.get("code"),
            Some(&async_graphql::Value::from("BAD_USER_INPUT"))
        );
    }

    #[test]
    fn internal_hides_the_cause() {
        let error = internal("users", "connection refused to 10.0.0.1");
        assert!(!error.message.contains("10.0.0.1"));
    }
}
