//! One GraphQL request from envelope to body: compile (cached), coerce variables,
//! plan (cached), execute, project. HTTP concerns stay in `server`.

use crate::auth::Caller;
use crate::dedup::{FetchDedup, Inflight};
use crate::execute::{Endpoint, Executor, client::SubgraphClient};
use crate::labels::Labels;
use crate::operation;
use crate::plan::{self, QueryPlan};
use crate::projection::{PossibleTypes, Projection};
use crate::request::GraphQLRequest;
use crate::response::{GraphQLError, begin_data, codes, finish_body, write_body};
use apollo_compiler::collections::HashMap as ApolloHashMap;
use apollo_compiler::executable::ExecutableDocument;
use apollo_compiler::schema::Implementers;
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Schema};
use bytes::Bytes;
use junction_schema::Supergraph;
use serde_json_bytes::{ByteString, Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

/// Everything requests share; built once per supergraph. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    supergraph: Arc<Supergraph>,
    possible: PossibleTypes,
    implementers: ApolloHashMap<Name, Implementers>,
    endpoints: Vec<Endpoint>,
    client: SubgraphClient,
    documents: moka::sync::Cache<Arc<str>, Arc<Document>>,
    /// Persisted operations, compiled once: never evicted, never parsed per request.
    pinned: HashMap<Arc<str>, Arc<Document>>,
    introspection: bool,
    /// Progressive-override labels, drawn per request.
    labels: Labels,
    /// Operations nested deeper are refused.
    max_depth: usize,
    /// Identical concurrent client queries share one execution (`None`: off).
    inflight_queries: Option<Inflight<Outcome>>,
    /// Identical concurrent subgraph fetches share one request (`None`: off).
    inflight_fetches: Option<FetchDedup>,
}

/// A parsed document: valid with its plans so far, or its errors.
enum Document {
    Valid {
        document: Box<Valid<ExecutableDocument>>,
        plans: PlanCache,
    },
    Invalid(Vec<GraphQLError>),
}

/// Plans of one document, keyed by operation name and the values of its condition
/// variables.
type PlanCache = RwLock<HashMap<(Option<String>, Vec<bool>), Arc<Prepared>>>;

/// What a (document, operation, conditions) needs at run time.
struct Prepared {
    /// The plan and projection, or why the operation is refused (too deep, unplannable).
    ready: Result<Ready, GraphQLError>,
    has_schema_introspection: bool,
    is_query: bool,
}

struct Ready {
    plan: QueryPlan,
    projection: Projection,
}

/// The outcome of one request, ready for HTTP.
#[derive(Clone)]
pub struct Outcome {
    /// A request error: no execution happened (maps to HTTP 400).
    pub request_error: bool,
    pub body: Bytes,
}

/// Options of one request that are not part of the GraphQL envelope.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestOptions {
    /// The request came over HTTP GET: mutations are refused.
    pub is_get: bool,
    /// Add `extensions.queryPlan`.
    pub expose_plan: bool,
    /// The router's span of this request, sent to subgraphs as `traceparent`.
    pub trace: Option<crate::trace::TraceParent>,
}

/// How a pipeline behaves, from the router's configuration.
pub struct PipelineOptions {
    pub introspection: bool,
    /// Distinct documents kept parsed and planned.
    pub cache_size: u64,
    pub dedup: Dedup,
    /// Progressive-override labels that are on.
    pub active_labels: HashSet<String>,
    /// Deeper operations are refused.
    pub max_depth: usize,
    /// Documents to compile now and keep (persisted operations).
    pub pinned: Vec<Arc<str>>,
}

/// Switches for in-flight de-duplication (queries only; mutations never).
#[derive(Debug, Clone, Copy)]
pub struct Dedup {
    pub client_queries: bool,
    pub subgraph_fetches: bool,
}

