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
    "interfaceObject",
    "authenticated",
    "requiresScopes",
    "policy",
    "cost",
    "listSize",
    "composeDirective",
];

/// Every Federation 2 directive, the 2.x minor version that added it, and its definition
/// (`{FieldSet}` etc. stand for the local
/// names of the spec's scalars; before 2.7 `@override` has no `label:`, before 2.2 `@shareable`
/// is not repeatable). Those not in [`SUPPORTED`] may be imported but not used.
const DEFINITIONS: &[(&str, u32, &str)] = &[
    (
        "key",
        0,
        "(fields: {FieldSet}!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE",
    ),
    ("requires", 0, "(fields: {FieldSet}!) on FIELD_DEFINITION"),
    ("provides", 0, "(fields: {FieldSet}!) on FIELD_DEFINITION"),
    (
        "external",
        0,
        "(reason: String) on OBJECT | FIELD_DEFINITION",
    ),
    (
        "tag",
        0,
        "(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION | SCHEMA",
    ),
    ("extends", 0, " on OBJECT | INTERFACE"),
    ("shareable", 0, " repeatable on OBJECT | FIELD_DEFINITION"),
    (
        "inaccessible",
        0,
        " on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION",
    ),
    (
        "override",
        0,
        "(from: String!, label: String) on FIELD_DEFINITION",
    ),
    (
        "composeDirective",
        1,
        "(name: String!) repeatable on SCHEMA",
    ),
    ("interfaceObject", 3, " on OBJECT"),
    (
        "authenticated",
        5,
        " on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    ),
    (
        "requiresScopes",
        5,
        "(scopes: [[{Scope}!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    ),
    (
        "policy",
        6,
        "(policies: [[{Policy}!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    ),
    (
        "context",
        8,
        "(name: String!) repeatable on INTERFACE | OBJECT | UNION",
    ),
    (
        "fromContext",
        8,
        "(field: {ContextFieldValue}) on ARGUMENT_DEFINITION",
    ),
    (
        "cost",
        9,
        "(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR",
    ),
    (
        "listSize",
        9,
        "(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION",
    ),
];

/// The spec's scalars and the minor version that added each.
const SCALARS: &[(&str, u32)] = &[
    ("FieldSet", 0),
    ("Scope", 5),
    ("Policy", 6),
    ("ContextFieldValue", 8),
];

/// The names a subgraph uses for the federation spec's elements.
#[derive(Debug, Clone)]
pub(crate) struct FederationNames {
    link: Link,
    directives: Vec<(&'static str, String)>,
}

impl FederationNames {
    pub fn new(link: Link) -> Self {
        let minor = link.spec.version.minor;
        let directives = DEFINITIONS
            .iter()
            .filter(|(_, since, _)| minor >= *since)
            .map(|(name, _, _)| (*name, link.directive_name(name)))
            .collect();
        FederationNames { link, directives }
    }

    /// Imports of directives the linked version does not have (`@interfaceObject` from
    /// v2.0, say), as `(import, first version that has it)`.
    pub fn unknown_imports(&self) -> Vec<(String, Option<String>)> {
        self.link
            .imports
            .iter()
            .filter_map(|import| {
                let since = match import.element.strip_prefix('@') {
                    Some(name) => {
                        if self.directives.iter().any(|(spec, _)| *spec == name) {
                            return None;
                        }
                        DEFINITIONS
                            .iter()
                            .find(|(spec, _, _)| *spec == name)
                            .map(|(_, since, _)| *since)
                    }
                    None => {
                        let since = SCALARS
                            .iter()
                            .find(|(scalar, _)| *scalar == import.element)
                            .map(|(_, since)| *since);
                        if since.is_some_and(|since| self.link.spec.version.minor >= since) {
                            return None;
                        }
                        since
                    }
                };
                Some((import.element.clone(), since.map(|s| format!("v2.{s}"))))
            })
            .collect()
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

    /// The federation version the subgraph links.
    pub fn version(&self) -> crate::link::Version {
        self.link.spec.version
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
        let minor = self.link.spec.version.minor;
        for (scalar, since) in SCALARS {
            if minor < *since {
                continue;
            }
            let local = self.link.type_name(scalar);
            if !defined_types.contains(&local) {
                sdl.push_str(&format!("scalar {local}\n"));
            }
        }
        for (name, since, definition) in DEFINITIONS {
            let local = self.local(name);
            if minor < *since || defined_directives.contains(local) {
                continue;
            }
            let mut definition = match *name {
                "override" if minor < 7 => "(from: String!) on FIELD_DEFINITION".to_string(),
                "shareable" if minor < 2 => " on OBJECT | FIELD_DEFINITION".to_string(),
                _ => definition.to_string(),
            };
            for (scalar, _) in SCALARS {
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
