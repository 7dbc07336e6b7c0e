use junction_schema::{CompositionError, SubgraphInput, Supergraph, compose};
use std::collections::BTreeMap;

fn subgraph(name: &str, sdl: &str) -> SubgraphInput {
    SubgraphInput {
        name: name.to_string(),
        url: format!("http://{name}.test/graphql"),
        sdl: sdl.to_string(),
    }
}

fn compose_ok(subgraphs: &[SubgraphInput]) -> (String, Supergraph) {
    let sdl = match compose(subgraphs) {
        Ok(sdl) => sdl,
        Err(errors) => panic!("composition failed:\n{}", render(&errors)),
    };
    let supergraph = Supergraph::parse(&sdl).unwrap_or_else(|e| panic!("{e}\n{sdl}"));
    (sdl, supergraph)
}

fn compose_err(subgraphs: &[SubgraphInput]) -> Vec<CompositionError> {
    match compose(subgraphs) {
        Ok(sdl) => panic!("composition should fail but produced:\n{sdl}"),
        Err(errors) => errors,
    }
}

fn render(errors: &[CompositionError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn only_error<'e>(errors: &'e [CompositionError], code: &str) -> &'e CompositionError {
    assert_eq!(
        errors.iter().map(|e| e.code).collect::<Vec<_>>(),
        [code],
        "{}",
        render(errors)
    );
    &errors[0]
}

fn graphs_of(supergraph: &Supergraph, ty: &str, field: &str) -> Vec<String> {
    supergraph
        .field_graphs(ty, field)
        .iter()
        .map(|f| supergraph.graph(f.graph).expect("graph").name.clone())
        .collect()
}

const FED: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable", "@external", "@requires", "@provides", "@override", "@inaccessible", "@tag"])"#;

fn fed(body: &str) -> String {
    format!("{FED}\n{body}")
}

/// Everything the router reads from a supergraph, in a comparable form.
fn describe(supergraph: &Supergraph) -> BTreeMap<String, String> {
    let graph_name = |id| supergraph.graph(id).expect("graph").name.clone();
    let mut out = BTreeMap::new();
    for graph in supergraph.graphs() {
        out.insert(
            format!("graph {}", graph.name),
            format!("{} {}", graph.enum_value, graph.url),
        );
    }
    let api = supergraph.api_schema();
    for (name, ty) in &api.types {
        if ty.is_built_in() {
            continue;
        }
        let graphs: Vec<String> = supergraph
            .type_graphs(name)
            .iter()
            .map(|t| {
                let keys: Vec<String> = t
                    .keys
                    .iter()
                    .map(|k| {
                        format!(
                            "{}{}",
                            k.fields.as_str(),
                            if k.resolvable { "" } else { "!r" }
                        )
                    })
                    .collect();
                format!("{}{:?}", graph_name(t.graph), keys)
            })
            .collect();
        out.insert(format!("type {name}"), graphs.join(" "));
        let fields = match ty {
            apollo_compiler::schema::ExtendedType::Object(o) => &o.fields,
            apollo_compiler::schema::ExtendedType::Interface(i) => &i.fields,
            _ => continue,
        };
        for (field_name, field) in fields {
            let info = supergraph.field(name, field_name).expect("field info");
            let resolvers: Vec<String> = info
                .resolvable_in
                .iter()
                .map(|f| {
                    format!(
                        "{} requires={:?} provides={:?} type={:?}",
                        graph_name(f.graph),
                        f.requires.as_ref().map(|r| r.as_str().to_string()),
                        f.provides.as_ref().map(|p| p.as_str().to_string()),
                        f.subgraph_type.as_ref().map(|t| t.to_string()),
                    )
                })
                .collect();
            let external: Vec<String> = info.external_in.iter().map(|g| graph_name(*g)).collect();
            out.insert(
                format!("field {name}.{field_name}"),
                format!(
                    "{} | resolvers {resolvers:?} | external {external:?}",
                    field.node
                ),
            );
        }
    }
    out
}