impl Pipeline {
    pub fn new(
        supergraph: Arc<Supergraph>,
        endpoints: Vec<Endpoint>,
        client: SubgraphClient,
        options: PipelineOptions,
    ) -> Self {
        let PipelineOptions {
            introspection,
            cache_size,
            dedup,
            active_labels,
            max_depth,
            pinned,
        } = options;
        let api = supergraph.api_schema();
        let possible = crate::projection::possible_types(api);
        let implementers = api.implementers_map();
        let labels = Labels::new(supergraph.override_labels(), &active_labels);
        let pinned = pinned
            .into_iter()
            .map(|body| {
                let document = Arc::new(compile_document(api, &body));
                (body, document)
            })
            .collect();
        Pipeline {
            inner: Arc::new(Inner {
                labels,
                max_depth,
                supergraph,
                possible,
                implementers,
                endpoints,
                client,
                documents: moka::sync::Cache::new(cache_size),
                pinned,
                introspection,
                inflight_queries: dedup.client_queries.then(Inflight::default),
                inflight_fetches: dedup.subgraph_fetches.then(FetchDedup::default),
            }),
        }
    }

    /// Runs one request; `caller` is the verified identity subgraphs receive.
    pub async fn run(
        &self,
        request: GraphQLRequest,
        options: RequestOptions,
        caller: Option<Arc<Caller>>,
    ) -> Outcome {
        let inner = &self.inner;
        let Some(query) = request.query.as_deref().filter(|q| !q.trim().is_empty()) else {
            return request_error(vec![
                GraphQLError::new("GraphQL requests must contain a non-empty `query`")
                    .with_code(codes::BAD_REQUEST),
            ]);
        };
        let document = inner.document(query);
        let (parsed, plans) = match &*document {
            Document::Valid { document, plans } => (document, plans),
            Document::Invalid(errors) => return request_error(errors.clone()),
        };
        let operation = match parsed.operations.get(request.operation_name.as_deref()) {
            Ok(operation) => operation,
            Err(e) => {
                return request_error(vec![
                    GraphQLError::new(e.message().to_string())
                        .with_code(codes::OPERATION_NOT_FOUND),
                ]);
            }
        };
        if options.is_get && operation.operation_type != apollo_compiler::ast::OperationType::Query
        {
            return request_error(vec![
                GraphQLError::new("Mutations and subscriptions cannot be sent with HTTP GET")
                    .with_code(codes::METHOD_NOT_ALLOWED_FOR_MUTATION),
            ]);
        }
        let variables = match apollo_compiler::request::coerce_variable_values(
            inner.api_schema(),
            operation,
            &request.variables,
        ) {
            Ok(v) => v,
            Err(e) => {
                return request_error(vec![
                    GraphQLError::new(e.message().to_string()).with_code(codes::VARIABLES_INVALID),
                ]);
            }
        };
        let condition_names = operation::condition_variables(parsed, operation);
        let mut plan_key = operation::condition_values(&condition_names, &variables);
        // The plan also depends on which override labels are active.
        let active_labels = if inner.labels.is_empty() {
            HashSet::new()
        } else {
            let (bits, set) = inner.labels.draw();
            plan_key.extend(bits);
            set
        };
        let prepared = inner.prepared(
            parsed,
            plans,
            operation,
            PlanChoice {
                operation_name: request.operation_name.as_deref(),
                condition_names: &condition_names,
                plan_key,
                active_labels: &active_labels,
            },
        );
        if let Err(e) = &prepared.ready {
            return request_error(vec![e.clone()]);
        }
        let job = Job {
            document: document.clone(),
            operation_name: request.operation_name.clone(),
            variables,
            prepared: prepared.clone(),
            expose_plan: options.expose_plan,
            caller: caller.clone(),
            trace: options.trace,
        };
        match (&inner.inflight_queries, prepared.is_query) {
            (Some(inflight), true) => {
                // Only requests of the same caller may share a response.
                let key = dedup_key(
                    query,
                    request.operation_name.as_deref(),
                    &request.variables,
                    options,
                    caller.as_deref(),
                );
                let runner = self.inner.clone();
                inflight
                    .run(key, async move { runner.execute(job).await })
                    .await
            }
            _ => inner.execute(job).await,
        }
    }

