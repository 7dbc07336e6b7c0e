//! The registry's GraphQL API and its HTTP routes.

use crate::store::{self, ManifestRow, SubgraphRow, SupergraphRow, UsageRow};
use crate::{Registry, hash_token};
use async_graphql::{
    Context, EmptySubscription, Error, ErrorExtensions, InputObject, Object, Result, Schema,
    SimpleObject,
};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use junction_kit::db::DbError;
use junction_schema::check::KnownOperation;
use junction_schema::persisted::Manifest;
use junction_schema::{SubgraphInput, Supergraph};

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Fetch supergraphs, subgraphs, manifests and usage (routers, dashboards).
    Read,
    /// Run checks (CI on pull requests).
    Check,
    /// Publish subgraph schemas and manifests (CI on merge).
    Publish,
    /// Report operation usage (routers).
    Report,
}

impl Scope {
    pub fn parse(text: &str) -> Option<Scope> {
        match text.trim() {
            "read" => Some(Scope::Read),
            "check" => Some(Scope::Check),
            "publish" => Some(Scope::Publish),
            "report" => Some(Scope::Report),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Check => "check",
            Scope::Publish => "publish",
            Scope::Report => "report",
        }
    }
}

/// Who is calling: the token's name and scopes (none without a valid token).
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub name: Option<String>,
    pub scopes: Vec<Scope>,
}

fn require(ctx: &Context<'_>, scope: Scope) -> Result<String> {
    let caller = ctx.data::<Caller>()?;
    let Some(name) = &caller.name else {
        return Err(
            Error::new("a valid API token is required (Authorization: Bearer …)")
                .extend_with(|_, e| e.set("code", "UNAUTHENTICATED")),
        );
    };
    if !caller.scopes.contains(&scope) {
        return Err(Error::new(format!(
            "token `{name}` lacks the `{}` scope",
            scope.as_str()
        ))
        .extend_with(|_, e| e.set("code", "FORBIDDEN")));
    }
    Ok(name.clone())
}

fn internal(e: impl std::fmt::Display) -> Error {
    tracing::error!(error = %e, "registry request failed");
    Error::new("internal registry error").extend_with(|_, e| e.set("code", "INTERNAL_SERVER_ERROR"))
}

#[derive(SimpleObject)]
pub struct SupergraphVersion {
    id: String,
    sdl: String,
    /// The subgraph whose publish produced this version.
    subgraph: String,
    /// What changed in the API schema.
    summary: String,
    published_by: String,
    created_at: String,
}

impl From<SupergraphRow> for SupergraphVersion {
    fn from(row: SupergraphRow) -> Self {
        SupergraphVersion {
            id: row.id,
            sdl: row.sdl,
            subgraph: row.subgraph,
            summary: row.summary,
            published_by: row.published_by,
            created_at: row.created_at.and_utc().to_rfc3339(),
        }
    }
}

#[derive(SimpleObject)]
pub struct SubgraphVersion {
    id: String,
    name: String,
    routing_url: String,
    sdl: String,
    published_by: String,
    published_at: String,
}

impl From<SubgraphRow> for SubgraphVersion {
    fn from(row: SubgraphRow) -> Self {
        SubgraphVersion {
            id: row.id,
            name: row.name,
            routing_url: row.routing_url,
            sdl: row.sdl,
            published_by: row.published_by,
            published_at: row.published_at.and_utc().to_rfc3339(),
        }
    }
}

#[derive(SimpleObject)]
pub struct ClientManifest {
    client: String,
    /// The manifest JSON (Apollo's format).
    manifest: String,
    updated_at: String,
}

#[derive(SimpleObject)]
pub struct KnownOperationObject {
    name: String,
    body: String,
}

#[derive(SimpleObject)]
pub struct CompositionErrorObject {
    code: String,
    message: String,
}

#[derive(SimpleObject)]
pub struct PublishResult {
    /// False when the schema does not compose; nothing was stored.
    accepted: bool,
    /// True when the subgraph was already published exactly so.
    unchanged: bool,
    errors: Vec<CompositionErrorObject>,
    supergraph: Option<SupergraphVersion>,
}

#[derive(SimpleObject)]
pub struct ManifestResult {
    accepted: bool,
    errors: Vec<String>,
    operations: i32,
}

#[derive(SimpleObject)]
pub struct CheckResult {
    passed: bool,
    /// The full report as JSON (`junction schema check --format json`'s shape).
    report: String,
}

#[derive(InputObject)]
pub struct UsageInput {
    client: String,
    body: String,
    count: i64,
}

pub struct Query;

#[Object]
impl Query {
    /// The supergraph in service: the last one that composed.
    async fn supergraph(&self, ctx: &Context<'_>) -> Result<Option<SupergraphVersion>> {
        require(ctx, Scope::Read)?;
        let registry = ctx.data::<Registry>()?;
        Ok(store::latest_supergraph(&registry.db)
            .await
            .map_err(internal)?
            .map(Into::into))
    }

