//! Writes the supergraph SDL: `schema` with its `@link`s, the link/join definitions, the
//! `join__Graph` enum and the merged types, in the layout `@apollo/composition` uses.

use super::merge::Merged;
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

    /// The join directive definitions, then `@link`'s, sorted by name as Apollo prints them.
    fn directives(self) -> String {
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
        out.join("\n\n")
    }

    /// The join types printed before `join__Graph`.
    fn types_before_graph(self) -> &'static str {
        match self {
            JoinVersion::V0_3 => "scalar join__FieldSet",
            JoinVersion::V0_4 => "scalar join__DirectiveArguments\n\nscalar join__FieldSet",
            JoinVersion::V0_5 => JOIN_V0_5_TYPES,
        }
    }
}

const INACCESSIBLE_DIRECTIVE: &str = "directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION";

const TAG_DIRECTIVE: &str = "directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION | SCHEMA";

const JOIN_V0_5_TYPES: &str = r#"input join__ContextArgument {
  name: String!
  type: String!
  context: String!
  selection: join__FieldValue!
}

scalar join__DirectiveArguments

scalar join__FieldSet

scalar join__FieldValue"#;

const LINK_TYPES: &str = r#"scalar link__Import

enum link__Purpose {
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
) -> String {
    let mut sections: Vec<String> = Vec::new();
    let join = subgraphs
        .iter()
        .map(|s| JoinVersion::for_federation(s.fed.version()))
        .max()
        .unwrap_or(JoinVersion::V0_3);

    let mut schema = format!(
        "schema\n  @link(url: \"https://specs.apollo.dev/link/v1.0\")\n  @link(url: \"{}\", for: EXECUTION)\n",
        join.url()
    );
    if merged.uses_tag {
        schema.push_str("  @link(url: \"https://specs.apollo.dev/tag/v0.3\")\n");
    }
    if merged.uses_inaccessible {
        schema.push_str(
            "  @link(url: \"https://specs.apollo.dev/inaccessible/v0.2\", for: SECURITY)\n",
        );
    }
    schema.push_str("{\n");
    for (operation, name) in &merged.root_operations {
        schema.push_str(&format!("  {}: {name}\n", operation.name()));
    }
    schema.push('}');
    sections.push(schema);

    if merged.uses_inaccessible {
        sections.push(INACCESSIBLE_DIRECTIVE.to_string());
    }
    sections.push(join.directives());
    if merged.uses_one_of {
        sections.push("directive @oneOf on INPUT_OBJECT".to_string());
    }
    if merged.uses_tag {
        sections.push(TAG_DIRECTIVE.to_string());
    }
    sections.push(join.types_before_graph().to_string());
    sections.push(graph_enum(subgraphs, graph_values).to_string());
    sections.push(LINK_TYPES.to_string());

    let mut document = ast::Document::new();
    document.definitions.clone_from(&merged.definitions);
    sections.push(document.to_string().trim_end().to_string());

    let mut sdl = sections.join("\n\n");
    sdl.push('\n');
    sdl
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
