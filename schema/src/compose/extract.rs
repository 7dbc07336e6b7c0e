//! The subgraph schemas of a supergraph, rebuilt from its join directives: enough to
//! recompose it with one subgraph replaced (`junction schema check --against
//! supergraph.graphql`).
//!
//! Restored: types, fields, values and members per subgraph; `@key`, `@requires`,
//! `@provides`, `@external`, `@override`, `@extends`, `@interfaceObject`; the directives
//! composition carries (`@inaccessible`, `@tag`, access control, demand control,
//! `@composeDirective` features, `@deprecated`, `@specifiedBy`). Fields more than one
//! subgraph resolves get `@shareable`. Not restored, because a supergraph does not record
//! it: which subgraph gave a description or a carried directive (every subgraph defining
//! the element gets them), and arguments composition dropped.

use super::SubgraphInput;
use super::merge::directive;
use crate::link::{Link, Version};
use crate::supergraph::{FieldInGraph, GraphId, SpecNames, Supergraph};
use apollo_compiler::ast;
use apollo_compiler::schema::{ExtendedType, FieldDefinition};
use apollo_compiler::{Name, Node};
use std::collections::HashMap;

/// Every subgraph of `supergraph`, in the order of its `join__Graph` values.
pub fn subgraphs_of(supergraph: &Supergraph) -> Vec<SubgraphInput> {
    let schema = supergraph.schema();
    let names = supergraph.spec_names();
    let federation = federation_version(&names.join_version());
    let carried = CarriedDirectives::new(supergraph, &names);
    let mut imports: Vec<String> = [
        "key",
        "requires",
        "provides",
        "external",
        "shareable",
        "override",
        "extends",
        "interfaceObject",
        "inaccessible",
        "tag",
    ]
    .iter()
    .map(|d| d.to_string())
    .collect();
    for name in carried.renames.values() {
        if FEDERATION_SPEC_DIRECTIVES.contains(&name.as_str())
            && !imports.contains(&name.to_string())
        {
            imports.push(name.to_string());
        }
    }
    if !carried.composed.is_empty() {
        imports.push("composeDirective".to_string());
    }
    let imports: Vec<String> = imports.iter().map(|d| format!("\"@{d}\"")).collect();
    let mut header = format!(
        "extend schema\n  @link(url: \"https://specs.apollo.dev/federation/v{}.{}\", import: [{}])\n",
        federation.major,
        federation.minor,
        imports.join(", ")
    );
    for link in &carried.links {
        header.push_str(&format!("  {link}\n"));
    }
    for name in &carried.composed {
        header.push_str(&format!("  @composeDirective(name: \"@{name}\")\n"));
    }
    for name in &carried.composed {
        if let Some(definition) = schema.directive_definitions.get(name) {
            header.push_str(&format!("\n{definition}\n"));
        }
    }
    supergraph
        .graphs()
        .iter()
        .map(|graph| {
            let extractor = Extractor {
                supergraph,
                names: &names,
                carried: &carried,
                graph: graph.id,
            };
            let mut document = ast::Document::new();
            for (name, ty) in schema.types.iter() {
                if ty.is_built_in() || name.starts_with("__") || names.is_spec_type(name) {
                    continue;
                }
                if let Some(definition) = extractor.definition(name, ty) {
                    document.definitions.push(definition);
                }
            }
            SubgraphInput {
                name: graph.name.clone(),
                url: graph.url.clone(),
                sdl: format!("{header}\n{document}"),
            }
        })
        .collect()
}

/// Directives of linked Apollo specs that a Federation 2 subgraph imports from the
/// federation spec itself.
const FEDERATION_SPEC_DIRECTIVES: &[&str] = &[
    "authenticated",
    "requiresScopes",
    "policy",
    "cost",
    "listSize",
];

/// Apollo specs whose directives composition writes by its own rules (not
/// `@composeDirective` features).
const APOLLO_SPECS: &str = "https://specs.apollo.dev/";

/// Which supergraph directives subgraphs state, and under which name.
struct CarriedDirectives {
    /// Supergraph directive name → the subgraph's name for it.
    renames: HashMap<Name, Name>,
    /// `@link`s of custom features whose directives were composed (`@composeDirective`).
    links: Vec<String>,
    /// Their directives, by name.
    composed: Vec<Name>,
}

