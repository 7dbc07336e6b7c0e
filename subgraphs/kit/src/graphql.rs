//! What every subgraph's async-graphql schema needs from the kit: the federation schema
//! built from its root types, its SDL, its HTTP app, and small resolver helpers.

use crate::errors::bad_input;
use crate::service::Deps;
use async_graphql::{Context, EmptySubscription, ObjectType, Schema, SchemaBuilder};

fn builder<Q, M>() -> SchemaBuilder<Q, M, EmptySubscription>
where
    Q: ObjectType + Default + 'static,
    M: ObjectType + Default + 'static,
{
    Schema::build(Q::default(), M::default(), EmptySubscription).enable_federation()
}

/// The federation schema over connected backends (resolvers read `Deps` from context).
pub fn graphql_schema<Q, M>(deps: Deps) -> Schema<Q, M, EmptySubscription>
where
    Q: ObjectType + Default + 'static,
    M: ObjectType + Default + 'static,
{
    builder::<Q, M>().data(deps).finish()
}

/// The federation SDL (`_service { sdl }`), without connecting anything.
pub fn graphql_sdl<Q, M>() -> String
where
    Q: ObjectType + Default + 'static,
    M: ObjectType + Default + 'static,
{
    builder::<Q, M>()
        .finish()
        .sdl_with_options(async_graphql::SDLExportOptions::new().federation())
}

/// The HTTP app serving the schema (see [`crate::server::subgraph_app`]).
pub fn graphql_app<Q, M>(deps: Deps) -> axum::Router
where
    Q: ObjectType + Default + 'static,
    M: ObjectType + Default + 'static,
{
    crate::server::subgraph_app(graphql_schema::<Q, M>(deps.clone()), deps)
}

/// The subgraph's backends, from the request context.
pub fn deps<'c>(ctx: &Context<'c>) -> async_graphql::Result<&'c Deps> {
    ctx.data::<Deps>()
}

/// The verified caller's id, or an `UNAUTHENTICATED` error.
pub fn caller(ctx: &Context<'_>) -> async_graphql::Result<String> {
    use async_graphql::ErrorExtensions;
    ctx.data_opt::<crate::server::Identity>()
        .and_then(|i| i.user_id.clone())
        .ok_or_else(|| {
            async_graphql::Error::new("sign in first: this needs an access token")
                .extend_with(|_, e| e.set("code", "UNAUTHENTICATED"))
        })
}

/// Whether the verified caller's token carries `scope`.
pub fn has_scope(ctx: &Context<'_>, scope: &str) -> bool {
    ctx.data_opt::<crate::server::Identity>()
        .is_some_and(|i| i.has_scope(scope))
}

/// Refuses (`FORBIDDEN`) a caller whose token lacks `scope`; `action` says what needs it.
pub fn require_scope(ctx: &Context<'_>, scope: &str, action: &str) -> async_graphql::Result<()> {
    if has_scope(ctx, scope) {
        return Ok(());
    }
    Err(forbidden(format!("{action} needs the `{scope}` scope")))
}

/// A `FORBIDDEN` error: the caller is known but may not do this.
pub fn forbidden(message: impl std::fmt::Display) -> async_graphql::Error {
    use async_graphql::ErrorExtensions;
    async_graphql::Error::new(message.to_string()).extend_with(|_, e| e.set("code", "FORBIDDEN"))
}

/// Checks a page size (`first`) against `max`; the error names the argument.
pub fn page_size(first: i32, max: i32) -> async_graphql::Result<i32> {
    if !(0..=max).contains(&first) {
        return Err(bad_input("first", format!("must be between 0 and {max}")));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_bounds() {
        assert_eq!(page_size(0, 100).unwrap(), 0);
        assert_eq!(page_size(100, 100).unwrap(), 100);
        for bad in [-1, 101] {
            let error = page_size(bad, 100).unwrap_err();
            assert!(error.message.starts_with("first:"), "{}", error.message);
        }
    }
}
