//! The Federation 2 subgraph spec (`https://specs.apollo.dev/federation/v2.x`): which
//! directives exist, what a subgraph calls them, and their definitions (subgraph SDLs printed
//! by servers usually omit them, but validation needs them).

use crate::link::Link;
use std::collections::HashSet;

/// Directives composition implements.
pub(crate) const SUPPORTED: &[&str] = &[
    "key",
    "shareable",
    "external",
    "requires",
    "provides",
    "override",
    "inaccessible",
    "tag",
    "extends",
];

/// Every Federation 2 directive with its definition (`{FieldSet}` etc. stand for the local
/// names of the spec's scalars). Those not in [`SUPPORTED`] may be imported but not used.
const DEFINITIONS: &[(&str, &str)] = &[
    (
        "key",
        "(fields: {FieldSet}!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE",
    ),
    ("requires", "(fields: {FieldSet}!) on FIELD_DEFINITION"),
    ("provides", "(fields: {FieldSet}!) on FIELD_DEFINITION"),
    ("external", "(reason: String) on OBJECT | FIELD_DEFINITION"),
    (
        "tag",
        "(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION | SCHEMA",
    ),
    ("extends", " on OBJECT | INTERFACE"),
    ("shareable", " repeatable on OBJECT | FIELD_DEFINITION"),
    (
        "inaccessible",
        " on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION",
    ),
    (
        "override",
        "(from: String!, label: String) on FIELD_DEFINITION",
    ),
    ("composeDirective", "(name: String!) repeatable on SCHEMA"),
    ("interfaceObject", " on OBJECT"),
    (
        "authenticated",
        " on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    ),
    (
        "requiresScopes",
        "(scopes: [[{Scope}!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    ),
    (
        "policy",
        "(policies: [[{Policy}!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    ),
    (
        "context",
        "(name: String!) repeatable on INTERFACE | OBJECT | UNION",
    ),
    (
        "fromContext",
        "(field: {ContextFieldValue}) on ARGUMENT_DEFINITION",
    ),
    (
        "cost",
        "(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR",
    ),
    (
        "listSize",
        "(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION",
    ),
];

const SCALARS: &[&str] = &["FieldSet", "Scope", "Policy", "ContextFieldValue"];

/// The names a subgraph uses for the federation spec's elements.
#[derive(Debug, Clone)]
pub(crate) struct FederationNames {
    link: Link,
    directives: Vec<(&'static str, String)>,
}

impl FederationNames {
    pub fn new(link: Link) -> Self {
        let directives = DEFINITIONS
            .iter()
            .map(|(name, _)| (*name, link.directive_name(name)))
            .collect();
        FederationNames { link, directives }
    }

    /// The local name (without `@`) of spec directive `spec_name`.
    pub fn local<'a>(&'a self, spec_name: &'a str) -> &'a str {
        self.directives
            .iter()
            .find(|(name, _)| *name == spec_name)
            .map(|(_, local)| local.as_str())
            .unwrap_or(spec_name)
    }

    /// Which spec directive a local directive name stands for.
    pub fn spec_directive(&self, local: &str) -> Option<&'static str> {
        self.directives
            .iter()
            .find(|(_, l)| l == local)
            .map(|(name, _)| *name)
    }

    /// Whether `name` is a type of the federation spec in this subgraph.
    pub fn owns_type(&self, name: &str) -> bool {
        self.link.owns_type(name)
    }

    /// Local names that `import:` introduces (to check they are valid GraphQL names).
    pub fn imported_aliases(&self) -> impl Iterator<Item = &str> {
        self.link
            .imports
            .iter()
            .map(|i| i.alias.trim_start_matches('@'))
    }

    /// SDL defining the federation elements the subgraph did not define itself.
    pub fn missing_definitions(
        &self,
        defined_directives: &HashSet<String>,
        defined_types: &HashSet<String>,
    ) -> String {
        let mut sdl = String::new();
        for scalar in SCALARS {
            let local = self.link.type_name(scalar);
            if !defined_types.contains(&local) {
                sdl.push_str(&format!("scalar {local}\n"));
            }
        }
        for (name, definition) in DEFINITIONS {
            let local = self.local(name);
            if defined_directives.contains(local) {
                continue;
            }
            let mut definition = definition.to_string();
            for scalar in SCALARS {
                definition =
                    definition.replace(&format!("{{{scalar}}}"), &self.link.type_name(scalar));
            }
            sdl.push_str(&format!("directive @{local}{definition}\n"));
        }
        sdl
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apollo_compiler::ast;

    #[test]
    fn definitions_parse_under_renamed_imports() {
        let doc = ast::Document::parse(
            r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5",
                 import: [{ name: "@key", as: "@primaryKey" }, "FieldSet"])"#,
            "test.graphql",
        )
        .expect("parses");
        let link = Link::from_directive(&doc.definitions[0].directives()[0]).expect("link");
        let names = FederationNames::new(link);
        assert_eq!(names.local("key"), "primaryKey");
        assert_eq!(names.local("shareable"), "federation__shareable");
        assert_eq!(names.spec_directive("primaryKey"), Some("key"));
        let sdl = names.missing_definitions(&HashSet::new(), &HashSet::new());
        assert!(
            sdl.contains("directive @primaryKey(fields: FieldSet!"),
            "{sdl}"
        );
        assert!(sdl.contains("scalar federation__Scope"), "{sdl}");
        let schema = apollo_compiler::Schema::parse_and_validate(
            format!("{sdl}\ntype Query {{ a: Int }}"),
            "defs.graphql",
        );
        assert!(schema.is_ok(), "{schema:?}");
    }
}