    /// Plans `query` without executing it (for `junction plan`).
    pub fn explain(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<Value, Vec<GraphQLError>> {
        self.inner.explain(query, operation_name)
    }
}

/// What selects a plan for an operation: its name, the values of its condition
/// variables and the active override labels (`plan_key` holds both as bits).
struct PlanChoice<'a> {
    operation_name: Option<&'a str>,
    condition_names: &'a [Name],
    plan_key: Vec<bool>,
    active_labels: &'a HashSet<String>,
}

/// One execution's inputs, owned so it can be shared between identical requests.
struct Job {
    document: Arc<Document>,
    operation_name: Option<String>,
    variables: Valid<Map<ByteString, Value>>,
    prepared: Arc<Prepared>,
    expose_plan: bool,
    caller: Option<Arc<Caller>>,
    trace: Option<crate::trace::TraceParent>,
}

fn dedup_key(
    query: &str,
    operation_name: Option<&str>,
    variables: &Map<ByteString, Value>,
    options: RequestOptions,
    caller: Option<&Caller>,
) -> Bytes {
    let mut key = Vec::with_capacity(query.len() + 64);
    if let Some(caller) = caller {
        key.extend_from_slice(caller.user_id.as_bytes());
        key.push(0);
        key.extend_from_slice(caller.scopes.as_bytes());
    }
    key.push(0);
    key.extend_from_slice(&(query.len() as u64).to_le_bytes());
    key.extend_from_slice(query.as_bytes());
    key.extend_from_slice(operation_name.unwrap_or("").as_bytes());
    key.push(0);
    key.push(u8::from(options.expose_plan));
    let _ = serde_json::to_writer(&mut key, variables);
    Bytes::from(key)
}

impl Inner {
    fn api_schema(&self) -> &Valid<Schema> {
        self.supergraph.api_schema()
    }

    async fn execute(&self, job: Job) -> Outcome {
        let Document::Valid { document, .. } = &*job.document else {
            return request_error(Vec::new());
        };
        let Ok(operation) = document.operations.get(job.operation_name.as_deref()) else {
            return request_error(Vec::new());
        };
        let prepared = &job.prepared;
        let Ok(Ready { plan, projection }) = &prepared.ready else {
            return request_error(Vec::new());
        };
        let introspection = if prepared.has_schema_introspection {
            if !self.introspection {
                return request_error(vec![
                    GraphQLError::new("GraphQL introspection is not allowed here")
                        .with_code("INTROSPECTION_DISABLED"),
                ]);
            }
            match crate::introspection::execute(
                self.api_schema(),
                &self.implementers,
                document,
                operation,
                &job.variables,
            ) {
                Ok(data) => Some(data),
                Err(e) => return request_error(vec![*e]),
            }
        } else {
            None
        };

        let executor = Executor {
            client: &self.client,
            endpoints: &self.endpoints,
            possible_types: &self.possible,
            dedup: self.inflight_fetches.as_ref(),
            caller: job.caller.as_ref(),
            trace: job.trace,
        };
        let mut execution = executor.run(plan, &job.variables).await;
        if let Some(extra) = introspection {
            // Rare: re-read the introspection result into the store next to the data.
            let text = serde_json::to_vec(&extra).unwrap_or_else(|_| b"{}".to_vec());
            if let Ok(node) = execution.store.parse(Bytes::from(text)) {
                execution.store.link(execution.root, node);
            }
        }
        // The client's JSON is about as large as what the subgraphs sent; a quarter more
        // keeps it from doubling at the end.
        let received = execution.store.buffered_bytes();
        let mut body = begin_data(received + received / 4);
        projection.write(
            &execution.store,
            execution.root,
            &self.possible,
            &mut body,
            &mut execution.errors,
            &execution.explained,
        );
        let extensions = job.expose_plan.then(|| {
            let mut ext = Map::new();
            ext.insert("queryPlan", plan.to_json());
            ext
        });
        Outcome {
            request_error: false,
            body: Bytes::from(finish_body(body, &execution.errors, extensions.as_ref())),
        }
    }

