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
        // `@interfaceObject` definitions (objects) merge into the interface.
        let is_object = !sources.iter().any(|(_, ty)| ty.is_interface());
        let all: Vec<(usize, CompositeParts<'_>)> = sources
            .iter()
            .filter_map(|(index, ty)| parts(ty).map(|p| (*index, p)))
            .collect();
        let defining: Vec<usize> = all.iter().map(|(index, _)| *index).collect();
        if !is_object {
            self.check_entity_interface(name, sources);
        }

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
                if self.subgraphs[*index].meta.is_interface_object(name) {
                    arguments.push(("isInterfaceObject", ast::Value::Boolean(true)));
                }
                directives.push(directive("join__type", arguments));
            }
        }
        let mut implements: Vec<Name> = Vec::new();
        // @apollo/composition writes `@join__implements` before `@join__type`.
        let mut join_implements = Vec::new();
        for (index, parts) in &all {
            for interface in parts.implements.iter() {
                join_implements.push(directive(
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
        join_implements.append(&mut directives);
        let directives = carried.around(join_implements, Vec::new());

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
            let abstracted = if is_object {
                self.interface_object_sources(&implements, field_name, &defining)
            } else {
                Vec::new()
            };
            if let Some(field) = self.merge_field(
                name,
                field_name,
                is_object,
                field_sources,
                &defining,
                &abstracted,
            ) {
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
        abstracted: &[(usize, Name)],
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
            self.check_sharing(field_name, &coordinate, &sources, abstracted);
        }

        // The type comes from the subgraphs that resolve the field; `@external` copies must
        // agree with it.
        let resolving: Vec<&FieldSource<'_>> =
            sources.iter().filter(|s| !s.flags.external).collect();
        let Some(ty) = self.merge_types(resolving.iter().map(|s| &s.field.ty), Position::Output)
        else {
            let described = describe_types(
                resolving
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
        let all_types_equal = resolving
            .iter()
            .all(|s| s.field.ty == resolving[0].field.ty);

        // Arguments come from the subgraphs that resolve the field; `@external` copies only
        // mirror them.
        let argument_sources: Vec<(usize, Vec<&Node<ast::InputValueDefinition>>)> = resolving
            .iter()
            .map(|s| (s.index, s.field.arguments.iter().collect()))
            .collect();
        let arguments: Vec<Node<ast::InputValueDefinition>> = self
            .merge_input_values(&coordinate, ValueKind::Argument, &argument_sources)
            .into_iter()
            .map(|value| Node::new(value.definition))
            .collect();
        self.check_external_copies(&coordinate, &sources, &ty, all_types_equal, &arguments);

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
        let directives = carried.around(Vec::new(), directives);
        Some(FieldDefinition {
            description: pick_description(sources.iter().map(|s| s.field.description.as_ref())),
            name: field_name.clone(),
            arguments,
            ty,
            directives: ast::DirectiveList(directives),
        })
    }

    /// `@external` copies of a field have the supergraph field's type (or, where the
    /// resolving subgraphs differ, a subtype of it) and all of its arguments, alike.
    fn check_external_copies(
        &mut self,
        coordinate: &str,
        sources: &[FieldSource<'_>],
        ty: &ast::Type,
        all_types_equal: bool,
        arguments: &[Node<ast::InputValueDefinition>],
    ) {
        let externals: Vec<&FieldSource<'_>> =
            sources.iter().filter(|s| s.flags.external).collect();
        if externals.is_empty() {
            return;
        }
        let type_fits = |merger: &Merger<'_>, s: &FieldSource<'_>| {
            s.field.ty == *ty
                || (!all_types_equal && merger.is_subtype(&s.field.ty, ty, Position::Output))
        };
        if externals.iter().any(|s| !type_fits(self, s)) {
            let described = describe_types(
                sources
                    .iter()
                    .map(|s| (self.subgraph_name(s.index), &s.field.ty)),
            );
            let message = format!(
                "Type of field \"{coordinate}\" is incompatible across subgraphs (where marked @external): it has {described}"
            );
            let locations = sources
                .iter()
                .map(|s| self.subgraphs[s.index].location(s.field.location()))
                .collect();
            self.error(code::EXTERNAL_TYPE_MISMATCH, message, locations);
        }
        for argument in arguments {
            let argument_coordinate = format!("{coordinate}({}:)", argument.name);
            let mut missing = Vec::new();
            let mut type_differs = false;
            let mut default_differs = false;
            for external in &externals {
                match external
                    .field
                    .arguments
                    .iter()
                    .find(|a| a.name == argument.name)
                {
                    None => missing.push(self.subgraph_name(external.index).to_string()),
                    Some(copy) => {
                        type_differs |= copy.ty != argument.ty;
                        default_differs |= copy.default_value != argument.default_value;
                    }
                }
            }
            let locations: Vec<_> = externals
                .iter()
                .map(|s| self.subgraphs[s.index].location(s.field.location()))
                .collect();
            if !missing.is_empty() {
                let message = format!(
                    "Field \"{coordinate}\" is missing argument \"{argument_coordinate}\" in some subgraphs where it is marked @external: argument \"{argument_coordinate}\" is not declared in {} (where \"{coordinate}\" is @external).",
                    subgraph_list(&missing)
                );
                self.error(code::EXTERNAL_ARGUMENT_MISSING, message, locations.clone());
            }
            if type_differs {
                let message = format!(
                    "Type of argument \"{argument_coordinate}\" is incompatible across subgraphs (where \"{coordinate}\" is marked @external)"
                );
                self.error(
                    code::EXTERNAL_ARGUMENT_TYPE_MISMATCH,
                    message,
                    locations.clone(),
                );
            }
            if default_differs {
                let message = format!(
                    "Argument \"{argument_coordinate}\" has incompatible defaults across subgraphs (where \"{coordinate}\" is marked @external)"
                );
                self.error(code::EXTERNAL_ARGUMENT_DEFAULT_MISMATCH, message, locations);
            }
        }
    }

    /// Marks the subgraphs a field was taken from with `@override(from:)`, and checks
    /// Apollo's rules: one `@override` per field, and no taking over a field its source
    /// computes with `@requires` or `@provides`.
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
            if from == overriding {
                // OVERRIDE_FROM_SELF_ERROR, reported with the subgraph's own checks.
                continue;
            }
            let Some(from_position) = sources
                .iter()
                .position(|s| self.subgraph_name(s.index) == from)
            else {
                // Overriding a subgraph that does not exist or lacks the field: nothing to take.
                continue;
            };
            let location = |merger: &Merger<'_>, p: usize| {
                merger.subgraphs[sources[p].index].location(sources[p].field.location())
            };
            if sources[from_position].flags.override_from.is_some() {
                let message = format!(
                    "Field \"{coordinate}\" on subgraph \"{overriding}\" is also marked with directive @override in subgraph \"{from}\". Only one @override directive is allowed per field."
                );
                let locations = vec![location(self, position), location(self, from_position)];
                self.error(code::OVERRIDE_SOURCE_HAS_OVERRIDE, message, locations);
                continue;
            }
            let from_flags = sources[from_position].flags;
            let conflicting = if from_flags.requires.is_some() {
                Some("@requires")
            } else if from_flags.provides.is_some() {
                Some("@provides")
            } else {
                None
            };
            if let Some(conflicting) = conflicting {
                let message = format!(
                    "@override cannot be used on field \"{coordinate}\" on subgraph \"{overriding}\" since \"{coordinate}\" on \"{from}\" is marked with directive \"{conflicting}\""
                );
                let locations = vec![location(self, position), location(self, from_position)];
                self.error(
                    code::OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE,
                    message,
                    locations,
                );
                continue;
            }
            if sources[position].flags.external || from_flags.external {
                // An @external overrider is refused by the subgraph checks; an @external
                // source does not resolve the field anyway.
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

    /// Rules of entity interfaces and `@interfaceObject`s: a subgraph with a resolvable key
    /// on the interface defines every implementation (it answers `__typename` for them); a
    /// subgraph with an `@interfaceObject` defines none.
    fn check_entity_interface(&mut self, name: &Name, sources: &Sources<'_>) {
        let implementations = self.implementations.get(name).cloned().unwrap_or_default();
        for (index, ty) in sources {
            let subgraph = &self.subgraphs[*index];
            if ty.is_interface() {
                let Some(key) = subgraph
                    .meta
                    .keys(name)
                    .iter()
                    .find(|k| k.resolvable != Some(false))
                else {
                    continue;
                };
                let missing: Vec<&Name> = implementations
                    .iter()
                    .filter(|object| {
                        !subgraph.schema.get_object(object).is_some_and(|o| {
                            o.implements_interfaces.iter().any(|i| i.name == *name)
                        })
                    })
                    .collect();
                if missing.is_empty() {
                    continue;
                }
                let (them, it) = if missing.len() > 1 {
                    ("types", "them")
                } else {
                    ("type", "it")
                };
                let listed: Vec<String> = missing.iter().map(|m| format!("\"{m}\"")).collect();
                let message = format!(
                    "[{sub}] Interface type \"{name}\" has a resolvable key (@key(fields: \"{fields}\")) in subgraph \"{sub}\" but that subgraph is missing some of the supergraph implementation types of \"{name}\". Subgraph \"{sub}\" should define {them} {} (and have {it} implement \"{name}\").",
                    listed.join(", "),
                    sub = subgraph.name,
                    fields = key.fields,
                );
                let location = subgraph.location(ty.location());
                self.error(
                    code::INTERFACE_KEY_MISSING_IMPLEMENTATION_TYPE,
                    message,
                    vec![location],
                );
            } else if subgraph.meta.is_interface_object(name) {
                let defined: Vec<String> = implementations
                    .iter()
                    .filter(|object| subgraph.schema.types.contains_key(*object))
                    .map(|object| format!("\"{object}\""))
                    .collect();
                if defined.is_empty() {
                    continue;
                }
                let message = format!(
                    "[{sub}] Interface type \"{name}\" is defined as an @interfaceObject in subgraph \"{sub}\" so that subgraph should not define any of the implementation types of \"{name}\", but it defines {}",
                    defined.join(", "),
                    sub = subgraph.name,
                );
                let location = subgraph.location(ty.location());
                self.error(code::INTERFACE_OBJECT_USAGE_ERROR, message, vec![location]);
            }
        }
    }

    /// Implementations of an interface get the fields that `@interfaceObject`s add to it,
    /// with an empty `@join__field`: no subgraph resolves them on the object type itself.
    pub(super) fn add_interface_object_fields(&mut self, definitions: &mut [Definition]) {
        let interfaces: std::collections::HashMap<Name, Vec<Node<FieldDefinition>>> = definitions
            .iter()
            .filter_map(|d| match d {
                Definition::InterfaceTypeDefinition(i) => Some((i.name.clone(), i.fields.clone())),
                _ => None,
            })
            .collect();
        for definition in definitions.iter_mut() {
            let Definition::ObjectTypeDefinition(object) = definition else {
                continue;
            };
            let mut added = Vec::new();
            for interface in &object.implements_interfaces {
                let Some(fields) = interfaces.get(interface) else {
                    continue;
                };
                for field in fields {
                    if object.fields.iter().any(|f| f.name == field.name)
                        || added
                            .iter()
                            .any(|f: &Node<FieldDefinition>| f.name == field.name)
                    {
                        continue;
                    }
                    let abstracted = self.interface_object_sources(
                        &object.implements_interfaces,
                        &field.name,
                        &[],
                    );
                    if abstracted.is_empty() {
                        continue;
                    }
                    let coordinate = format!("{}.{}", object.name, field.name);
                    self.check_sharing(&field.name, &coordinate, &[], &abstracted);
                    let mut copy = (**field).clone();
                    copy.directives.0.retain(|d| !d.name.starts_with("join__"));
                    copy.directives.0.push(directive("join__field", Vec::new()));
                    added.push(Node::new(copy));
                }
            }
            if !added.is_empty() {
                object.make_mut().fields.extend(added);
            }
        }
    }

    /// Subgraphs that do not define an object type but resolve `field_name` for it through
    /// an `@interfaceObject` of one of its interfaces: (subgraph, interface).
    pub(super) fn interface_object_sources(
        &self,
        interfaces: &[Name],
        field_name: &Name,
        defining: &[usize],
    ) -> Vec<(usize, Name)> {
        let mut out = Vec::new();
        for (index, subgraph) in self.subgraphs.iter().enumerate() {
            if defining.contains(&index) {
                continue;
            }
            for interface in interfaces {
                let resolves = subgraph.meta.is_interface_object(interface)
                    && subgraph
                        .schema
                        .get_object(interface)
                        .is_some_and(|o| o.fields.contains_key(field_name))
                    && !subgraph.meta.field(interface, field_name).external;
                if resolves {
                    out.push((index, interface.clone()));
                }
            }
        }
        out
    }

    /// A field resolved by several subgraphs (directly, or through an `@interfaceObject`
    /// in `abstracted`) must be shareable in each of them.
    fn check_sharing(
        &mut self,
        field_name: &Name,
        coordinate: &str,
        sources: &[FieldSource<'_>],
        abstracted: &[(usize, Name)],
    ) {
        let type_name = coordinate
            .split_once('.')
            .map(|(t, _)| t)
            .unwrap_or(coordinate);
        // (subgraph label, shareable, location)
        let mut resolving: Vec<(String, bool, Option<crate::compose::SourceLocation>)> = sources
            .iter()
            .filter(|s| {
                !s.flags.external
                    && s.overridden == Overridden::No
                    // The two sides of a progressive override never resolve it together.
                    && !(s.override_label.is_some() && s.flags.override_from.is_none())
            })
            .map(|s| {
                let subgraph = &self.subgraphs[s.index];
                (
                    format!("\"{}\"", subgraph.name),
                    subgraph
                        .meta
                        .is_shareable(&Name::new_unchecked(type_name), field_name),
                    subgraph.location(s.field.location()),
                )
            })
            .collect();
        for (index, interface) in abstracted {
            let subgraph = &self.subgraphs[*index];
            let field = subgraph
                .schema
                .get_object(interface)
                .and_then(|o| o.fields.get(field_name));
            resolving.push((
                format!(
                    "\"{}\" (through @interfaceObject field \"{interface}.{field_name}\")",
                    subgraph.name
                ),
                subgraph.meta.is_shareable(interface, field_name),
                field.and_then(|f| subgraph.location(f.location())),
            ));
        }
        if resolving.len() < 2 || resolving.iter().all(|(_, shareable, _)| *shareable) {
            return;
        }
        let list = |labels: Vec<&str>| {
            let prefix = if labels.len() == 1 {
                "subgraph"
            } else {
                "subgraphs"
            };
            match labels.as_slice() {
                [one] => format!("{prefix} {one}"),
                [init @ .., last] => format!("{prefix} {} and {last}", init.join(", ")),
                [] => String::new(),
            }
        };
        let all_labels: Vec<&str> = resolving.iter().map(|(l, _, _)| l.as_str()).collect();
        let non_shareable: Vec<&str> = resolving
            .iter()
            .filter(|(_, shareable, _)| !shareable)
            .map(|(l, _, _)| l.as_str())
            .collect();
        let non_shareable = if non_shareable.len() == resolving.len() {
            "all of them".to_string()
        } else {
            list(non_shareable)
        };
        let message = format!(
            "Non-shareable field \"{coordinate}\" is resolved from multiple subgraphs: it is resolved from {} and defined as non-shareable in {non_shareable}",
            list(all_labels),
        );
        let locations = resolving.into_iter().map(|(_, _, l)| l).collect();
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
