use junction_schema::{GraphId, Supergraph, SupergraphError};

const BENCH: &str = include_str!("../../router/tests/fixtures/bench/supergraph.graphql");

fn graph_id(supergraph: &Supergraph, name: &str) -> GraphId {
    supergraph
        .graph_by_name(name)
        .unwrap_or_else(|| panic!("graph {name} exists"))
        .id
}

fn names(supergraph: &Supergraph, ids: impl IntoIterator<Item = GraphId>) -> Vec<String> {
    ids.into_iter()
        .map(|id| supergraph.graph(id).expect("known graph").name.clone())
        .collect()
}

#[test]
fn bench_supergraph_graphs_and_keys() {
    let supergraph = Supergraph::parse(BENCH).expect("bench supergraph loads");
    let graphs: Vec<(&str, &str, &str)> = supergraph
        .graphs()
        .iter()
        .map(|g| (g.name.as_str(), g.enum_value.as_str(), g.url.as_str()))
        .collect();
    assert_eq!(
        graphs,
        [
            ("accounts", "ACCOUNTS", "http://0.0.0.0:4200/accounts"),
            ("inventory", "INVENTORY", "http://0.0.0.0:4200/inventory"),
            ("products", "PRODUCTS", "http://0.0.0.0:4200/products"),
            ("reviews", "REVIEWS", "http://0.0.0.0:4200/reviews"),
        ]
    );
    for (i, graph) in supergraph.graphs().iter().enumerate() {
        assert_eq!(graph.id.index(), i);
    }
    let accounts = graph_id(&supergraph, "accounts");
    let inventory = graph_id(&supergraph, "inventory");
    let products = graph_id(&supergraph, "products");
    let reviews = graph_id(&supergraph, "reviews");

    let user_graphs = names(
        &supergraph,
        supergraph.type_graphs("User").iter().map(|t| t.graph),
    );
    assert_eq!(user_graphs, ["accounts", "reviews"]);
    for graph in [accounts, reviews] {
        let keys = supergraph.keys("User", graph);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].fields.as_str(), "id");
        assert!(keys[0].resolvable);
        assert!(supergraph.is_entity_in("User", graph));
    }
    assert!(!supergraph.is_entity_in("User", products));
    assert!(!supergraph.subgraph_type_exists("User", inventory));

    for graph in [inventory, products, reviews] {
        let keys = supergraph.keys("Product", graph);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].fields.as_str(), "upc");
        let top: Vec<&str> = keys[0]
            .fields
            .top_level_fields()
            .map(|n| n.as_str())
            .collect();
        assert_eq!(top, ["upc"]);
    }
    assert!(supergraph.keys("Product", accounts).is_empty());
    // Query has @join__type for every graph but no key.
    assert_eq!(supergraph.type_graphs("Query").len(), 4);
    assert!(!supergraph.is_entity_in("Query", accounts));
    // Value types without @join__type (here: built-in scalars) are in every graph.
    assert!(supergraph.subgraph_type_exists("String", inventory));
}

#[test]
fn bench_supergraph_field_ownership() {
    let supergraph = Supergraph::parse(BENCH).expect("bench supergraph loads");
    let resolvers = |ty: &str, field: &str| {
        names(
            &supergraph,
            supergraph.field_graphs(ty, field).iter().map(|f| f.graph),
        )
    };
    assert_eq!(resolvers("Product", "inStock"), ["inventory"]);
    assert_eq!(
        resolvers("Product", "upc"),
        ["inventory", "products", "reviews"]
    );
    assert_eq!(resolvers("Product", "weight"), ["products"]);
    assert_eq!(resolvers("Product", "reviews"), ["reviews"]);
    assert_eq!(resolvers("Query", "topProducts"), ["products"]);
    assert_eq!(resolvers("Query", "me"), ["accounts"]);
    assert_eq!(resolvers("Review", "product"), ["reviews"]);
    assert_eq!(resolvers("User", "username"), ["accounts"]);
    assert!(supergraph.field_graphs("User", "nope").is_empty());

    let weight = supergraph.field("Product", "weight").expect("field exists");
    assert_eq!(
        names(&supergraph, weight.external_in.iter().copied()),
        ["inventory"]
    );
    let username = supergraph.field("User", "username").expect("field exists");
    assert_eq!(
        names(&supergraph, username.external_in.iter().copied()),
        ["reviews"]
    );

    let estimate = supergraph.field_graphs("Product", "shippingEstimate");
    assert_eq!(estimate.len(), 1);
    let requires = estimate[0].requires.as_ref().expect("requires");
    assert_eq!(requires.as_str(), "price weight");
    let required: Vec<&str> = requires.top_level_fields().map(|n| n.as_str()).collect();
    assert_eq!(required, ["price", "weight"]);
    assert!(estimate[0].provides.is_none());

    let author = supergraph.field_graphs("Review", "author");
    assert_eq!(
        names(&supergraph, author.iter().map(|f| f.graph)),
        ["reviews"]
    );
    let provides = author[0].provides.as_ref().expect("provides");
    assert_eq!(provides.as_str(), "username");
}

