//! Writes the supergraph SDL: `schema` with its `@link`s, the link/join definitions, the
//! `join__Graph` enum and the merged types, in the layout `@apollo/composition` uses.

use super::composed_directives::ComposedDirectives;
use super::merge::Merged;
use super::specs::{SPECS, Spec, SpecDirective};
use super::subgraph::Subgraph;
use crate::link::Version;
use apollo_compiler::ast;
use apollo_compiler::{Name, Node};

/// The join spec version `@apollo/composition` writes: the oldest that the newest
/// federation version among the subgraphs needs (2.7 added override labels, 2.8 contexts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum JoinVersion {
    V0_3,
    V0_4,
    V0_5,
}

impl JoinVersion {
    pub fn for_federation(version: Version) -> JoinVersion {
        match (version.major, version.minor) {
            (2, minor) if minor >= 8 => JoinVersion::V0_5,
            (2, 7) => JoinVersion::V0_4,
            _ => JoinVersion::V0_3,
        }
    }

    fn url(self) -> &'static str {
        match self {
            JoinVersion::V0_3 => "https://specs.apollo.dev/join/v0.3",
            JoinVersion::V0_4 => "https://specs.apollo.dev/join/v0.4",
            JoinVersion::V0_5 => "https://specs.apollo.dev/join/v0.5",
        }
    }

    /// The join directive definitions and `@link`'s.
    fn directives(self) -> Vec<String> {
        let mut out = Vec::new();
        if self >= JoinVersion::V0_4 {
            out.push("directive @join__directive(graphs: [join__Graph!], name: String!, args: join__DirectiveArguments) repeatable on SCHEMA | OBJECT | INTERFACE | FIELD_DEFINITION".to_string());
        }
        out.push(
            "directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE".to_string(),
        );
        let field_arguments = match self {
            JoinVersion::V0_3 => "",
            JoinVersion::V0_4 => ", overrideLabel: String",
            JoinVersion::V0_5 => {
                ", overrideLabel: String, contextArguments: [join__ContextArgument!]"
            }
        };
        out.push(format!("directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean{field_arguments}) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION"));
        out.push("directive @join__graph(name: String!, url: String!) on ENUM_VALUE".to_string());
        out.push("directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE".to_string());
        out.push("directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR".to_string());
        out.push("directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION".to_string());
        out.push("directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA".to_string());
        out
    }

    /// The join types other than `join__Graph`.
    fn types(self) -> Vec<&'static str> {
        match self {
            JoinVersion::V0_3 => vec!["scalar join__FieldSet"],
            JoinVersion::V0_4 => vec!["scalar join__DirectiveArguments", "scalar join__FieldSet"],
            JoinVersion::V0_5 => vec![
                JOIN_CONTEXT_ARGUMENT,
                "scalar join__DirectiveArguments",
                "scalar join__FieldSet",
                "scalar join__FieldValue",
            ],
        }
    }
}

const JOIN_CONTEXT_ARGUMENT: &str = r#"input join__ContextArgument {
  name: String!
  type: String!
  context: String!
  selection: join__FieldValue!
}"#;

const LINK_IMPORT: &str = "scalar link__Import";

const LINK_PURPOSE: &str = r#"enum link__Purpose {
  """
  `SECURITY` features provide metadata necessary to securely resolve fields.
  """
  SECURITY

  """
  `EXECUTION` features provide metadata necessary for operation execution.
  """
  EXECUTION
}"#;