    fn document(&self, query: &str) -> Arc<Document> {
        if let Some(found) = self.pinned.get(query) {
            return found.clone();
        }
        if let Some(found) = self.documents.get(query) {
            return found;
        }
        let entry = Arc::new(compile_document(self.api_schema(), query));
        self.documents.insert(Arc::from(query), entry.clone());
        entry
    }

    fn prepared(
        &self,
        document: &Valid<ExecutableDocument>,
        plans: &PlanCache,
        operation: &apollo_compiler::executable::Operation,
        choice: PlanChoice<'_>,
    ) -> Arc<Prepared> {
        let PlanChoice {
            operation_name,
            condition_names,
            plan_key,
            active_labels,
        } = choice;
        let key = (operation_name.map(str::to_owned), plan_key);
        // A poisoned lock only means another request panicked mid-insert; the map
        // itself is still usable.
        if let Some(found) = plans.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return found.clone();
        }
        let conditions = &key.1[..condition_names.len()];
        let normalized = operation::normalize(document, operation, condition_names, conditions);
        let has_schema_introspection = operation
            .root_fields(document)
            .any(|f| f.name == "__schema" || f.name == "__type");
        let depth = operation::depth(&normalized.selections);
        let ready = if depth > self.max_depth {
            Err(GraphQLError::new(format!(
                "Maximum depth exceeded: the operation is {depth} levels deep, the limit is {}",
                self.max_depth
            ))
            .with_code(codes::MAX_DEPTH_LIMIT))
        } else {
            match plan::build_plan(&self.supergraph, &normalized, active_labels) {
                Ok(plan) => Ok(Ready {
                    projection: Projection::new(
                        self.api_schema(),
                        &self.possible,
                        &normalized,
                        &plan.renames,
                    ),
                    plan,
                }),
                Err(e) => {
                    tracing::warn!(error = %e, "query planning failed");
                    Err(GraphQLError::new(e.to_string()).with_code(codes::QUERY_PLANNING_FAILED))
                }
            }
        };
        let prepared = Arc::new(Prepared {
            ready,
            has_schema_introspection,
            is_query: operation.operation_type == apollo_compiler::ast::OperationType::Query,
        });
        plans
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, prepared.clone());
        prepared
    }

    /// Plans `query` without executing it (for `junction plan`).
    fn explain(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<Value, Vec<GraphQLError>> {
        let document = operation::compile(self.api_schema(), query)?;
        let operation = document
            .operations
            .get(operation_name)
            .map_err(|e| vec![GraphQLError::new(e.message().to_string())])?;
        let names = operation::condition_variables(&document, operation);
        let conditions = vec![false; names.len()];
        let normalized = operation::normalize(&document, operation, &names, &conditions);
        let plan = plan::build_plan(&self.supergraph, &normalized, &plan::NoLabels)
            .map_err(|e| vec![GraphQLError::new(e.to_string())])?;
        Ok(plan.to_json())
    }
}

fn compile_document(api: &Valid<Schema>, query: &str) -> Document {
    match operation::compile(api, query) {
        Ok(document) => Document::Valid {
            document: Box::new(document),
            plans: RwLock::new(HashMap::new()),
        },
        Err(errors) => Document::Invalid(errors),
    }
}

fn request_error(errors: Vec<GraphQLError>) -> Outcome {
    Outcome {
        request_error: true,
        body: Bytes::from(write_body(None, &errors, None)),
    }
}
