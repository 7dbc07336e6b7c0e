//! One GraphQL request from envelope to body: compile (cached), coerce variables,
//! plan (cached), execute, project. HTTP concerns stay in `server`.

use crate::execute::{Endpoint, Executor, client::SubgraphClient};
use crate::operation;
use crate::plan::{self, PlanError, QueryPlan};
use crate::projection::{PossibleTypes, Projection};
use crate::request::GraphQLRequest;
use crate::response::{GraphQLError, codes, write_body};
use apollo_compiler::collections::HashMap as ApolloHashMap;
use apollo_compiler::executable::ExecutableDocument;
use apollo_compiler::schema::Implementers;
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Schema};
use junction_schema::Supergraph;
use serde_json_bytes::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Everything requests share; built once per supergraph.
pub struct Pipeline {
    supergraph: Arc<Supergraph>,
    possible: PossibleTypes,
    implementers: ApolloHashMap<Name, Implementers>,
    endpoints: Vec<Endpoint>,
    client: SubgraphClient,
    documents: moka::sync::Cache<Arc<str>, Arc<Document>>,
    introspection: bool,
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
    plan: Result<QueryPlan, PlanError>,
    projection: Projection,
    has_schema_introspection: bool,
}

/// The outcome of one request, ready for HTTP.
pub struct Outcome {
    /// A request error: no execution happened (maps to HTTP 400).
    pub request_error: bool,
    pub body: Vec<u8>,
}

/// Options of one request that are not part of the GraphQL envelope.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestOptions {
    /// The request came over HTTP GET: mutations are refused.
    pub is_get: bool,
    /// Add `extensions.queryPlan`.
    pub expose_plan: bool,
}

impl Pipeline {
    pub fn new(
        supergraph: Arc<Supergraph>,
        endpoints: Vec<Endpoint>,
        client: SubgraphClient,
        introspection: bool,
        cache_size: u64,
    ) -> Self {
        let api = supergraph.api_schema();
        let possible = crate::projection::possible_types(api);
        let implementers = api.implementers_map();
        Pipeline {
            supergraph,
            possible,
            implementers,
            endpoints,
            client,
            documents: moka::sync::Cache::new(cache_size),
            introspection,
        }
    }

    pub fn api_schema(&self) -> &Valid<Schema> {
        self.supergraph.api_schema()
    }

    pub async fn run(&self, request: GraphQLRequest, options: RequestOptions) -> Outcome {
        let Some(query) = request.query.as_deref().filter(|q| !q.trim().is_empty()) else {
            return request_error(vec![
                GraphQLError::new("GraphQL requests must contain a non-empty `query`")
                    .with_code(codes::BAD_REQUEST),
            ]);
        };
        let document = self.document(query);
        let (document, plans) = match &*document {
            Document::Valid { document, plans } => (document, plans),
            Document::Invalid(errors) => return request_error(errors.clone()),
        };
        let operation = match document.operations.get(request.operation_name.as_deref()) {
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
            self.api_schema(),
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
        let condition_names = operation::condition_variables(document, operation);
        let conditions = operation::condition_values(&condition_names, &variables);
        let prepared = self.prepared(
            document,
            plans,
            operation,
            request.operation_name.as_deref(),
            &condition_names,
            conditions,
        );
        let plan = match &prepared.plan {
            Ok(plan) => plan,
            Err(e) => {
                return request_error(vec![
                    GraphQLError::new(e.to_string()).with_code(codes::QUERY_PLANNING_FAILED),
                ]);
            }
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
                &variables,
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
        };
        let mut execution = executor.run(plan, &variables).await;
        if let (Some(extra), Value::Object(root)) = (introspection, &mut execution.data) {
            root.extend(extra);
        }
        let mut data = Vec::with_capacity(4096);
        prepared.projection.write(Some(&execution.data), &mut data);
        let extensions = options.expose_plan.then(|| {
            let mut ext = Map::new();
            ext.insert("queryPlan", plan.to_json());
            ext
        });
        Outcome {
            request_error: false,
            body: write_body(Some(&data), &execution.errors, extensions.as_ref()),
        }
    }

    fn document(&self, query: &str) -> Arc<Document> {
        if let Some(found) = self.documents.get(query) {
            return found;
        }
        let entry = Arc::new(match operation::compile(self.api_schema(), query) {
            Ok(document) => Document::Valid {
                document: Box::new(document),
                plans: RwLock::new(HashMap::new()),
            },
            Err(errors) => Document::Invalid(errors),
        });
        self.documents.insert(Arc::from(query), entry.clone());
        entry
    }

    fn prepared(
        &self,
        document: &Valid<ExecutableDocument>,
        plans: &PlanCache,
        operation: &apollo_compiler::executable::Operation,
        operation_name: Option<&str>,
        condition_names: &[Name],
        conditions: Vec<bool>,
    ) -> Arc<Prepared> {
        let key = (operation_name.map(str::to_owned), conditions);
        // A poisoned lock only means another request panicked mid-insert; the map
        // itself is still usable.
        if let Some(found) = plans.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return found.clone();
        }
        let normalized = operation::normalize(document, operation, condition_names, &key.1);
        let projection = Projection::new(self.api_schema(), &self.possible, &normalized);
        let has_schema_introspection = operation
            .root_fields(document)
            .any(|f| f.name == "__schema" || f.name == "__type");
        let plan = plan::build_plan(&self.supergraph, &normalized);
        if let Err(e) = &plan {
            tracing::warn!(error = %e, "query planning failed");
        }
        let prepared = Arc::new(Prepared {
            plan,
            projection,
            has_schema_introspection,
        });
        plans
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, prepared.clone());
        prepared
    }

    /// Plans `query` without executing it (for `junction plan`).
    pub fn explain(
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
        let plan = plan::build_plan(&self.supergraph, &normalized)
            .map_err(|e| vec![GraphQLError::new(e.to_string())])?;
        Ok(plan.to_json())
    }
}

fn request_error(errors: Vec<GraphQLError>) -> Outcome {
    Outcome {
        request_error: true,
        body: write_body(None, &errors, None),
    }
}
