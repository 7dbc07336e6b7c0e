//! `junction_schema::check::check`: composition, classified changes and their effect on
//! known operations.

use junction_schema::check::{KnownOperation, check};
use junction_schema::diff::Criticality;
use junction_schema::{SubgraphInput, Supergraph, compose};

const USERS: &str = r#"
extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@shareable"])
type Query { user(id: ID!): User users(first: Int): [User!]! }
type User @key(fields: "id") { id: ID! name: String role: Role email: String }
enum Role { ADMIN MEMBER }
"#;

const REVIEWS: &str = r#"
extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
type User @key(fields: "id") { id: ID! reviews: [Review!]! }
type Review { id: ID! body: String! }
"#;

fn input(name: &str, sdl: &str) -> SubgraphInput {
    SubgraphInput {
        name: name.into(),
        url: format!("http://{name}.example/graphql"),
        sdl: sdl.into(),
    }
}

fn current() -> Supergraph {
    Supergraph::parse(&compose(&[input("users", USERS), input("reviews", REVIEWS)]).unwrap())
        .unwrap()
}

fn op(name: &str, body: &str) -> KnownOperation {
    KnownOperation {
        name: name.into(),
        body: body.into(),
    }
}

fn proposed_users(sdl: &str) -> Vec<SubgraphInput> {
    vec![input("users", sdl), input("reviews", REVIEWS)]
}

#[test]
fn a_change_that_does_not_compose_fails_with_the_composition_errors() {
    let broken = USERS
        .replace("type User @key", "type User @shareable @key")
        .replace("name: String", "name: String body: Int");
    let bad_reviews = REVIEWS.replace("reviews: [Review!]!", "reviews: [Review!]! name: Int");
    let report = check(
        Some(&current()),
        &[input("users", &broken), input("reviews", &bad_reviews)],
        &[],
    );
    assert!(!report.passed());
    assert!(
        report
            .composition_errors
            .iter()
            .any(|e| e.code == "INVALID_FIELD_SHARING" || e.code == "FIELD_TYPE_MISMATCH"),
        "{:?}",
        report.composition_errors
    );
    assert!(report.supergraph.is_none());
}

#[test]
fn removing_a_field_an_operation_uses_fails_and_names_the_operation() {
    let report = check(
        Some(&current()),
        &proposed_users(&USERS.replace("email: String", "")),
        &[
            op("Profile", "query Profile { user(id: 1) { name email } }"),
            op("Names", "query Names { users { name } }"),
        ],
    );
    assert!(!report.passed());
    let removed = report
        .changes
        .iter()
        .find(|c| c.change.kind == "FIELD_REMOVED")
        .unwrap();
    assert_eq!(removed.change.path.as_deref(), Some("User.email"));
    assert_eq!(removed.change.criticality, Criticality::Breaking);
    assert_eq!(removed.affected_operations, ["Profile"]);
    assert!(!removed.safe_by_usage);
    assert_eq!(report.operations_checked, 2);
    assert_eq!(report.operation_failures.len(), 1);
    assert_eq!(report.operation_failures[0].operation, "Profile");
    assert!(report.operation_failures[0].message.contains("email"));
}

#[test]
fn a_breaking_change_no_known_operation_uses_is_safe_by_usage() {
    let proposed = proposed_users(&USERS.replace("email: String", ""));
    let report = check(
        Some(&current()),
        &proposed,
        &[op(
            "Names",
            "query Names { users { name reviews { body } } }",
        )],
    );
    assert!(report.passed(), "{:?}", report.changes);
    let removed = &report.changes[0];
    assert_eq!(removed.change.kind, "FIELD_REMOVED");
    assert!(removed.safe_by_usage);

    // Without any usage to go by, the same change fails.
    let report = check(Some(&current()), &proposed, &[]);
    assert!(!report.passed());
    assert_eq!(report.blocking_changes().count(), 1);
}

#[test]
fn removing_an_enum_value_breaks_operations_that_read_the_enum_even_if_they_validate() {
    let report = check(
        Some(&current()),
        &proposed_users(&USERS.replace("ADMIN MEMBER", "MEMBER")),
        &[
            op("Roles", "{ users { role } }"),
            op("Names", "{ users { name } }"),
        ],
    );
    assert!(report.operation_failures.is_empty());
    let removed = &report.changes[0];
    assert_eq!(removed.change.kind, "ENUM_VALUE_REMOVED");
    assert_eq!(removed.affected_operations, ["Roles"]);
    assert!(!report.passed());
}

#[test]
fn additions_pass_and_dangerous_ones_are_reported() {
    let report = check(
        Some(&current()),
        &proposed_users(
            &USERS
                .replace("ADMIN MEMBER", "ADMIN MEMBER GUEST")
                .replace("email: String", "email: String nickname: String"),
        ),
        &[],
    );
    assert!(report.passed(), "{:?}", report.changes);
    let kinds: Vec<_> = report
        .changes
        .iter()
        .map(|c| (c.change.kind, c.change.criticality))
        .collect();
    assert!(kinds.contains(&("ENUM_VALUE_ADDED", Criticality::Dangerous)));
    assert!(kinds.contains(&("FIELD_ADDED", Criticality::Safe)));
}

#[test]
fn making_an_argument_required_breaks_callers_that_omit_it() {
    let report = check(
        Some(&current()),
        &proposed_users(&USERS.replace("users(first: Int)", "users(first: Int!)")),
        &[
            op("All", "{ users { name } }"),
            op("Some", "{ users(first: 2) { name } }"),
            op("One", "{ user(id: 1) { name } }"),
        ],
    );
    let change = &report.changes[0];
    assert_eq!(change.change.kind, "FIELD_ARGUMENT_TYPE_CHANGED");
    assert_eq!(change.affected_operations, ["All", "Some"]);
    assert_eq!(report.operation_failures.len(), 1);
    assert_eq!(report.operation_failures[0].operation, "All");
    assert!(!report.passed());
}