impl CarriedDirectives {
    fn new(supergraph: &Supergraph, names: &SpecNames) -> CarriedDirectives {
        let mut renames = HashMap::new();
        for builtin in ["deprecated", "specifiedBy"] {
            renames.insert(Name::new_unchecked(builtin), Name::new_unchecked(builtin));
        }
        if let Some(name) = &names.inaccessible_directive {
            renames.insert(
                Name::new_unchecked(name),
                Name::new_unchecked("inaccessible"),
            );
        }
        if let Some(name) = names.tag_directive() {
            renames.insert(Name::new_unchecked(&name), Name::new_unchecked("tag"));
        }
        let mut links = Vec::new();
        let mut composed = Vec::new();
        for link in names.other_links() {
            let mut owned: Vec<(&Name, String)> = supergraph
                .schema()
                .directive_definitions
                .keys()
                .filter_map(|name| Some((name, link.directive_in_spec(name)?)))
                .collect();
            // In the link's import order, which is the order composition met them.
            owned.sort_by_key(|(name, _)| {
                link.imports
                    .iter()
                    .position(|i| i.alias.strip_prefix('@') == Some(name.as_str()))
                    .unwrap_or(usize::MAX)
            });
            if link.spec.identity.starts_with(APOLLO_SPECS) {
                for (name, in_spec) in owned {
                    if FEDERATION_SPEC_DIRECTIVES.contains(&in_spec.as_str()) {
                        renames.insert(name.clone(), Name::new_unchecked(&in_spec));
                    }
                }
                continue;
            }
            if owned.is_empty() {
                continue;
            }
            links.push(link_text(link));
            for (name, _) in owned {
                renames.insert(name.clone(), name.clone());
                composed.push(name.clone());
            }
        }
        CarriedDirectives {
            renames,
            links,
            composed,
        }
    }
}

/// A custom feature's `@link`, as the supergraph states it.
fn link_text(link: &Link) -> String {
    let mut arguments = vec![format!("url: \"{}\"", link.url)];
    if let Some(alias) = &link.alias {
        arguments.push(format!("as: \"{alias}\""));
    }
    if !link.imports.is_empty() {
        let imports: Vec<String> = link
            .imports
            .iter()
            .map(|i| {
                if i.element == i.alias {
                    format!("\"{}\"", i.element)
                } else {
                    format!("{{ name: \"{}\", as: \"{}\" }}", i.element, i.alias)
                }
            })
            .collect();
        arguments.push(format!("import: [{}]", imports.join(", ")));
    }
    format!("@link({})", arguments.join(", "))
}

/// A federation version whose composition writes the supergraph's join version (and
/// knows `@interfaceObject` and override labels where that join version has them).
fn federation_version(join: &Version) -> Version {
    let minor = match (join.major, join.minor) {
        (0, 5..) => 9,
        (0, 4) => 7,
        _ => 6,
    };
    Version { major: 2, minor }
}

struct Extractor<'a> {
    supergraph: &'a Supergraph,
    names: &'a SpecNames,
    carried: &'a CarriedDirectives,
    graph: GraphId,
}