#[test]
fn bench_api_schema_has_no_join_machinery() {
    let supergraph = Supergraph::parse(BENCH).expect("bench supergraph loads");
    let api = supergraph.api_schema();
    let printed = api.to_string();
    for hidden in ["join__", "link__", "@link", "@join"] {
        assert!(
            !printed.contains(hidden),
            "API schema contains {hidden}:\n{printed}"
        );
    }
    assert!(api.get_object("Product").is_some());
    let top_products = &api.get_object("Query").expect("Query").fields["topProducts"];
    assert_eq!(top_products.arguments[0].name, "first");
    assert!(top_products.arguments[0].default_value.is_some());
    // The API schema re-parses as a plain, valid schema.
    apollo_compiler::Schema::parse_and_validate(printed, "api.graphql").expect("valid");
    // The full schema still has everything.
    assert!(supergraph.schema().types.contains_key("join__Graph"));
}

#[test]
fn renamed_join_spec_is_followed() {
    let renamed = BENCH
        .replace(
            r#"@link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)"#,
            r#"@link(url: "https://specs.apollo.dev/join/v0.3", as: "j", for: EXECUTION)"#,
        )
        .replace("join__", "j__");
    let supergraph = Supergraph::parse(&renamed).expect("renamed join spec loads");
    assert_eq!(supergraph.graphs().len(), 4);
    let reviews = graph_id(&supergraph, "reviews");
    assert_eq!(supergraph.keys("User", reviews)[0].fields.as_str(), "id");
    assert!(!supergraph.api_schema().to_string().contains("j__"));
    // With the rename, `join__*` names mean nothing: the unrenamed SDL is refused.
    let mismatched = BENCH.replace(
        r#"@link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)"#,
        r#"@link(url: "https://specs.apollo.dev/join/v0.3", as: "j", for: EXECUTION)"#,
    );
    let err = Supergraph::parse(&mismatched).expect_err("names do not match the link");
    assert_eq!(
        err,
        SupergraphError::MissingGraphEnum {
            name: "j__Graph".to_string()
        }
    );
}

#[test]
fn unsupported_join_version_is_refused_with_its_url() {
    let old = BENCH.replace("join/v0.3", "join/v0.2");
    let err = Supergraph::parse(&old).expect_err("join v0.2 refused");
    assert_eq!(
        err,
        SupergraphError::UnsupportedJoinVersion {
            url: "https://specs.apollo.dev/join/v0.2".to_string()
        }
    );
    assert!(
        err.to_string()
            .contains("https://specs.apollo.dev/join/v0.2")
    );
}

#[test]
fn unknown_execution_link_is_refused_but_plain_links_are_ignored() {
    let link = |extra: &str| {
        BENCH.replacen(
            "@link(url: \"https://specs.apollo.dev/link/v1.0\")",
            &format!("@link(url: \"https://specs.apollo.dev/link/v1.0\") {extra}"),
            1,
        )
    };
    let err = Supergraph::parse(&link(
        r#"@link(url: "https://example.com/rateLimit/v1.0", for: EXECUTION)"#,
    ))
    .expect_err("unknown EXECUTION feature");
    assert_eq!(
        err,
        SupergraphError::UnsupportedFeature {
            url: "https://example.com/rateLimit/v1.0".to_string(),
            purpose: "EXECUTION".to_string(),
        }
    );
    let err = Supergraph::parse(&link(
        r#"@link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)"#,
    ))
    .expect_err("unknown SECURITY feature");
    assert!(err.to_string().contains("authenticated/v0.1"), "{err}");

    let ok = link(r#"@link(url: "https://example.com/docs/v1.0")"#);
    assert!(Supergraph::parse(&ok).is_ok());
}

#[test]
fn missing_graph_enum_or_join_link_is_refused() {
    let start = BENCH.find("enum join__Graph").expect("enum present");
    let end = start + BENCH[start..].find('}').expect("enum end") + 1;
    let without_enum = format!("{}{}", &BENCH[..start], &BENCH[end..]);
    let err = Supergraph::parse(&without_enum).expect_err("no join__Graph");
    assert_eq!(
        err,
        SupergraphError::MissingGraphEnum {
            name: "join__Graph".to_string()
        }
    );

    let without_join = BENCH.replace(
        r#"@link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)"#,
        "",
    );
    assert_eq!(
        Supergraph::parse(&without_join).expect_err("no join link"),
        SupergraphError::MissingJoinSpec
    );
    assert!(matches!(
        Supergraph::parse("type Query { a: Int"),
        Err(SupergraphError::InvalidGraphql(_))
    ));
}

/// A join v0.5 supergraph with @inaccessible, @tag, overrides and per-graph enum values,
/// union members and implementations.
fn v05_supergraph(body: &str) -> String {
    format!(
        r#"
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)
  @link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)
  @link(url: "https://specs.apollo.dev/tag/v0.3")
{{
  query: Query
}}

directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION
directive @join__directive(graphs: [join__Graph!], name: String!, args: join__DirectiveArguments) repeatable on SCHEMA | OBJECT | INTERFACE | FIELD_DEFINITION
directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean, overrideLabel: String, contextArguments: [join__ContextArgument!]) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION | SCHEMA