    /// Newest first.
    async fn supergraph_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> Result<Vec<SupergraphVersion>> {
        require(ctx, Scope::Read)?;
        let registry = ctx.data::<Registry>()?;
        let rows = store::supergraph_history(&registry.db, first.clamp(1, 500) as i64)
            .await
            .map_err(internal)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The version of each subgraph in service.
    async fn subgraphs(&self, ctx: &Context<'_>) -> Result<Vec<SubgraphVersion>> {
        require(ctx, Scope::Read).or_else(|_| require(ctx, Scope::Check))?;
        let registry = ctx.data::<Registry>()?;
        let rows = store::current_subgraphs(&registry.db)
            .await
            .map_err(internal)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn persisted_query_manifests(&self, ctx: &Context<'_>) -> Result<Vec<ClientManifest>> {
        require(ctx, Scope::Read)?;
        let registry = ctx.data::<Registry>()?;
        let rows = store::manifests(&registry.db).await.map_err(internal)?;
        Ok(rows
            .into_iter()
            .map(|row| ClientManifest {
                client: row.client,
                manifest: row.manifest,
                updated_at: row.updated_at.and_utc().to_rfc3339(),
            })
            .collect())
    }

    /// Every persisted operation, and every operation routers reported in the last
    /// `days` days: what a check validates.
    async fn known_operations(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 30)] days: i32,
    ) -> Result<Vec<KnownOperationObject>> {
        require(ctx, Scope::Read).or_else(|_| require(ctx, Scope::Check))?;
        let registry = ctx.data::<Registry>()?;
        Ok(known_operations(registry, days)
            .await?
            .into_iter()
            .map(|op| KnownOperationObject {
                name: op.name,
                body: op.body,
            })
            .collect())
    }

    /// Checks a proposed subgraph schema against the supergraph in service and the known
    /// operations of the last `days` days.
    async fn check(
        &self,
        ctx: &Context<'_>,
        subgraph: String,
        sdl: String,
        routing_url: Option<String>,
        #[graphql(default = 30)] days: i32,
    ) -> Result<CheckResult> {
        require(ctx, Scope::Check)?;
        let registry = ctx.data::<Registry>()?;
        let current_rows = store::current_subgraphs(&registry.db)
            .await
            .map_err(internal)?;
        let current = store::latest_supergraph(&registry.db)
            .await
            .map_err(internal)?
            .and_then(|row| Supergraph::parse(&row.sdl).ok());
        let proposed = with_subgraph(&current_rows, &subgraph, routing_url, sdl)?;
        let operations = known_operations(registry, days).await?;
        let report = junction_schema::check::check(current.as_ref(), &proposed, &operations);
        Ok(CheckResult {
            passed: report.passed(),
            report: report.to_json().to_string(),
        })
    }
}

async fn known_operations(registry: &Registry, days: i32) -> Result<Vec<KnownOperation>> {
    let mut operations = Vec::new();
    for row in store::manifests(&registry.db).await.map_err(internal)? {
        if let Ok(manifest) = Manifest::parse(&row.manifest) {
            operations.extend(manifest.operations.into_iter().map(|op| KnownOperation {
                name: format!("{}/{}", row.client, op.name.unwrap_or(op.id)),
                body: op.body,
            }));
        }
    }
    let since = store::now() - chrono::Duration::days(days.max(0) as i64);
    for (client, body) in store::usage_since(&registry.db, since)
        .await
        .map_err(internal)?
    {
        if operations.iter().any(|op| op.body == body) {
            continue;
        }
        let name = operation_name(&body).unwrap_or("anonymous");
        operations.push(KnownOperation {
            name: format!("{client}/{name}"),
            body,
        });
    }
    Ok(operations)
}

/// The first operation's name in `body`, without parsing it as a whole.
fn operation_name(body: &str) -> Option<&str> {
    let rest = body
        .trim_start()
        .strip_prefix("query")
        .or_else(|| body.trim_start().strip_prefix("mutation"))?;
    let name = rest.trim_start();
    let end = name
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(name.len());
    (end > 0).then(|| &name[..end])
}