#[test]
fn bench_subgraphs_compose_to_the_bench_supergraph() {
    let original = Supergraph::parse(include_str!(
        "../../router/tests/fixtures/bench/supergraph.graphql"
    ))
    .expect("bench supergraph loads");
    let inputs: Vec<SubgraphInput> = [
        (
            "reviews",
            include_str!("../../router/tests/fixtures/bench/subgraphs/reviews.graphql"),
        ),
        (
            "accounts",
            include_str!("../../router/tests/fixtures/bench/subgraphs/accounts.graphql"),
        ),
        (
            "products",
            include_str!("../../router/tests/fixtures/bench/subgraphs/products.graphql"),
        ),
        (
            "inventory",
            include_str!("../../router/tests/fixtures/bench/subgraphs/inventory.graphql"),
        ),
    ]
    .into_iter()
    .map(|(name, sdl)| SubgraphInput {
        name: name.to_string(),
        url: format!("http://0.0.0.0:4200/{name}"),
        sdl: sdl.to_string(),
    })
    .collect();
    let (sdl, composed) = compose_ok(&inputs);
    let expected = describe(&original);
    let actual = describe(&composed);
    for (key, value) in &expected {
        assert_eq!(actual.get(key), Some(value), "{key}\n{sdl}");
    }
    assert_eq!(actual.len(), expected.len(), "{sdl}");
    // Same API schema, same join data per field as written by @apollo/composition.
    assert_eq!(
        composed.api_schema().to_string(),
        original.api_schema().to_string()
    );
    assert!(sdl.contains(r#"@link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)"#));
    assert!(sdl.contains(
        r#"INVENTORY @join__graph(name: "inventory", url: "http://0.0.0.0:4200/inventory")"#
    ));
    assert!(
        sdl.contains(
            r#"shippingEstimate: Int @join__field(graph: INVENTORY, requires: "price weight")"#
        ),
        "{sdl}"
    );
    assert!(sdl.contains(r#"weight: Int @join__field(graph: INVENTORY, external: true) @join__field(graph: PRODUCTS)"#), "{sdl}");
    // Fields every defining subgraph resolves plainly carry no @join__field.
    assert!(sdl.contains("  upc: String!\n"), "{sdl}");
    // Input order does not matter.
    let mut reversed = inputs.clone();
    reversed.reverse();
    assert_eq!(compose(&reversed).expect("composes"), sdl);
}

const USERS: &str = "\"\"\"\nA registered user's public profile.\n\"\"\"\ntype User @key(fields: \"id\") {\n\tid: ID!\n\temail: String!\n\tname: String!\n\tcreatedAt: String!\n}\n\ntype UserConnection @shareable {\n\tpageInfo: PageInfo!\n\tedges: [UserEdge!]!\n\tnodes: [User!]!\n}\n\ntype UserEdge @shareable {\n\tnode: User!\n\tcursor: String!\n}\n\ntype PageInfo @shareable {\n\thasPreviousPage: Boolean!\n\thasNextPage: Boolean!\n\tstartCursor: String\n\tendCursor: String\n}\n\ninput CreateUserInput {\n\temail: String!\n\tname: String!\n}\n\ntype Query {\n\t\"\"\"\n\tThe caller, when the router forwarded a verified identity.\n\t\"\"\"\n\tme: User\n\tuser(id: ID!): User\n\tusers(first: Int! = 20, after: String): UserConnection!\n}\n\ntype Mutation {\n\tcreateUser(input: CreateUserInput!): User!\n}\n\ndirective @include(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT\ndirective @skip(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT\nextend schema @link(\n\turl: \"https://specs.apollo.dev/federation/v2.5\",\n\timport: [\"@key\", \"@tag\", \"@shareable\", \"@inaccessible\", \"@override\", \"@external\", \"@provides\", \"@requires\", \"@composeDirective\", \"@interfaceObject\", \"@requiresScopes\"]\n)\n";

const PRODUCTS: &str = "type Product @key(fields: \"id\") {\n\tid: ID!\n\tname: String!\n\tpriceCents: Int!\n\tstock: Int!\n\tseller: User\n}\n\ntype User @key(fields: \"id\") {\n\tid: ID!\n\tpurchasedProducts: [Product!]!\n}\n\ntype ProductConnection @shareable {\n\tpageInfo: PageInfo!\n\tedges: [ProductEdge!]!\n\tnodes: [Product!]!\n}\n\ntype ProductEdge @shareable {\n\tnode: Product!\n\tcursor: String!\n}\n\ntype PageInfo @shareable {\n\thasPreviousPage: Boolean!\n\thasNextPage: Boolean!\n\tstartCursor: String\n\tendCursor: String\n}\n\ninput CreateProductInput {\n\tname: String!\n\tpriceCents: Int!\n\tstock: Int! = 0\n}\n\ntype Query {\n\tproduct(id: ID!): Product\n\tproducts(first: Int! = 20, after: String): ProductConnection!\n\t_service: _Service!\n\t_entities(representations: [_Any!]!): [_Entity]!\n}\n\ntype Mutation {\n\tcreateProduct(input: CreateProductInput!): Product!\n\tadjustStock(id: ID!, delta: Int!): Product!\n}\n\nscalar _Any\nunion _Entity = Product | User\ntype _Service {\n\tsdl: String\n}\n\nextend schema @link(\n\turl: \"https://specs.apollo.dev/federation/v2.5\",\n\timport: [\"@key\", \"@tag\", \"@shareable\", \"@inaccessible\", \"@override\", \"@external\", \"@provides\", \"@requires\", \"@composeDirective\", \"@interfaceObject\", \"@requiresScopes\"]\n)\n";

#[test]
fn platform_subgraphs_compose_with_the_right_ownership() {
    let (sdl, supergraph) = compose_ok(&[subgraph("users", USERS), subgraph("products", PRODUCTS)]);
    let users = supergraph.graph_by_name("users").expect("users").id;
    let products = supergraph.graph_by_name("products").expect("products").id;
    assert_eq!(supergraph.graphs().len(), 2);
    assert_eq!(
        supergraph.graph(users).expect("graph").url,
        "http://users.test/graphql"
    );
    assert_eq!(supergraph.graph(users).expect("graph").enum_value, "USERS");
    for graph in [users, products] {
        assert_eq!(supergraph.keys("User", graph)[0].fields.as_str(), "id");
        assert!(supergraph.is_entity_in("User", graph));
    }
    assert_eq!(
        supergraph.keys("Product", products)[0].fields.as_str(),
        "id"
    );
    assert!(!supergraph.subgraph_type_exists("Product", users));
    assert_eq!(graphs_of(&supergraph, "User", "id"), ["products", "users"]);
    assert_eq!(graphs_of(&supergraph, "User", "email"), ["users"]);
    assert_eq!(
        graphs_of(&supergraph, "User", "purchasedProducts"),
        ["products"]
    );
    assert_eq!(graphs_of(&supergraph, "Query", "me"), ["users"]);
    assert_eq!(graphs_of(&supergraph, "Query", "users"), ["users"]);
    assert_eq!(graphs_of(&supergraph, "Query", "products"), ["products"]);
    assert_eq!(graphs_of(&supergraph, "Mutation", "createUser"), ["users"]);
    assert_eq!(
        graphs_of(&supergraph, "Mutation", "adjustStock"),
        ["products"]
    );
    // Shared value types are resolvable everywhere they are defined.
    assert_eq!(
        graphs_of(&supergraph, "PageInfo", "hasNextPage"),
        ["products", "users"]
    );
    assert!(sdl.contains("  hasNextPage: Boolean!\n"), "{sdl}");

    let api = supergraph.api_schema();
    for hidden in [
        "_service",
        "_entities",
        "_Service",
        "_Any",
        "_Entity",
        "@include",
    ] {
        assert!(!api.to_string().contains(hidden), "{hidden} leaked");
        assert!(!sdl.contains(hidden), "{hidden} leaked into the supergraph");
    }
    let query = api.get_object("Query").expect("Query");
    let me = &query.fields["me"];
    assert_eq!(
        me.description.as_deref(),
        Some("The caller, when the router forwarded a verified identity.")
    );
    let stock = &api
        .get_input_object("CreateProductInput")
        .expect("input")
        .fields["stock"];
    assert_eq!(
        stock
            .default_value
            .as_ref()
            .map(|v| v.to_string())
            .as_deref(),
        Some("0")
    );
    assert_eq!(
        api.schema_definition.mutation.as_ref().map(|m| m.as_str()),
        Some("Mutation")
    );
}

#[test]
fn unshared_field_in_two_subgraphs_is_invalid_field_sharing() {
    let a = fed("type Query { hello: String }");
    let b = fed("type Query { hello: String @shareable }");
    let errors = compose_err(&[subgraph("a", &a), subgraph("b", &b)]);
    let error = only_error(&errors, "INVALID_FIELD_SHARING");
    assert!(
        error.message.contains("\"Query.hello\""),
        "{}",
        error.message
    );
    assert!(
        error
            .message
            .contains("resolved from subgraphs \"a\" and \"b\"")
            && error.message.ends_with("non-shareable in subgraph \"a\""),
        "{}",
        error.message
    );
    let located: Vec<(&str, usize)> = error
        .locations
        .iter()
        .map(|l| (l.subgraph.as_str(), l.line))
        .collect();
    assert_eq!(located, [("a", 2), ("b", 2)]);
}

#[test]
fn incompatible_field_types_are_field_type_mismatch() {
    let a =
        fed("type Query { a: Int }\ntype T @key(fields: \"id\") { id: ID! age: Int @shareable }");
    let b = fed("type T @key(fields: \"id\") { id: ID! age: String @shareable }");
    let errors = compose_err(&[subgraph("a", &a), subgraph("b", &b)]);
    let error = only_error(&errors, "FIELD_TYPE_MISMATCH");
    assert_eq!(
        error.message,
        "Type of field \"T.age\" is incompatible across subgraphs: it has type \"Int\" in subgraph \"a\" but type \"String\" in subgraph \"b\""
    );
}

#[test]
fn nullability_differences_merge_to_the_general_type_with_join_field_types() {
    let a = fed(
        "type Query { a: Int }\ntype T @key(fields: \"id\") { id: ID! name: String! @shareable }",
    );
    let b = fed("type T @key(fields: \"id\") { id: ID! name: String @shareable }");
    let (sdl, supergraph) = compose_ok(&[subgraph("a", &a), subgraph("b", &b)]);
    let field = &supergraph.api_schema().get_object("T").expect("T").fields["name"];
    assert_eq!(field.ty.to_string(), "String");
    let types: Vec<Option<String>> = supergraph
        .field_graphs("T", "name")
        .iter()
        .map(|f| f.subgraph_type.as_ref().map(|t| t.to_string()))
        .collect();
    assert_eq!(
        types,
        [Some("String!".to_string()), Some("String".to_string())],
        "{sdl}"
    );
}

#[test]
fn syntax_error_is_invalid_graphql_with_subgraph_and_line() {
    let broken = fed("type Query {\n  a: Int\n  b: \n}");
    let errors = compose_err(&[
        subgraph("good", &fed("type Query { x: Int }")),
        subgraph("broken", &broken),
    ]);
    assert!(!errors.is_empty());
    for error in &errors {
        assert_eq!(error.code, "INVALID_GRAPHQL");
        assert!(error.message.starts_with("[broken]"), "{}", error.message);
        assert_eq!(error.locations[0].subgraph, "broken");
    }
    assert_eq!(errors[0].locations[0].line, 5, "{}", render(&errors));
    // Undefined types are caught by validation, with the subgraph named.
    let errors = compose_err(&[subgraph("s", &fed("type Query { a: Missing }"))]);
    let error = only_error(&errors, "INVALID_GRAPHQL");
    assert!(
        error.message.contains("Missing") && error.message.starts_with("[s]"),
        "{}",
        error.message
    );
}

/// (what is wrong, subgraphs (name, body), expected code)
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

#[test]
fn federation_rule_violations_have_apollo_codes() {
    let cases: &[Case] = &[
        (
            "external without a base",
            &[(
                "a",
                "type Query { t: T }\ntype T @key(fields: \"id\") { id: ID! x: Int @external y: Int @requires(fields: \"x\") }",
            )],
            "EXTERNAL_MISSING_ON_BASE",
        ),
        (
            "requires on a non-external field",
            &[(
                "a",
                "type Query { t: T }\ntype T @key(fields: \"id\") { id: ID! x: Int y: Int @requires(fields: \"x\") }",
            )],
            "REQUIRES_FIELDS_MISSING_EXTERNAL",
        ),
        (
            "key on an unknown field",
            &[(
                "a",
                "type Query { t: T }\ntype T @key(fields: \"nope\") { id: ID! }",
            )],
            "KEY_INVALID_FIELDS",
        ),
        (
            "key selecting an interface",
            &[(
                "a",
                "type Query { t: T }\ninterface I { id: ID! }\ntype X implements I { id: ID! }\ntype T @key(fields: \"i { id }\") { i: I! }",
            )],
            "KEY_FIELDS_SELECT_INVALID_TYPE",
        ),
        (
            "unused external",
            &[
                (
                    "a",
                    "type Query { t: T }\ntype T @key(fields: \"id\") { id: ID! x: Int }",
                ),
                (
                    "b",
                    "type T @key(fields: \"id\") { id: ID! x: Int @external }",
                ),
            ],
            "EXTERNAL_UNUSED",
        ),
        (
            "object in one subgraph, interface in another",
            &[
                ("a", "type Query { t: T }\ntype T { id: ID! }"),
                ("b", "interface T { id: ID! }"),
            ],
            "TYPE_KIND_MISMATCH",
        ),
        (
            "provides on a scalar field",
            &[("a", "type Query { n: Int @provides(fields: \"x\") }")],
            "PROVIDES_ON_NON_OBJECT_FIELD",
        ),
        (
            "override from itself",
            &[("a", "type Query { n: Int @override(from: \"a\") }")],
            "OVERRIDE_FROM_SELF_ERROR",
        ),
        (
            "required argument missing in a subgraph",
            &[
                ("a", "type Query { n(x: Int!): Int @shareable }"),
                ("b", "type Query { n: Int @shareable }"),
            ],
            "REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH",
        ),
        (
            "required input field missing in a subgraph",
            &[
                (
                    "a",
                    "type Query { n(f: F): Int }\ninput F { x: Int! y: Int }",
                ),
                ("b", "type Query { m(f: F): Int }\ninput F { y: Int }"),
            ],
            "REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH",
        ),
        (
            "enum used both ways with different values",
            &[
                ("a", "type Query { e(x: E): E }\nenum E { A B }"),
                ("b", "type Query { f: E }\nenum E { A }"),
            ],
            "ENUM_VALUE_MISMATCH",
        ),
        (
            "interface field not implemented",
            &[
                (
                    "a",
                    "type Query { i: I }\ninterface I { id: ID! }\ntype X implements I { id: ID! }",
                ),
                (
                    "b",
                    "interface I { id: ID! extra: Int }\ntype Y implements I { id: ID! extra: Int }",
                ),
            ],
            "INTERFACE_FIELD_NO_IMPLEM",
        ),
        (
            "visible field returning an inaccessible type",
            &[("a", "type Query { s: S }\ntype S @inaccessible { x: Int }")],
            "REFERENCED_INACCESSIBLE",
        ),
        (
            "@interfaceObject with no interface in any subgraph",
            &[(
                "a",
                "type Query { i: I }\ntype I @key(fields: \"id\") @interfaceObject { id: ID! }",
            )],
            "INTERFACE_OBJECT_USAGE_ERROR",
        ),
    ];
    for (what, subgraphs, expected) in cases {
        let inputs: Vec<SubgraphInput> = subgraphs
            .iter()
            .map(|(name, body)| {
                let fed_link = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable", "@external", "@requires", "@provides", "@override", "@inaccessible", "@tag", "@interfaceObject"])"#;
                subgraph(name, &format!("{fed_link}\n{body}"))
            })
            .collect();
        let errors = match compose(&inputs) {
            Ok(sdl) => panic!("{what}: composed:\n{sdl}"),
            Err(errors) => errors,
        };
        assert!(
            errors.iter().any(|e| e.code == *expected),
            "{what}: expected {expected}, got:\n{}",
            render(&errors)
        );
    }
}

#[test]
fn federation_1_subgraphs_are_upgraded_like_apollo_does() {
    // No @link: Federation 1. `extend type` + @external key, an unused @external, a value
    // type defined in both subgraphs, an entity field both resolve.
    let accounts = "type Query { me: User }\n\
        type User @key(fields: \"id\") { id: ID! name: String address: Address }\n\
        type Address { city: String }";
    let reviews = "extend type Query { reviews: [Review] }\n\
        type Review { body: String author: User }\n\
        type Address { city: String }\n\
        extend type User @key(fields: \"id\") { id: ID! @external nickname: String @external name: String reviews: [Review] }";
    let (sdl, supergraph) =
        compose_ok(&[subgraph("accounts", accounts), subgraph("reviews", reviews)]);
    // The extension became a definition: no `extension: true`, `id` resolvable in both.
    assert!(
        sdl.contains(r#"@join__type(graph: REVIEWS, key: "id")"#)
            && !sdl.contains("extension: true"),
        "{sdl}"
    );
    assert_eq!(
        graphs_of(&supergraph, "User", "id"),
        ["accounts", "reviews"]
    );
    // Both resolve `name`: made shareable rather than an INVALID_FIELD_SHARING error.
    assert_eq!(
        graphs_of(&supergraph, "User", "name"),
        ["accounts", "reviews"]
    );
    // The unused external is gone.
    assert!(supergraph.field("User", "nickname").is_none(), "{sdl}");
    assert_eq!(
        graphs_of(&supergraph, "Address", "city"),
        ["accounts", "reviews"]
    );

    // An extension with no base definition anywhere is refused.
    let errors = compose_err(&[subgraph(
        "a",
        "type Query { t: T }\nextend type T @key(fields: \"id\") { id: ID! @external x: Int }",
    )]);
    only_error(&errors, "EXTENSION_WITH_NO_BASE");
}

#[test]
fn override_moves_field_ownership() {
    let a =
        fed("type Query { t: T }\ntype T @key(fields: \"id\") { id: ID! total: Int code: String }");
    // Labels arrived with federation 2.7.
    let b = fed(
        "type T @key(fields: \"id\") { id: ID! total: Int @override(from: \"a\") code: String @override(from: \"a\", label: \"percent(25)\") }",
    )
    .replace("v2.5", "v2.7");
    let (sdl, supergraph) = compose_ok(&[subgraph("a", &a), subgraph("b", &b)]);
    assert!(
        sdl.contains(r#"total: Int @join__field(graph: B, override: "a")"#),
        "{sdl}"
    );
    assert_eq!(graphs_of(&supergraph, "T", "total"), ["b"]);
    let code = supergraph.field_graphs("T", "code");
    assert_eq!(graphs_of(&supergraph, "T", "code"), ["a", "b"]);
    assert_eq!(code[0].override_label.as_deref(), Some("percent(25)"));
    assert_eq!(code[0].override_from, None);
    assert_eq!(code[1].override_from.as_deref(), Some("a"));

    // Overriding a field the source still needs for its key keeps it as usedOverridden.
    let a = fed("type Query { t: T }\ntype T @key(fields: \"id sku\") { id: ID! sku: String }");
    let b = fed("type T @key(fields: \"id\") { id: ID! sku: String @override(from: \"a\") }");
    let (sdl, supergraph) = compose_ok(&[subgraph("a", &a), subgraph("b", &b)]);
    let a_id = supergraph.graph_by_name("a").expect("a").id;
    let sku = supergraph.field("T", "sku").expect("sku");
    assert_eq!(sku.used_overridden_in, [a_id], "{sdl}");
    assert_eq!(graphs_of(&supergraph, "T", "sku"), ["b"]);
}

#[test]
fn renamed_and_prefixed_federation_directives_are_recognised() {
    let a = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: [{ name: "@key", as: "@primaryKey" }])
type Query { t: T @federation__shareable }
type T @primaryKey(fields: "id") { id: ID! weight: Int }"#;
    let b = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", as: "fed", import: ["@key"])
type Query { t: T @fed__shareable }
type T @key(fields: "id") { id: ID! weight: Int @fed__external heavy: Boolean @fed__requires(fields: "weight") }"#;
    let (_, supergraph) = compose_ok(&[subgraph("a", a), subgraph("b", b)]);
    let b_id = supergraph.graph_by_name("b").expect("b").id;
    assert_eq!(supergraph.keys("T", b_id)[0].fields.as_str(), "id");
    assert_eq!(graphs_of(&supergraph, "Query", "t"), ["a", "b"]);
    assert_eq!(graphs_of(&supergraph, "T", "weight"), ["a"]);
    let heavy = supergraph.field_graphs("T", "heavy");
    assert_eq!(
        heavy[0].requires.as_ref().map(|r| r.as_str()),
        Some("weight")
    );
}

#[test]
fn extensions_custom_roots_and_federation_internals_are_normalised() {
    let a = fed("schema { query: RootQuery mutation: RootMutation }\n\
         type RootQuery { t: T }\ntype RootMutation { touch: T }\n\
         type T @key(fields: \"id\") { id: ID! }");
    let b = fed(
        "extend type T @key(fields: \"id\") { id: ID! extra: Int }\ntype T2 @federation__extends @key(fields: \"id\") { id: ID! }\ntype Query { t2: T2 }",
    );
    let (sdl, supergraph) = compose_ok(&[subgraph("a", &a), subgraph("b", &b)]);
    let api = supergraph.api_schema();
    assert!(api.get_object("RootQuery").is_none(), "{sdl}");
    assert_eq!(graphs_of(&supergraph, "Query", "t"), ["a"]);
    assert_eq!(graphs_of(&supergraph, "Mutation", "touch"), ["a"]);
    let b_id = supergraph.graph_by_name("b").expect("b").id;
    let a_id = supergraph.graph_by_name("a").expect("a").id;
    assert!(
        supergraph
            .type_in_graph("T", b_id)
            .expect("T in b")
            .extension
    );
    assert!(
        !supergraph
            .type_in_graph("T", a_id)
            .expect("T in a")
            .extension
    );
    assert!(
        supergraph
            .type_in_graph("T2", b_id)
            .expect("T2 in b")
            .extension
    );
}

#[test]
fn inaccessible_and_tags_reach_the_supergraph() {
    let a = fed(
        "type Query { users: [User!]! @tag(name: \"public\") internal: Int @inaccessible }\n\
         type User @key(fields: \"id\") { id: ID! secret: String @inaccessible role: Role }\n\
         enum Role { ADMIN @inaccessible MEMBER }",
    );
    let (sdl, supergraph) = compose_ok(&[subgraph("a", &a)]);
    assert!(
        sdl.contains(r#"@link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)"#),
        "{sdl}"
    );
    assert!(
        sdl.contains(r#"@link(url: "https://specs.apollo.dev/tag/v0.3")"#),
        "{sdl}"
    );
    let api = supergraph.api_schema();
    assert!(
        !api.get_object("Query")
            .expect("Query")
            .fields
            .contains_key("internal")
    );
    assert!(
        !api.get_object("User")
            .expect("User")
            .fields
            .contains_key("secret")
    );
    assert_eq!(api.get_enum("Role").expect("Role").values.len(), 1);
    assert!(
        supergraph
            .schema()
            .get_object("User")
            .expect("User")
            .fields
            .contains_key("secret")
    );
}

#[test]
fn enums_inputs_and_arguments_merge_with_apollo_rules() {
    let a = fed(
        "type Query { status: Status @shareable find(filter: Filter, limit: Int, offset: Int): Int @shareable search(kind: Kind): Int }\n\
         enum Status { ACTIVE }\nenum Kind { A B }\ninput Filter { name: String tag: String }",
    );
    let b = fed(
        "type Query { status: Status @shareable find(filter: Filter, limit: Int): Int @shareable other(kind: Kind): Int }\n\
         enum Status { ACTIVE DELETED }\nenum Kind { A C }\ninput Filter { name: String }",
    );
    let (sdl, supergraph) = compose_ok(&[subgraph("a", &a), subgraph("b", &b)]);
    let api = supergraph.api_schema();
    let values = |name: &str| -> Vec<String> {
        api.get_enum(name)
            .expect("enum")
            .values
            .keys()
            .map(|v| v.to_string())
            .collect()
    };
    assert_eq!(
        values("Status"),
        ["ACTIVE", "DELETED"],
        "output enums: union"
    );
    assert_eq!(values("Kind"), ["A"], "input enums: intersection");
    let filter: Vec<&str> = api
        .get_input_object("Filter")
        .expect("Filter")
        .fields
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(filter, ["name"], "input objects: intersection");
    let find = &api.get_object("Query").expect("Query").fields["find"];
    let arguments: Vec<&str> = find.arguments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(arguments, ["filter", "limit"], "arguments: intersection");
    let a_id = supergraph.graph_by_name("a").expect("a").id;
    let b_id = supergraph.graph_by_name("b").expect("b").id;
    assert_eq!(supergraph.enum_values_in("Status", a_id), ["ACTIVE"]);
    assert_eq!(
        supergraph.enum_values_in("Status", b_id),
        ["ACTIVE", "DELETED"],
        "{sdl}"
    );
}

#[test]
fn unions_and_interfaces_record_per_graph_membership() {
    let a = fed(
        "type Query { search: [Result!]! node: Node }\nunion Result = Book\n\
         interface Node { id: ID! }\ntype Book implements Node @key(fields: \"id\") { id: ID! title: String }",
    );
    let b = fed("union Result = Movie\ninterface Node { id: ID! }\n\
         type Movie implements Node @key(fields: \"id\") { id: ID! }");
    let (sdl, supergraph) = compose_ok(&[subgraph("a", &a), subgraph("b", &b)]);
    let a_id = supergraph.graph_by_name("a").expect("a").id;
    let b_id = supergraph.graph_by_name("b").expect("b").id;
    assert_eq!(
        supergraph.possible_types("Result"),
        ["Book", "Movie"],
        "{sdl}"
    );
    assert_eq!(supergraph.union_members_in("Result", a_id), ["Book"]);
    assert_eq!(supergraph.union_members_in("Result", b_id), ["Movie"]);
    assert_eq!(supergraph.implementations_in("Node", a_id), ["Book"]);
    assert_eq!(supergraph.implementations_in("Node", b_id), ["Movie"]);
}

#[test]
fn duplicate_or_empty_subgraph_names_are_refused() {
    let body = fed("type Query { a: Int }");
    let errors = compose_err(&[subgraph("x", &body), subgraph("x", &body)]);
    only_error(&errors, "INVALID_SUBGRAPH_NAME");
    let errors = compose_err(&[subgraph("", &body)]);
    only_error(&errors, "INVALID_SUBGRAPH_NAME");
}

#[test]
fn subgraph_with_only_federation_query_fields_still_has_the_query_type() {
    let inventory = fed(
        "type Query {\n  _entities(representations: [_Any!]!): [_Entity]!\n  _service: _Service!\n}\n\
         scalar _Any\nunion _Entity = Product\ntype _Service { sdl: String }\n\
         type Product @key(fields: \"upc\") { upc: String! inStock: Boolean }",
    );
    let products =
        fed("type Query { top: [Product] }\ntype Product @key(fields: \"upc\") { upc: String! }");
    let (sdl, supergraph) = compose_ok(&[
        subgraph("inventory", &inventory),
        subgraph("products", &products),
    ]);
    assert_eq!(supergraph.type_graphs("Query").len(), 2, "{sdl}");
    assert_eq!(graphs_of(&supergraph, "Query", "top"), ["products"]);
    assert_eq!(graphs_of(&supergraph, "Product", "inStock"), ["inventory"]);
    assert!(!sdl.contains("_entities") && !sdl.contains("_Any"), "{sdl}");
}

#[test]
fn one_of_inputs_and_deprecations_are_carried() {
    let a = fed("directive @oneOf on INPUT_OBJECT\n\
         type Query { find(by: By!): Int old: Int @deprecated(reason: \"use find\") }\n\
         input By @oneOf { id: ID name: String }");
    let (_, supergraph) = compose_ok(&[subgraph("a", &a)]);
    let api = supergraph.api_schema();
    assert!(
        api.get_input_object("By")
            .expect("By")
            .directives
            .has("oneOf")
    );
    let old = &api.get_object("Query").expect("Query").fields["old"];
    let reason = old
        .directives
        .get("deprecated")
        .and_then(|d| d.specified_argument_by_name("reason"))
        .and_then(|v| v.as_str());
    assert_eq!(reason, Some("use find"));
}
