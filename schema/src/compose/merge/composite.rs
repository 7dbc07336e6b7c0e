//! Merging object and interface types: keys, implemented interfaces, and fields with
//! sharing rules, `@override` and `@join__field`.

use super::input_values::ValueKind;
use super::typeref::{Position, describe_types};
use super::{Merger, Sources, directive, pick_description, subgraph_list};
use crate::compose::error::code;
use crate::compose::metadata::FieldFlags;
use apollo_compiler::ast::{self, Definition, FieldDefinition};
use apollo_compiler::collections::IndexMap;
use apollo_compiler::schema::{Component, ComponentName, ExtendedType};
use apollo_compiler::{Name, Node};

/// The parts of an object or interface type that merging reads.
struct CompositeParts<'a> {
    directives: &'a apollo_compiler::schema::DirectiveList,
    implements: &'a apollo_compiler::collections::IndexSet<ComponentName>,
    fields: &'a IndexMap<Name, Component<FieldDefinition>>,
    description: Option<&'a Node<str>>,
}

fn parts(ty: &ExtendedType) -> Option<CompositeParts<'_>> {
    match ty {
        ExtendedType::Object(o) => Some(CompositeParts {
            directives: &o.directives,
            implements: &o.implements_interfaces,
            fields: &o.fields,
            description: o.description.as_ref(),
        }),
        ExtendedType::Interface(i) => Some(CompositeParts {
            directives: &i.directives,
            implements: &i.implements_interfaces,
            fields: &i.fields,
            description: i.description.as_ref(),
        }),
        _ => None,
    }
}

/// How `@override` affects one subgraph's definition of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overridden {
    No,
    /// Taken over and not needed by the subgraph any more: dropped from the join data.
    Unused,
    /// Taken over, but the subgraph still uses it in a key or `@requires`.
    Used,
}

/// One subgraph's definition of the field being merged.
struct FieldSource<'a> {
    index: usize,
    field: &'a Component<FieldDefinition>,
    flags: &'a FieldFlags,
    overridden: Overridden,
    override_label: Option<String>,
}