impl Extractor<'_> {
    fn definition(&self, name: &Name, ty: &ExtendedType) -> Option<ast::Definition> {
        let in_graph = self.supergraph.type_in_graph(name, self.graph)?;
        let mut directives = ast::DirectiveList::new();
        for key in &in_graph.keys {
            let mut arguments = vec![("fields", ast::Value::String(key.fields.as_str().into()))];
            if !key.resolvable {
                arguments.push(("resolvable", ast::Value::Boolean(false)));
            }
            directives.push(directive("key", arguments));
        }
        if in_graph.is_interface_object {
            directives.push(directive("interfaceObject", Vec::new()));
        }
        if in_graph.extension {
            directives.push(directive("extends", Vec::new()));
        }
        directives.extend(self.carried(ty.directives().iter().map(|d| &*d.node)));
        let description = ty.description().cloned();
        let definition = match ty {
            ExtendedType::Object(_) | ExtendedType::Interface(_) => {
                let fields = self.fields(name, ty);
                let implements = in_graph.implements.clone();
                if in_graph.is_interface_object || ty.is_object() {
                    ast::Definition::ObjectTypeDefinition(Node::new(ast::ObjectTypeDefinition {
                        description,
                        name: name.clone(),
                        implements_interfaces: if in_graph.is_interface_object {
                            Vec::new()
                        } else {
                            implements
                        },
                        directives,
                        fields,
                    }))
                } else {
                    ast::Definition::InterfaceTypeDefinition(Node::new(
                        ast::InterfaceTypeDefinition {
                            description,
                            name: name.clone(),
                            implements_interfaces: implements,
                            directives,
                            fields,
                        },
                    ))
                }
            }
            ExtendedType::Union(_) => {
                let members = self.supergraph.union_members_in(name, self.graph).to_vec();
                ast::Definition::UnionTypeDefinition(Node::new(ast::UnionTypeDefinition {
                    description,
                    name: name.clone(),
                    directives,
                    members,
                }))
            }
            ExtendedType::Enum(e) => {
                let here = self.supergraph.enum_values_in(name, self.graph);
                let values = e
                    .values
                    .iter()
                    .filter(|(value, _)| here.contains(value))
                    .map(|(_, value)| {
                        Node::new(ast::EnumValueDefinition {
                            description: value.description.clone(),
                            value: value.value.clone(),
                            directives: self.carried(value.directives.iter().map(|d| &**d)),
                        })
                    })
                    .collect();
                ast::Definition::EnumTypeDefinition(Node::new(ast::EnumTypeDefinition {
                    description,
                    name: name.clone(),
                    directives,
                    values,
                }))
            }
            ExtendedType::InputObject(input) => {
                let fields = input
                    .fields
                    .values()
                    .filter(|field| self.input_field_is_here(&field.directives))
                    .map(|field| {
                        let mut field = (***field).clone();
                        field.directives = self.carried(field.directives.iter().map(|d| &**d));
                        Node::new(field)
                    })
                    .collect();
                ast::Definition::InputObjectTypeDefinition(Node::new(
                    ast::InputObjectTypeDefinition {
                        description,
                        name: name.clone(),
                        directives,
                        fields,
                    },
                ))
            }
            ExtendedType::Scalar(_) => {
                ast::Definition::ScalarTypeDefinition(Node::new(ast::ScalarTypeDefinition {
                    description,
                    name: name.clone(),
                    directives,
                }))
            }
        };
        Some(definition)
    }

    /// The fields this graph defines: those it resolves, and its `@external` ones.
    fn fields(&self, type_name: &Name, ty: &ExtendedType) -> Vec<Node<ast::FieldDefinition>> {
        let definitions: Vec<&Node<FieldDefinition>> = match ty {
            ExtendedType::Object(o) => o.fields.values().map(|f| &f.node).collect(),
            ExtendedType::Interface(i) => i.fields.values().map(|f| &f.node).collect(),
            _ => Vec::new(),
        };
        let mut out = Vec::new();
        for definition in definitions {
            let Some(info) = self.supergraph.field(type_name, &definition.name) else {
                continue;
            };
            let resolved = info.resolvable_in.iter().find(|f| f.graph == self.graph);
            let external = info.external_in.contains(&self.graph);
            let used_overridden = info.used_overridden_in.contains(&self.graph);
            if resolved.is_none() && !external && !used_overridden {
                continue;
            }
            let mut field = (**definition).clone();
            field.directives = self.carried(definition.directives.iter().map(|d| &**d));
            for argument in &mut field.arguments {
                let argument = argument.make_mut();
                argument.directives = self.carried(argument.directives.iter().map(|d| &**d));
            }
            if external {
                field.directives.push(directive("external", Vec::new()));
            }
            if let Some(resolved) = resolved {
                self.join_field(&mut field, resolved, ty.is_object(), &info.resolvable_in);
            }
            out.push(Node::new(field));
        }
        out
    }

    fn join_field(
        &self,
        field: &mut ast::FieldDefinition,
        resolved: &FieldInGraph,
        on_object: bool,
        everywhere: &[FieldInGraph],
    ) {
        if let Some(ty) = &resolved.subgraph_type {
            field.ty = ty.clone();
        }
        if let Some(requires) = &resolved.requires {
            field.directives.push(directive(
                "requires",
                vec![("fields", ast::Value::String(requires.as_str().into()))],
            ));
        }
        if let Some(provides) = &resolved.provides {
            field.directives.push(directive(
                "provides",
                vec![("fields", ast::Value::String(provides.as_str().into()))],
            ));
        }
        if let Some(from) = &resolved.override_from {
            let mut arguments = vec![("from", ast::Value::String(from.as_str().into()))];
            if let Some(label) = &resolved.override_label {
                arguments.push(("label", ast::Value::String(label.as_str().into())));
            }
            field.directives.push(directive("override", arguments));
        }
        // Resolved by several subgraphs (and not by override): shareable.
        let overridden = everywhere
            .iter()
            .any(|f| f.override_from.is_some() || f.override_label.is_some());
        if on_object && everywhere.len() > 1 && !overridden {
            field.directives.push(directive("shareable", Vec::new()));
        }
    }

    /// Input fields carry `@join__field` only when some subgraph lacks them.
    fn input_field_is_here(&self, directives: &ast::DirectiveList) -> bool {
        let mut join_fields = directives
            .get_all(self.names.join_field.as_str())
            .peekable();
        if join_fields.peek().is_none() {
            return true;
        }
        let value = &self.supergraph.graphs()[self.graph.index()].enum_value;
        join_fields.any(|d| {
            d.specified_argument_by_name("graph")
                .is_some_and(|g| matches!(&**g, ast::Value::Enum(v) if v == value))
        })
    }

    /// The supergraph directives a subgraph states itself, under their federation names.
    fn carried<'d>(
        &self,
        directives: impl Iterator<Item = &'d ast::Directive>,
    ) -> ast::DirectiveList {
        let mut out = ast::DirectiveList::new();
        for d in directives {
            if let Some(name) = self.carried.renames.get(&d.name) {
                let mut d = d.clone();
                d.name = name.clone();
                out.push(Node::new(d));
            }
        }
        out
    }
}