input join__ContextArgument {{ name: String! type: String! context: String! selection: join__FieldValue! }}
scalar join__DirectiveArguments
scalar join__FieldSet
scalar join__FieldValue
enum join__Graph {{
  A @join__graph(name: "a", url: "http://a.test/graphql")
  B @join__graph(name: "b", url: "http://b.test/graphql")
}}
scalar link__Import
enum link__Purpose {{ SECURITY EXECUTION }}
{body}
"#
    )
}

const V05_BODY: &str = r#"
type Query @join__type(graph: A) @join__type(graph: B) {
  users(filter: UserFilter, debug: Boolean @inaccessible): [User!]! @join__field(graph: A) @tag(name: "public")
  search: [SearchResult!]! @join__field(graph: B)
  secret: Secret @join__field(graph: B) @inaccessible
  nodes: [Node!]! @join__field(graph: A)
}

interface Node @join__type(graph: A, key: "id") @join__type(graph: B, key: "id", isInterfaceObject: true) {
  id: ID!
}

interface Hidden @join__type(graph: A) @inaccessible {
  hush: String
}

type User implements Node & Hidden
  @join__type(graph: A, key: "id")
  @join__type(graph: B, key: "id", resolvable: false)
  @join__implements(graph: A, interface: "Node")
  @join__implements(graph: A, interface: "Hidden")
{
  id: ID!
  hush: String @join__field(graph: A)
  internalId: Int @join__field(graph: A) @inaccessible
  role: Role @join__field(graph: A)
  plan: String @join__field(graph: A, overrideLabel: "percent(10)") @join__field(graph: B, override: "a", overrideLabel: "percent(10)")
  email: String @join__field(graph: A, usedOverridden: true) @join__field(graph: B, override: "a")
  legacy: String @join__field
}

type Secret @join__type(graph: B) @inaccessible {
  code: String
}

union SearchResult @join__type(graph: A) @join__type(graph: B) @join__unionMember(graph: B, member: "User") @join__unionMember(graph: B, member: "Secret") = User | Secret

enum Role @join__type(graph: A) @join__type(graph: B) {
  ADMIN @join__enumValue(graph: A) @inaccessible
  MEMBER @join__enumValue(graph: A) @join__enumValue(graph: B)
}

input UserFilter @join__type(graph: A) {
  role: Role
  internal: String @inaccessible
}
"#;

#[test]
fn inaccessible_elements_are_hidden_from_the_api_schema() {
    let supergraph = Supergraph::parse(&v05_supergraph(V05_BODY)).expect("v0.5 supergraph loads");
    let api = supergraph.api_schema();
    assert!(api.get_object("Secret").is_none());
    assert!(api.get_interface("Hidden").is_none());
    let query = api.get_object("Query").expect("Query");
    assert!(!query.fields.contains_key("secret"));
    let users = &query.fields["users"];
    let arguments: Vec<&str> = users.arguments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(arguments, ["filter"]);
    assert!(users.directives.is_empty(), "@tag removed");
    let user = api.get_object("User").expect("User");
    assert!(!user.fields.contains_key("internalId"));
    let interfaces: Vec<&str> = user
        .implements_interfaces
        .iter()
        .map(|i| i.as_str())
        .collect();
    assert_eq!(interfaces, ["Node"]);
    let role = api.get_enum("Role").expect("Role");
    assert_eq!(
        role.values.keys().map(|v| v.as_str()).collect::<Vec<_>>(),
        ["MEMBER"]
    );
    let filter = api.get_input_object("UserFilter").expect("UserFilter");
    assert!(!filter.fields.contains_key("internal"));
    assert_eq!(supergraph.possible_types("SearchResult"), ["User"]);
    assert_eq!(supergraph.possible_types("Node"), ["User"]);
    let printed = api.to_string();
    for hidden in ["@inaccessible", "@tag", "join__", "link__"] {
        assert!(!printed.contains(hidden), "{hidden} left in:\n{printed}");
    }
    // Everything is still in the full supergraph.
    assert!(supergraph.schema().get_object("Secret").is_some());
}