impl Merger<'_> {
    pub(super) fn merge_composite(
        &mut self,
        name: &Name,
        sources: &Sources<'_>,
    ) -> Option<Definition> {
        let is_object = sources[0].1.is_object();
        let all: Vec<(usize, CompositeParts<'_>)> = sources
            .iter()
            .filter_map(|(index, ty)| parts(ty).map(|p| (*index, p)))
            .collect();
        let defining: Vec<usize> = all.iter().map(|(index, _)| *index).collect();

        let mut directives = Vec::new();
        for (index, _) in &all {
            let keys = self.subgraphs[*index].meta.keys(name);
            if keys.is_empty() {
                directives.push(directive("join__type", vec![("graph", self.graph(*index))]));
            }
            for key in keys {
                let mut arguments = vec![
                    ("graph", self.graph(*index)),
                    ("key", ast::Value::String(key.fields.clone())),
                ];
                if key.extension {
                    arguments.push(("extension", ast::Value::Boolean(true)));
                }
                if let Some(resolvable) = key.resolvable {
                    arguments.push(("resolvable", ast::Value::Boolean(resolvable)));
                }
                directives.push(directive("join__type", arguments));
            }
        }
        let mut implements: Vec<Name> = Vec::new();
        for (index, parts) in &all {
            for interface in parts.implements.iter() {
                directives.push(directive(
                    "join__implements",
                    vec![
                        ("graph", self.graph(*index)),
                        ("interface", ast::Value::String(interface.to_string())),
                    ],
                ));
                if !implements.contains(&interface.name) {
                    implements.push(interface.name.clone());
                }
            }
        }
        let carried = self.carried(
            all.iter()
                .flat_map(|(index, p)| p.directives.iter().map(move |d| (*index, &***d))),
        );
        directives.extend(carried);

        let mut field_names: Vec<&Name> = Vec::new();
        for (index, parts) in &all {
            for field_name in parts.fields.keys() {
                if !self.subgraphs[*index].is_machinery_field(name, field_name)
                    && !field_names.contains(&field_name)
                {
                    field_names.push(field_name);
                }
            }
        }
        let mut fields = Vec::new();
        for field_name in field_names {
            let field_sources: Vec<FieldSource<'_>> = all
                .iter()
                .filter_map(|(index, parts)| {
                    let field = parts.fields.get(field_name)?;
                    Some(FieldSource {
                        index: *index,
                        field,
                        flags: self.subgraphs[*index].meta.field(name, field_name),
                        overridden: Overridden::No,
                        override_label: None,
                    })
                })
                .collect();
            if let Some(field) =
                self.merge_field(name, field_name, is_object, field_sources, &defining)
            {
                fields.push(Node::new(field));
            }
        }
        if fields.is_empty() {
            // Only the query root can end up empty (a subgraph with only `_service`).
            return None;
        }
        let description = pick_description(all.iter().map(|(_, p)| p.description));
        Some(if is_object {
            Definition::ObjectTypeDefinition(Node::new(ast::ObjectTypeDefinition {
                description,
                name: name.clone(),
                implements_interfaces: implements,
                directives: ast::DirectiveList(directives),
                fields,
            }))
        } else {
            Definition::InterfaceTypeDefinition(Node::new(ast::InterfaceTypeDefinition {
                description,
                name: name.clone(),
                implements_interfaces: implements,
                directives: ast::DirectiveList(directives),
                fields,
            }))
        })
    }

    fn merge_field(
        &mut self,
        type_name: &Name,
        field_name: &Name,
        is_object: bool,
        mut sources: Vec<FieldSource<'_>>,
        defining: &[usize],
    ) -> Option<FieldDefinition> {
        let coordinate = format!("{type_name}.{field_name}");
        let locations = |merger: &Merger<'_>, sources: &[FieldSource<'_>]| {
            sources
                .iter()
                .map(|s| merger.subgraphs[s.index].location(s.field.location()))
                .collect::<Vec<_>>()
        };
        self.apply_overrides(type_name, field_name, &coordinate, &mut sources);

        if sources.iter().all(|s| s.flags.external) {
            let names: Vec<&str> = sources
                .iter()
                .map(|s| self.subgraph_name(s.index))
                .collect();
            let message = format!(
                "Field \"{coordinate}\" is marked @external on all the subgraphs in which it is listed ({}).",
                subgraph_list(&names)
            );
            let locations = locations(self, &sources);
            self.error(code::EXTERNAL_MISSING_ON_BASE, message, locations);
            return None;
        }
        if is_object {
            self.check_sharing(type_name, field_name, &coordinate, &sources);
        }

        let Some(ty) = self.merge_types(sources.iter().map(|s| &s.field.ty), Position::Output)
        else {
            let described = describe_types(
                sources
                    .iter()
                    .map(|s| (self.subgraph_name(s.index), &s.field.ty)),
            );
            let message = format!(
                "Type of field \"{coordinate}\" is incompatible across subgraphs: it has {described}"
            );
            let locations = locations(self, &sources);
            self.error(code::FIELD_TYPE_MISMATCH, message, locations);
            return None;
        };
        let all_types_equal = sources.iter().all(|s| s.field.ty == sources[0].field.ty);

        // Arguments come from the subgraphs that resolve the field; `@external` copies only
        // mirror them.
        let argument_sources: Vec<(usize, Vec<&Node<ast::InputValueDefinition>>)> = sources
            .iter()
            .filter(|s| !s.flags.external)
            .map(|s| (s.index, s.field.arguments.iter().collect()))
            .collect();
        let arguments = self
            .merge_input_values(&coordinate, ValueKind::Argument, &argument_sources)
            .into_iter()
            .map(|value| Node::new(value.definition))
            .collect();

        let mut directives = Vec::new();
        if self.needs_join_field(&sources, all_types_equal, defining) {
            for source in &sources {
                if source.overridden == Overridden::Unused && source.override_label.is_none() {
                    continue;
                }
                let mut arguments = vec![("graph", self.graph(source.index))];
                if let Some(requires) = &source.flags.requires {
                    arguments.push(("requires", ast::Value::String(requires.clone())));
                }
                if let Some(provides) = &source.flags.provides {
                    arguments.push(("provides", ast::Value::String(provides.clone())));
                }
                if !all_types_equal {
                    arguments.push(("type", ast::Value::String(source.field.ty.to_string())));
                }
                if source.flags.external {
                    arguments.push(("external", ast::Value::Boolean(true)));
                }
                if let Some(from) = &source.flags.override_from {
                    arguments.push(("override", ast::Value::String(from.clone())));
                }
                if source.overridden == Overridden::Used {
                    arguments.push(("usedOverridden", ast::Value::Boolean(true)));
                }
                if let Some(label) = &source.override_label {
                    arguments.push(("overrideLabel", ast::Value::String(label.clone())));
                }
                directives.push(directive("join__field", arguments));
            }
        }
        let carried = self.carried(
            sources
                .iter()
                .flat_map(|s| s.field.directives.iter().map(move |d| (s.index, &**d))),
        );
        directives.extend(carried);
        Some(FieldDefinition {
            description: pick_description(sources.iter().map(|s| s.field.description.as_ref())),
            name: field_name.clone(),
            arguments,
            ty,
            directives: ast::DirectiveList(directives),
        })
    }

    /// Marks the subgraphs a field was taken from with `@override(from:)`.
    fn apply_overrides(
        &mut self,
        type_name: &Name,
        field_name: &Name,
        coordinate: &str,
        sources: &mut [FieldSource<'_>],
    ) {
        for position in 0..sources.len() {
            let Some(from) = sources[position].flags.override_from.clone() else {
                continue;
            };
            let overriding = self.subgraph_name(sources[position].index).to_string();
            let Some(from_position) = sources
                .iter()
                .position(|s| self.subgraph_name(s.index) == from && from != overriding)
            else {
                // Overriding a subgraph that does not exist or lacks the field: nothing to take.
                continue;
            };
            if sources[from_position].flags.override_from.as_deref() == Some(overriding.as_str()) {
                if position < from_position {
                    let message = format!(
                        "Field \"{coordinate}\" on subgraph \"{overriding}\" is also marked with directive @override in subgraph \"{from}\". Only one @override directive is allowed per field."
                    );
                    let locations = [position, from_position]
                        .iter()
                        .map(|p| {
                            self.subgraphs[sources[*p].index].location(sources[*p].field.location())
                        })
                        .collect();
                    self.error(code::OVERRIDE_SOURCE_HAS_OVERRIDE, message, locations);
                }
                continue;
            }
            if let Some(label) = sources[position].flags.override_label.clone() {
                sources[position].override_label = Some(label.clone());
                sources[from_position].override_label = Some(label);
            } else {
                let from_index = sources[from_position].index;
                sources[from_position].overridden = if self.subgraphs[from_index]
                    .meta
                    .is_used(type_name, field_name)
                {
                    Overridden::Used
                } else {
                    Overridden::Unused
                };
            }
        }
    }

    /// A field resolved by several subgraphs must be shareable in each of them.
    fn check_sharing(
        &mut self,
        type_name: &Name,
        field_name: &Name,
        coordinate: &str,
        sources: &[FieldSource<'_>],
    ) {
        let resolving: Vec<&FieldSource<'_>> = sources
            .iter()
            .filter(|s| {
                !s.flags.external
                    && s.overridden == Overridden::No
                    // The two sides of a progressive override never resolve it together.
                    && !(s.override_label.is_some() && s.flags.override_from.is_none())
            })
            .collect();
        if resolving.len() < 2 {
            return;
        }
        let not_shareable: Vec<&str> = resolving
            .iter()
            .filter(|s| {
                !self.subgraphs[s.index]
                    .meta
                    .is_shareable(type_name, field_name)
            })
            .map(|s| self.subgraph_name(s.index))
            .collect();
        if not_shareable.is_empty() {
            return;
        }
        let resolved_in: Vec<&str> = resolving
            .iter()
            .map(|s| self.subgraph_name(s.index))
            .collect();
        let message = format!(
            "Non-shareable field \"{coordinate}\" is resolved from multiple subgraphs: it is resolved from {} and defined as non-shareable in {}",
            subgraph_list(&resolved_in),
            subgraph_list(&not_shareable),
        );
        let locations = resolving
            .iter()
            .map(|s| self.subgraphs[s.index].location(s.field.location()))
            .collect();
        self.error(code::INVALID_FIELD_SHARING, message, locations);
    }

    /// Apollo's rule: `@join__field` is needed unless every subgraph defining the type has
    /// the field, with the same type and no `@external`/`@requires`/`@provides`/`@override`.
    fn needs_join_field(
        &self,
        sources: &[FieldSource<'_>],
        all_types_equal: bool,
        defining: &[usize],
    ) -> bool {
        if !all_types_equal
            || sources
                .iter()
                .any(|s| s.overridden == Overridden::Used || s.override_label.is_some())
        {
            return true;
        }
        defining.iter().any(|index| {
            match sources.iter().find(|s| s.index == *index) {
                Some(source) if source.overridden != Overridden::Unused => {
                    source.flags.external
                        || source.flags.requires.is_some()
                        || source.flags.provides.is_some()
                        || source.flags.override_from.is_some()
                }
                // Missing (or overridden away) in a subgraph that has the type.
                _ => true,
            }
        })
    }
}