pub(super) fn supergraph_sdl(
    subgraphs: &[Subgraph],
    graph_values: &[Name],
    merged: &Merged,
    composed_directives: &ComposedDirectives,
) -> String {
    let join = subgraphs
        .iter()
        .map(|s| JoinVersion::for_federation(s.fed.version()))
        .max()
        .unwrap_or(JoinVersion::V0_3);

    let mut schema = format!(
        "schema\n  @link(url: \"https://specs.apollo.dev/link/v1.0\")\n  @link(url: \"{}\", for: EXECUTION)\n",
        join.url()
    );
    let mut directives: Vec<String> = join.directives();
    let mut types: Vec<String> = join.types().into_iter().map(str::to_string).collect();
    for spec in SPECS {
        let used: Vec<&SpecDirective> = spec
            .directives
            .iter()
            .filter(|d| merged.spec_names.contains_key(d.name))
            .collect();
        if used.is_empty() {
            continue;
        }
        schema.push_str(&spec_link(spec, &used, merged));
        for definition in spec.directives {
            let name = merged
                .spec_names
                .get(definition.name)
                .map(|n| n.to_string())
                .unwrap_or_else(|| {
                    if definition.name == spec.name {
                        spec.name.to_string()
                    } else {
                        format!("{}__{}", spec.name, definition.name)
                    }
                });
            let body = definition.definition.replace("{prefix}", spec.name);
            directives.push(format!("directive @{name}{body}"));
        }
        for scalar in spec.scalars {
            types.push(format!("scalar {}__{scalar}", spec.name));
        }
    }
    for link in &composed_directives.links {
        schema.push_str(&format!("  {link}\n"));
    }
    for definition in &composed_directives.definitions {
        directives.push(definition.to_string());
    }
    if merged.uses_one_of {
        directives.push("directive @oneOf on INPUT_OBJECT".to_string());
    }
    schema.push_str("{\n");
    for (operation, name) in &merged.root_operations {
        schema.push_str(&format!("  {}: {name}\n", operation.name()));
    }
    schema.push('}');

    types.push(graph_enum(subgraphs, graph_values).to_string());
    types.push(LINK_IMPORT.to_string());
    types.push(LINK_PURPOSE.to_string());
    for definition in &merged.definitions {
        types.push(definition.to_string());
    }
    // Apollo's order: directives by name, then types by name ignoring case.
    let name_of = |text: &str| -> String {
        without_description(text)
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .trim_start_matches('@')
            .split(['(', '{'])
            .next()
            .unwrap_or_default()
            .to_string()
    };
    directives.sort_by_key(|d| name_of(d));
    types.sort_by_key(|t| {
        let name = name_of(t);
        (name.to_lowercase(), name)
    });

    let mut sections = vec![schema];
    sections.extend(directives);
    sections.extend(types.into_iter().map(|t| t.trim_end().to_string()));
    let mut sdl = sections.join("\n\n");
    sdl.push('\n');
    sdl
}

/// A printed definition after its description, if it has one.
fn without_description(text: &str) -> &str {
    let text = text.trim_start();
    if let Some(rest) = text.strip_prefix("\"\"\"") {
        rest.find("\"\"\"").map_or("", |end| &rest[end + 3..])
    } else if text.starts_with('"') {
        text.split_once('\n').map_or("", |(_, rest)| rest)
    } else {
        text
    }
}

/// `@link` of a spec whose directives the supergraph uses, importing those that keep a
/// name other than the spec's default.
fn spec_link(spec: &Spec, used: &[&SpecDirective], merged: &Merged) -> String {
    let mut imports = Vec::new();
    for directive in used {
        let Some(name) = merged.spec_names.get(directive.name) else {
            continue;
        };
        let default = if directive.name == spec.name {
            spec.name.to_string()
        } else {
            format!("{}__{}", spec.name, directive.name)
        };
        if name.as_str() == default {
            continue;
        }
        if name.as_str() == directive.name {
            imports.push(format!("\"@{name}\""));
        } else {
            imports.push(format!(
                "{{name: \"@{}\", as: \"@{name}\"}}",
                directive.name
            ));
        }
    }
    let mut link = format!("  @link(url: \"{}\"", spec.url());
    if let Some(purpose) = spec.purpose {
        link.push_str(&format!(", for: {purpose}"));
    }
    if !imports.is_empty() {
        link.push_str(&format!(", import: [{}]", imports.join(", ")));
    }
    link.push_str(")\n");
    link
}

fn graph_enum(subgraphs: &[Subgraph], graph_values: &[Name]) -> ast::EnumTypeDefinition {
    let values = subgraphs
        .iter()
        .zip(graph_values)
        .map(|(subgraph, value)| {
            let argument = |name: &str, value: &str| {
                Node::new(ast::Argument {
                    name: Name::new_unchecked(name),
                    value: Node::new(ast::Value::String(value.to_string())),
                })
            };
            Node::new(ast::EnumValueDefinition {
                description: None,
                value: value.clone(),
                directives: ast::DirectiveList(vec![Node::new(ast::Directive {
                    name: Name::new_unchecked("join__graph"),
                    arguments: vec![
                        argument("name", &subgraph.name),
                        argument("url", &subgraph.url),
                    ],
                })]),
            })
        })
        .collect();
    ast::EnumTypeDefinition {
        description: None,
        name: Name::new_unchecked("join__Graph"),
        directives: ast::DirectiveList::default(),
        values,
    }
}