/// The subgraph list with `name` replaced (or added) by the proposal.
fn with_subgraph(
    current: &[SubgraphRow],
    name: &str,
    routing_url: Option<String>,
    sdl: String,
) -> Result<Vec<SubgraphInput>> {
    let mut inputs: Vec<SubgraphInput> = current
        .iter()
        .filter(|row| row.name != name)
        .map(|row| SubgraphInput {
            name: row.name.clone(),
            url: row.routing_url.clone(),
            sdl: row.sdl.clone(),
        })
        .collect();
    let url = match routing_url {
        Some(url) => url,
        None => current
            .iter()
            .find(|row| row.name == name)
            .map(|row| row.routing_url.clone())
            .ok_or_else(|| {
                Error::new(format!("`{name}` is a new subgraph: give its routingUrl"))
                    .extend_with(|_, e| e.set("code", "BAD_USER_INPUT"))
            })?,
    };
    inputs.push(SubgraphInput {
        name: name.to_owned(),
        url,
        sdl,
    });
    Ok(inputs)
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Publishes a subgraph schema. The registry composes it with the other subgraphs in
    /// service; if that fails nothing is stored and the last good supergraph stays.
    async fn publish_subgraph(
        &self,
        ctx: &Context<'_>,
        name: String,
        routing_url: String,
        sdl: String,
    ) -> Result<PublishResult> {
        let caller = require(ctx, Scope::Publish)?;
        let registry = ctx.data::<Registry>()?;
        // One publish at a time in this process; across replicas the unique parent of a
        // supergraph makes the later of two racing publishes recompose on the winner.
        let _serialised = registry.publish_lock.lock().await;
        let mut attempts = 0;
        loop {
            attempts += 1;
            match publish_once(registry, &caller, &name, &routing_url, &sdl).await {
                Err(PublishError::Raced) if attempts < MAX_PUBLISH_ATTEMPTS => {
                    tracing::info!(subgraph = %name, "another replica published first; recomposing");
                }
                Err(PublishError::Raced) => {
                    return Err(async_graphql::Error::new(
                        "the supergraph kept changing during this publish; try again",
                    ));
                }
                Err(PublishError::Failed(e)) => return Err(e),
                Ok(result) => return Ok(result),
            }
        }
    }

    /// Stores `client`'s persisted-query manifest (Apollo's format), replacing the last
    /// one. Every operation must validate against the supergraph in service.
    async fn publish_persisted_query_manifest(
        &self,
        ctx: &Context<'_>,
        client: String,
        manifest: String,
    ) -> Result<ManifestResult> {
        let caller = require(ctx, Scope::Publish)?;
        let registry = ctx.data::<Registry>()?;
        let rejected = |errors: Vec<String>| ManifestResult {
            accepted: false,
            errors,
            operations: 0,
        };
        let parsed = match Manifest::parse(&manifest) {
            Ok(parsed) => parsed,
            Err(e) => return Ok(rejected(vec![e.to_string()])),
        };
        let Some(latest) = store::latest_supergraph(&registry.db)
            .await
            .map_err(internal)?
        else {
            return Ok(rejected(vec![
                "no supergraph has been published yet; publish subgraphs first".into(),
            ]));
        };
        let supergraph = Supergraph::parse(&latest.sdl).map_err(internal)?;
        let errors: Vec<String> = parsed
            .validate(supergraph.api_schema())
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        if !errors.is_empty() {
            return Ok(rejected(errors));
        }
        store::upsert_manifest(
            &registry.db,
            &ManifestRow {
                client,
                manifest,
                published_by: caller,
                updated_at: store::now(),
            },
        )
        .await
        .map_err(internal)?;
        Ok(ManifestResult {
            accepted: true,
            errors: Vec::new(),
            operations: parsed.operations.len() as i32,
        })
    }

    /// Operation usage seen by a router; returns how many entries were stored.
    async fn report_usage(&self, ctx: &Context<'_>, operations: Vec<UsageInput>) -> Result<i32> {
        require(ctx, Scope::Report)?;
        let registry = ctx.data::<Registry>()?;
        let now = store::now();
        let rows: Vec<UsageRow> = operations
            .into_iter()
            .filter(|op| op.count > 0 && !op.body.trim().is_empty())
            .map(|op| UsageRow {
                id: store::new_id(),
                client: op.client,
                body: op.body,
                count: op.count,
                reported_at: now,
            })
            .collect();
        if !rows.is_empty() {
            store::insert_usage(&registry.db, &rows)
                .await
                .map_err(internal)?;
        }
        Ok(rows.len() as i32)
    }
}

/// Recompositions a publish tries when other replicas keep publishing first.
const MAX_PUBLISH_ATTEMPTS: usize = 5;

enum PublishError {
    /// Another publish stored a supergraph on top of the same parent first.
    Raced,
    Failed(async_graphql::Error),
}