#[test]
fn per_graph_members_values_overrides_and_interface_objects() {
    let supergraph = Supergraph::parse(&v05_supergraph(V05_BODY)).expect("v0.5 supergraph loads");
    let a = graph_id(&supergraph, "a");
    let b = graph_id(&supergraph, "b");
    assert_eq!(
        supergraph.union_members_in("SearchResult", b),
        ["User", "Secret"]
    );
    assert!(supergraph.union_members_in("SearchResult", a).is_empty());
    assert_eq!(supergraph.enum_values_in("Role", a), ["ADMIN", "MEMBER"]);
    assert_eq!(supergraph.enum_values_in("Role", b), ["MEMBER"]);
    assert_eq!(supergraph.implementations_in("Node", a), ["User"]);
    assert!(supergraph.implementations_in("Node", b).is_empty());
    assert!(supergraph.is_interface_object("Node", b));
    assert!(!supergraph.is_interface_object("Node", a));
    assert!(supergraph.is_entity_in("User", a));
    assert!(!supergraph.is_entity_in("User", b), "resolvable: false");
    assert_eq!(supergraph.keys("User", b).len(), 1);

    let plan = supergraph.field_graphs("User", "plan");
    assert_eq!(plan.len(), 2);
    assert_eq!(plan[0].graph, a);
    assert_eq!(plan[0].override_from, None);
    assert_eq!(plan[0].override_label.as_deref(), Some("percent(10)"));
    assert_eq!(plan[1].override_from.as_deref(), Some("a"));

    let email = supergraph.field("User", "email").expect("email");
    assert_eq!(email.used_overridden_in, [a]);
    assert_eq!(
        email
            .resolvable_in
            .iter()
            .map(|f| f.graph)
            .collect::<Vec<_>>(),
        [b]
    );
    // `@join__field` without `graph:`: in no graph at all.
    assert!(supergraph.field_graphs("User", "legacy").is_empty());
    // No @join__field: every graph of the type.
    assert_eq!(supergraph.field_graphs("User", "id").len(), 2);
}

#[test]
fn referencing_an_inaccessible_type_from_a_visible_field_is_refused() {
    let body = V05_BODY.replace(
        "secret: Secret @join__field(graph: B) @inaccessible",
        "secret: Secret @join__field(graph: B)",
    );
    let err = Supergraph::parse(&v05_supergraph(&body)).expect_err("visible field to hidden type");
    assert_eq!(
        err,
        SupergraphError::ReferencedInaccessible {
            coordinate: "Query.secret".to_string(),
            referenced: "Secret".to_string(),
        }
    );
}

#[test]
fn invalid_join_arguments_are_reported_precisely() {
    let body = V05_BODY.replace(
        r#"@join__field(graph: A) @tag(name: "public")"#,
        r#"@join__field(graph: A, requires: "nope") @tag(name: "public")"#,
    );
    let err = Supergraph::parse(&v05_supergraph(&body)).expect_err("bad requires");
    match err {
        SupergraphError::InvalidFieldSet {
            directive,
            argument,
            coordinate,
            field_set,
            ..
        } => {
            assert_eq!(directive, "join__field");
            assert_eq!(argument, "requires");
            assert_eq!(coordinate, "Query.users");
            assert_eq!(field_set, "nope");
        }
        other => panic!("unexpected error {other}"),
    }
}

/// `@fromContext` arguments need context rewrites in the plan, which the router does not do
/// yet: a supergraph linking the context spec is refused, never served without them.
#[test]
fn context_supergraphs_are_refused_rather_than_served_without_arguments() {
    let sdl = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/composition/valid-context/supergraph.graphql"
    ))
    .expect("corpus supergraph");
    match Supergraph::parse(&sdl).expect_err("context spec") {
        SupergraphError::UnsupportedFeature { url, .. } => {
            assert_eq!(url, "https://specs.apollo.dev/context/v0.1");
        }
        other => panic!("unexpected error {other}"),
    }
}