/// Composes `name`'s new schema with the subgraphs in service and stores both, unless a
/// concurrent publish got there first.
async fn publish_once(
    registry: &Registry,
    caller: &str,
    name: &str,
    routing_url: &str,
    sdl: &str,
) -> Result<PublishResult, PublishError> {
    let current = store::current_subgraphs(&registry.db)
        .await
        .map_err(|e| PublishError::Failed(internal(e)))?;
    let latest = store::latest_supergraph(&registry.db)
        .await
        .map_err(|e| PublishError::Failed(internal(e)))?;
    if current
        .iter()
        .any(|row| row.name == name && row.sdl == sdl && row.routing_url == routing_url)
    {
        return Ok(PublishResult {
            accepted: true,
            unchanged: true,
            errors: Vec::new(),
            supergraph: latest.map(Into::into),
        });
    }
    let inputs = with_subgraph(&current, name, Some(routing_url.to_owned()), sdl.to_owned())
        .map_err(PublishError::Failed)?;
    let composed = match junction_schema::compose(&inputs) {
        Ok(composed) => composed,
        Err(errors) => {
            return Ok(PublishResult {
                accepted: false,
                unchanged: false,
                errors: errors
                    .into_iter()
                    .map(|e| CompositionErrorObject {
                        code: e.code.to_owned(),
                        message: e.to_string(),
                    })
                    .collect(),
                supergraph: latest.map(Into::into),
            });
        }
    };
    let now = store::now();
    let subgraph_row = SubgraphRow {
        id: store::new_id(),
        name: name.to_owned(),
        routing_url: routing_url.to_owned(),
        sdl: sdl.to_owned(),
        published_by: caller.to_owned(),
        published_at: now,
    };
    let supergraph_row = match &latest {
        Some(latest) if latest.sdl == composed => None,
        _ => Some(SupergraphRow {
            id: store::new_id(),
            summary: summary(latest.as_ref(), &composed),
            sdl: composed,
            subgraph: name.to_owned(),
            published_by: caller.to_owned(),
            created_at: now,
            parent_id: Some(latest.as_ref().map(|l| l.id.clone()).unwrap_or_default()),
        }),
    };
    match store::publish(&registry.db, &subgraph_row, supergraph_row.as_ref()).await {
        Ok(()) => {}
        Err(DbError::Query(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ))) => return Err(PublishError::Raced),
        Err(e) => return Err(PublishError::Failed(internal(e))),
    }
    tracing::info!(subgraph = %subgraph_row.name, by = %subgraph_row.published_by, "subgraph published");
    Ok(PublishResult {
        accepted: true,
        unchanged: false,
        errors: Vec::new(),
        supergraph: supergraph_row.or(latest).map(Into::into),
    })
}

/// A line for the history: how many API changes, how many breaking, and the first few.
fn summary(previous: Option<&SupergraphRow>, composed: &str) -> String {
    let Some(previous) = previous.and_then(|row| Supergraph::parse(&row.sdl).ok()) else {
        return "first supergraph".into();
    };
    let Ok(next) = Supergraph::parse(composed) else {
        return String::new();
    };
    let changes = junction_schema::diff::diff(previous.api_schema(), next.api_schema());
    if changes.is_empty() {
        return "no API change (routing or federation metadata only)".into();
    }
    let breaking = changes
        .iter()
        .filter(|c| c.criticality == junction_schema::diff::Criticality::Breaking)
        .count();
    let mut text = format!("{} API change(s), {breaking} breaking", changes.len());
    for change in changes.iter().take(5) {
        text.push_str(&format!("; {}", change.message));
    }
    text
}

type RegistrySchema = Schema<Query, Mutation, EmptySubscription>;

pub(crate) fn app(registry: Registry) -> axum::Router {
    let schema: RegistrySchema = Schema::build(Query, Mutation, EmptySubscription)
        .data(registry.clone())
        .limit_depth(16)
        .finish();
    axum::Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/health", get(|| async { r#"{"status":"UP"}"# }))
        .with_state((schema, registry))
}

async fn graphiql() -> impl IntoResponse {
    Html(
        async_graphql::http::GraphiQLSource::build()
            .endpoint("/graphql")
            .finish(),
    )
}

async fn graphql(
    State((schema, registry)): State<(RegistrySchema, Registry)>,
    headers: HeaderMap,
    request: async_graphql_axum::GraphQLRequest,
) -> async_graphql_axum::GraphQLResponse {
    let caller = match caller(&registry, &headers).await {
        Ok(caller) => caller,
        Err(e) => {
            let response =
                async_graphql::Response::from_errors(vec![async_graphql::ServerError::new(
                    e, None,
                )]);
            return response.into();
        }
    };
    schema
        .execute(request.into_inner().data(caller))
        .await
        .into()
}

async fn caller(registry: &Registry, headers: &HeaderMap) -> std::result::Result<Caller, String> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(Caller::default());
    };
    let secret = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or("the Authorization header must be `Bearer <token>`")?;
    let row = store::token_by_hash(&registry.db, &hash_token(secret.trim()))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "token lookup failed");
            "internal registry error".to_owned()
        })?
        .ok_or("unknown API token")?;
    Ok(Caller {
        name: Some(row.name),
        scopes: row.scopes.split(',').filter_map(Scope::parse).collect(),
    })
}
