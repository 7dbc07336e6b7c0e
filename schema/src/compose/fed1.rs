//! Federation 1 subgraphs (no `@link` to the federation spec), upgraded to Federation 2 the
//! way `@apollo/composition` does before composing: `extend type` entities become plain
//! definitions, `@external` key fields of extensions stop being external, directives that
//! Federation 2 forbids on interfaces or never used are dropped, and fields or value types
//! that other subgraphs also resolve become `@shareable`.

use super::SubgraphInput;
use super::error::{CompositionError, code};
use super::federation_spec::FederationNames;
use crate::link::{FEDERATION_IDENTITY, Import, Link, SpecUrl, Version};
use apollo_compiler::ast::{self, Definition, OperationType};
use apollo_compiler::executable::{self, Selection};
use apollo_compiler::schema::{Component, ComponentOrigin, ExtendedType};
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Node, Schema};
use std::collections::{HashMap, HashSet};

/// The federation directives a Federation 1 subgraph may use, by their plain names.
const FED1_DIRECTIVES: &[&str] = &[
    "key",
    "requires",
    "provides",
    "external",
    "extends",
    "tag",
    "inaccessible",
    "shareable",
];

/// The link an upgraded Federation 1 subgraph is read with: federation v2.0 with every
/// directive it may use imported under its plain name.
pub(crate) fn fed1_link() -> Link {
    Link {
        url: format!("{FEDERATION_IDENTITY}/v2.0"),
        spec: SpecUrl {
            identity: FEDERATION_IDENTITY.to_string(),
            name: "federation".to_string(),
            version: Version { major: 2, minor: 0 },
        },
        alias: None,
        purpose: None,
        imports: FED1_DIRECTIVES
            .iter()
            .map(|name| Import {
                element: format!("@{name}"),
                alias: format!("@{name}"),
            })
            .collect(),
    }
}

/// What the upgrade needs to know about an object or interface type in one subgraph.
#[derive(Debug, Default)]
struct TypeSummary {
    subgraph: String,
    /// Has a definition that is not an extension (`type X`, possibly with `@extends`).
    has_definition: bool,
    has_key: bool,
    /// Top-level fields of the first `@key`.
    first_key_fields: Vec<Name>,
    /// Field → (external, provided by a `@provides` in that subgraph).
    fields: HashMap<Name, (bool, bool)>,
}

/// Object and interface types of every subgraph, as written (before any upgrade).
#[derive(Debug, Default)]
pub(crate) struct UpgradeContext {
    types: HashMap<Name, Vec<TypeSummary>>,
}

impl UpgradeContext {
    pub fn new(inputs: &[&SubgraphInput]) -> UpgradeContext {
        let mut context = UpgradeContext::default();
        for input in inputs {
            let Ok(document) = ast::Document::parse(input.sdl.as_str(), input.name.as_str()) else {
                continue;
            };
            context.add(&input.name, &document);
        }
        context
    }

    fn add(&mut self, subgraph: &str, document: &ast::Document) {
        // Local names of @key/@external/@provides/@extends in this subgraph.
        let link = document
            .definitions
            .iter()
            .filter_map(|d| match d {
                Definition::SchemaDefinition(s) => Some(&s.directives),
                Definition::SchemaExtension(s) => Some(&s.directives),
                _ => None,
            })
            .flat_map(|directives| directives.iter())
            .filter(|d| d.name == "link")
            .filter_map(|d| Link::from_directive(d).ok())
            .find(|l| l.spec.identity == FEDERATION_IDENTITY);
        let fed2 = link.is_some();
        let local = |name: &str| match &link {
            Some(link) => link.directive_name(name),
            None => name.to_string(),
        };
        let (key, external, provides, extends) = (
            local("key"),
            local("external"),
            local("provides"),
            local("extends"),
        );
        let mut provided: HashSet<(Name, Name)> = HashSet::new();
        let mut summaries: HashMap<Name, TypeSummary> = HashMap::new();
        let mut fake_external_candidates: Vec<(Name, Vec<Name>)> = Vec::new();
        for definition in &document.definitions {
            let (name, directives, fields, is_extension) = match definition {
                Definition::ObjectTypeDefinition(d) => (&d.name, &d.directives, &d.fields, false),
                Definition::ObjectTypeExtension(d) => (&d.name, &d.directives, &d.fields, true),
                Definition::InterfaceTypeDefinition(d) => {
                    (&d.name, &d.directives, &d.fields, false)
                }
                Definition::InterfaceTypeExtension(d) => (&d.name, &d.directives, &d.fields, true),
                _ => continue,
            };
            let summary = summaries
                .entry(name.clone())
                .or_insert_with(|| TypeSummary {
                    subgraph: subgraph.to_string(),
                    ..TypeSummary::default()
                });
            summary.has_definition |= !is_extension;
            let type_external = fed2 && directives.has(&external);
            let extension_like = is_extension || directives.has(&extends);
            for application in directives.get_all(&key) {
                let names = application
                    .specified_argument_by_name("fields")
                    .and_then(|v| v.as_str())
                    .map(super::metadata::top_level_names)
                    .unwrap_or_default();
                if !summary.has_key {
                    summary.first_key_fields.clone_from(&names);
                }
                summary.has_key = true;
                if extension_like {
                    fake_external_candidates.push((name.clone(), names));
                }
            }
            for field in fields {
                let is_external = type_external || field.directives.has(&external);
                summary
                    .fields
                    .insert(field.name.clone(), (is_external, false));
                if let Some(fields) = field
                    .directives
                    .get(&provides)
                    .and_then(|d| d.specified_argument_by_name("fields"))
                    .and_then(|v| v.as_str())
                {
                    let target = field.ty.inner_named_type().clone();
                    for provided_name in super::metadata::top_level_names(fields) {
                        provided.insert((target.clone(), provided_name));
                    }
                }
            }
        }
        // Key fields of extensions marked @external are not really external.
        for (type_name, names) in fake_external_candidates {
            if let Some(summary) = summaries.get_mut(&type_name) {
                for name in names {
                    if let Some(flags) = summary.fields.get_mut(&name) {
                        flags.0 = false;
                    }
                }
            }
        }
        for (type_name, mut summary) in summaries {
            for (field_name, flags) in summary.fields.iter_mut() {
                flags.1 = provided.contains(&(type_name.clone(), field_name.clone()));
            }
            self.types.entry(type_name).or_default().push(summary);
        }
    }

    fn others<'c>(&'c self, type_name: &str, me: &'c str) -> impl Iterator<Item = &'c TypeSummary> {
        self.types
            .get(type_name)
            .into_iter()
            .flatten()
            .filter(move |s| s.subgraph != me)
    }
}

/// Upgrades a Federation 1 subgraph's schema in place (before validation).
pub(crate) fn upgrade(
    schema: &mut Schema,
    subgraph: &str,
    fed: &FederationNames,
    context: &UpgradeContext,
) -> Vec<CompositionError> {
    let mut upgrader = Upgrader {
        subgraph,
        names: Names {
            key: Name::new_unchecked(fed.local("key")),
            external: Name::new_unchecked(fed.local("external")),
            requires: Name::new_unchecked(fed.local("requires")),
            provides: Name::new_unchecked(fed.local("provides")),
            extends: Name::new_unchecked(fed.local("extends")),
            shareable: Name::new_unchecked(fed.local("shareable")),
        },
        context,
        errors: Vec::new(),
    };
    upgrader.run(schema);
    upgrader.errors
}

struct Names {
    key: Name,
    external: Name,
    requires: Name,
    provides: Name,
    extends: Name,
    shareable: Name,
}

struct Upgrader<'a> {
    subgraph: &'a str,
    names: Names,
    context: &'a UpgradeContext,
    errors: Vec<CompositionError>,
}

/// The parts of an object or interface type the upgrade edits.
struct Parts<'s> {
    directives: &'s mut apollo_compiler::schema::DirectiveList,
    fields: &'s mut apollo_compiler::collections::IndexMap<Name, Component<ast::FieldDefinition>>,
    implements:
        &'s mut apollo_compiler::collections::IndexSet<apollo_compiler::schema::ComponentName>,
}

fn parts(ty: &mut ExtendedType) -> Option<Parts<'_>> {
    match ty {
        ExtendedType::Object(o) => {
            let o = o.make_mut();
            Some(Parts {
                directives: &mut o.directives,
                fields: &mut o.fields,
                implements: &mut o.implements_interfaces,
            })
        }
        ExtendedType::Interface(i) => {
            let i = i.make_mut();
            Some(Parts {
                directives: &mut i.directives,
                fields: &mut i.fields,
                implements: &mut i.implements_interfaces,
            })
        }
        _ => None,
    }
}

fn is_definition(origin: &ComponentOrigin) -> bool {
    matches!(origin, ComponentOrigin::Definition)
}

impl Upgrader<'_> {
    fn error(&mut self, error_code: &'static str, message: String) {
        self.errors.push(CompositionError::new(
            error_code,
            format!("[{}] {message}", self.subgraph),
        ));
    }

    fn run(&mut self, schema: &mut Schema) {
        let roots: HashSet<Name> = [
            OperationType::Query,
            OperationType::Mutation,
            OperationType::Subscription,
        ]
        .into_iter()
        .filter_map(|op| schema.root_operation(op).cloned())
        .collect();
        let subscription = schema.root_operation(OperationType::Subscription).cloned();
        // Which types are federation extensions (`extend type` only, or `@extends`), which
        // root types are extended.
        let mut extensions: HashSet<Name> = HashSet::new();
        for (name, ty) in schema.types.iter_mut() {
            let extends = self.names.extends.clone();
            let Some(parts) = parts(ty) else { continue };
            let has_extends = parts.directives.has(&extends);
            let has_definition = parts.directives.iter().any(|d| is_definition(&d.origin))
                || parts.fields.values().any(|f| is_definition(&f.origin))
                || parts.implements.iter().any(|i| is_definition(&i.origin));
            let has_extension = parts.directives.iter().any(|d| !is_definition(&d.origin))
                || parts.fields.values().any(|f| !is_definition(&f.origin))
                || parts.implements.iter().any(|i| !is_definition(&i.origin));
            if has_extends || (has_extension && !has_definition) {
                extensions.insert(name.clone());
            }
        }

        // Extensions need a base definition somewhere.
        let mut no_base: Vec<Name> = extensions
            .iter()
            .filter(|name| !roots.contains(*name))
            .filter(|name| {
                !self
                    .context
                    .others(name, self.subgraph)
                    .any(|s| s.has_definition)
            })
            .cloned()
            .collect();
        no_base.sort();
        for name in no_base {
            self.error(
                code::EXTENSION_WITH_NO_BASE,
                format!("Type \"{name}\" is an extension type, but there is no type definition for \"{name}\" in any subgraph."),
            );
        }

        let external = self.names.external.clone();
        for (name, ty) in schema.types.iter_mut() {
            let is_interface = ty.is_interface();
            let is_object = ty.is_object();
            let Some(parts) = parts(ty) else { continue };
            if is_interface {
                for field in parts.fields.values_mut() {
                    remove_directive(&mut field.make_mut().directives, &external);
                }
            }
            if is_object {
                parts.directives.retain(|d| d.name != external);
            }
            if extensions.contains(name) {
                // Key fields of an extension are what the subgraph receives, not externals.
                let own_keys: Vec<Vec<Name>> = parts
                    .directives
                    .get_all(&self.names.key)
                    .filter_map(|k| k.specified_argument_by_name("fields"))
                    .filter_map(|v| v.as_str())
                    .map(super::metadata::top_level_names)
                    .collect();
                let key_fields: Vec<Name> = if own_keys.is_empty() {
                    self.context
                        .others(name, self.subgraph)
                        .filter(|s| s.has_key)
                        .flat_map(|s| s.first_key_fields.iter().cloned())
                        .collect()
                } else {
                    own_keys.into_iter().flatten().collect()
                };
                for field_name in key_fields {
                    if let Some(field) = parts.fields.get_mut(&field_name) {
                        remove_directive(&mut field.make_mut().directives, &external);
                    }
                }
            }
        }

        self.fix_inactive_provides_and_requires(schema);

        // Extensions become definitions.
        for name in &extensions {
            if let Some(parts) = schema.types.get_mut(name).and_then(parts) {
                for directive in parts.directives.iter_mut() {
                    directive.origin = ComponentOrigin::Definition;
                }
                for field in parts.fields.values_mut() {
                    field.origin = ComponentOrigin::Definition;
                }
                let implements: Vec<_> = parts
                    .implements
                    .drain(..)
                    .map(|mut i| {
                        i.origin = ComponentOrigin::Definition;
                        i
                    })
                    .collect();
                parts.implements.extend(implements);
            }
        }

        // Federation 2 refuses these on interfaces; Federation 1 ignored them.
        let (key, provides, requires) = (
            self.names.key.clone(),
            self.names.provides.clone(),
            self.names.requires.clone(),
        );
        for ty in schema.types.values_mut() {
            if let ExtendedType::Interface(interface) = ty {
                let interface = interface.make_mut();
                interface.directives.retain(|d| d.name != key);
                for field in interface.fields.values_mut() {
                    let field = field.make_mut();
                    remove_directive(&mut field.directives, &provides);
                    remove_directive(&mut field.directives, &requires);
                }
            }
        }
        // @provides on a field that returns a scalar or enum means nothing.
        let composite: HashSet<Name> = schema
            .types
            .iter()
            .filter(|(_, t)| t.is_object() || t.is_interface() || t.is_union())
            .map(|(n, _)| n.clone())
            .collect();
        for ty in schema.types.values_mut() {
            if let ExtendedType::Object(object) = ty {
                for field in object.make_mut().fields.values_mut() {
                    if !composite.contains(field.ty.inner_named_type()) {
                        remove_directive(&mut field.make_mut().directives, &provides);
                    }
                }
            }
        }

        self.remove_unused_externals(schema);
        self.add_shareable(schema, &roots, subscription.as_ref());
    }

    /// Drops from `@provides`/`@requires` the leaf fields that are not `@external` (they
    /// were no-ops in Federation 1 and are errors in Federation 2).
    fn fix_inactive_provides_and_requires(&mut self, schema: &mut Schema) {
        let mut rewrites: Vec<(Name, Name, Name, Option<String>)> = Vec::new();
        for (type_name, ty) in &schema.types {
            let fields = match ty {
                ExtendedType::Object(o) => &o.fields,
                ExtendedType::Interface(i) => &i.fields,
                _ => continue,
            };
            for (field_name, field) in fields {
                for directive in [&self.names.provides, &self.names.requires] {
                    let Some(source) = field
                        .directives
                        .get(directive)
                        .and_then(|d| d.specified_argument_by_name("fields"))
                        .and_then(|v| v.as_str())
                    else {
                        continue;
                    };
                    let target = if *directive == self.names.provides {
                        field.ty.inner_named_type().clone()
                    } else {
                        type_name.clone()
                    };
                    let Some(set) = parse_field_set(schema, &target, source) else {
                        continue;
                    };
                    if !self.selects_non_external_leaf(&set.selection_set) {
                        continue;
                    }
                    let kept = self.without_non_external_leaves(&set.selection_set);
                    rewrites.push((
                        type_name.clone(),
                        field_name.clone(),
                        directive.clone(),
                        (!kept.is_empty()).then_some(kept),
                    ));
                }
            }
        }
        for (type_name, field_name, directive, kept) in rewrites {
            let Some(parts) = schema.types.get_mut(&type_name).and_then(parts) else {
                continue;
            };
            let Some(field) = parts.fields.get_mut(&field_name) else {
                continue;
            };
            let field = field.make_mut();
            remove_directive(&mut field.directives, &directive);
            if let Some(kept) = kept {
                field.directives.push(Node::new(ast::Directive {
                    name: directive,
                    arguments: vec![Node::new(ast::Argument {
                        name: Name::new_unchecked("fields"),
                        value: Node::new(ast::Value::String(kept)),
                    })],
                }));
            }
        }
    }

    fn is_external(&self, field: &ast::FieldDefinition) -> bool {
        field.directives.has(&self.names.external)
    }

    fn selects_non_external_leaf(&self, set: &executable::SelectionSet) -> bool {
        set.selections.iter().any(|selection| match selection {
            Selection::Field(field) => {
                if self.is_external(&field.definition) {
                    return false;
                }
                field.selection_set.selections.is_empty()
                    || self.selects_non_external_leaf(&field.selection_set)
            }
            Selection::InlineFragment(fragment) => {
                self.selects_non_external_leaf(&fragment.selection_set)
            }
            Selection::FragmentSpread(_) => false,
        })
    }

    /// The selection without non-external leaves, printed (`a b { c }`).
    fn without_non_external_leaves(&self, set: &executable::SelectionSet) -> String {
        let mut parts = Vec::new();
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    if self.is_external(&field.definition) {
                        parts.push(print_selection(selection));
                    } else if !field.selection_set.selections.is_empty() {
                        let inner = self.without_non_external_leaves(&field.selection_set);
                        if !inner.is_empty() {
                            parts.push(format!("{} {{ {inner} }}", field.name));
                        }
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let inner = self.without_non_external_leaves(&fragment.selection_set);
                    if !inner.is_empty() {
                        match &fragment.type_condition {
                            Some(t) => parts.push(format!("... on {t} {{ {inner} }}")),
                            None => parts.push(format!("... {{ {inner} }}")),
                        }
                    }
                }
                Selection::FragmentSpread(_) => {}
            }
        }
        parts.join(" ")
    }

    /// `@external` fields no key, `@requires`, `@provides` or interface uses are removed,
    /// and types left with no field with them (an error if something still references them).
    fn remove_unused_externals(&mut self, schema: &mut Schema) {
        let mut used: HashSet<(Name, Name)> = HashSet::new();
        for (type_name, ty) in &schema.types {
            let (directives, fields) = match ty {
                ExtendedType::Object(o) => (&o.directives, &o.fields),
                ExtendedType::Interface(i) => (&i.directives, &i.fields),
                _ => continue,
            };
            for key in directives.get_all(&self.names.key) {
                if let Some(source) = key
                    .specified_argument_by_name("fields")
                    .and_then(|v| v.as_str())
                    && let Some(set) = parse_field_set(schema, type_name, source)
                {
                    collect_fields(&set.selection_set, &mut used);
                }
            }
            for field in fields.values() {
                for (directive, target) in [
                    (&self.names.requires, type_name.clone()),
                    (&self.names.provides, field.ty.inner_named_type().clone()),
                ] {
                    if let Some(source) = field
                        .directives
                        .get(directive)
                        .and_then(|d| d.specified_argument_by_name("fields"))
                        .and_then(|v| v.as_str())
                        && let Some(set) = parse_field_set(schema, &target, source)
                    {
                        collect_fields(&set.selection_set, &mut used);
                    }
                }
            }
        }
        // Fields that implement an interface field are used.
        let interface_fields: HashMap<Name, Vec<Name>> = schema
            .types
            .iter()
            .filter_map(|(name, ty)| match ty {
                ExtendedType::Interface(i) => {
                    Some((name.clone(), i.fields.keys().cloned().collect()))
                }
                _ => None,
            })
            .collect();
        let mut emptied: Vec<Name> = Vec::new();
        let external = self.names.external.clone();
        for (type_name, ty) in schema.types.iter_mut() {
            let Some(parts) = parts(ty) else { continue };
            let implemented: HashSet<Name> = parts
                .implements
                .iter()
                .filter_map(|i| interface_fields.get(&i.name))
                .flatten()
                .cloned()
                .collect();
            let before = parts.fields.len();
            parts.fields.retain(|field_name, field| {
                !field.directives.has(&external)
                    || used.contains(&(type_name.clone(), field_name.clone()))
                    || implemented.contains(field_name)
            });
            if before > 0 && parts.fields.is_empty() {
                emptied.push(type_name.clone());
            }
        }
        for name in emptied {
            if is_referenced(schema, &name) {
                self.error(
                    code::TYPE_WITH_ONLY_UNUSED_EXTERNAL,
                    format!("Type {name} contains only external fields and all those fields are all unused (they do not appear in any @key, @provides or @requires)."),
                );
            } else {
                schema.types.shift_remove(&name);
            }
        }
    }

    /// Fields of entities and root types that other subgraphs also resolve, and value
    /// types other subgraphs also define, become `@shareable`.
    fn add_shareable(
        &mut self,
        schema: &mut Schema,
        roots: &HashSet<Name>,
        subscription: Option<&Name>,
    ) {
        // Originally shareable: key fields and provided externals.
        let mut originally: HashSet<(Name, Name)> = HashSet::new();
        for (type_name, ty) in &schema.types {
            let ExtendedType::Object(object) = ty else {
                continue;
            };
            for key in object.directives.get_all(&self.names.key) {
                if let Some(source) = key
                    .specified_argument_by_name("fields")
                    .and_then(|v| v.as_str())
                    && let Some(set) = parse_field_set(schema, type_name, source)
                {
                    collect_fields(&set.selection_set, &mut originally);
                }
            }
        }
        let shareable = self.names.shareable.clone();
        let key = self.names.key.clone();
        for (type_name, ty) in schema.types.iter_mut() {
            let ExtendedType::Object(object) = ty else {
                continue;
            };
            if Some(type_name) == subscription {
                continue;
            }
            let entity_or_root = object.directives.has(&key) || roots.contains(type_name);
            if entity_or_root {
                let mut add = Vec::new();
                for (field_name, field) in &object.fields {
                    if originally.contains(&(type_name.clone(), field_name.clone()))
                        || field.directives.has(&shareable)
                    {
                        continue;
                    }
                    let elsewhere = self.context.others(type_name, self.subgraph).any(|s| {
                        s.fields
                            .get(field_name)
                            .is_some_and(|(external, provided)| !external || *provided)
                    });
                    if elsewhere {
                        add.push(field_name.clone());
                    }
                }
                let object = object.make_mut();
                for field_name in add {
                    if let Some(field) = object.fields.get_mut(&field_name) {
                        field.make_mut().directives.push(Node::new(ast::Directive {
                            name: shareable.clone(),
                            arguments: Vec::new(),
                        }));
                    }
                }
            } else if self
                .context
                .others(type_name, self.subgraph)
                .next()
                .is_some()
                && !object.directives.has(&shareable)
            {
                object
                    .make_mut()
                    .directives
                    .push(Component::new(ast::Directive {
                        name: shareable.clone(),
                        arguments: Vec::new(),
                    }));
            }
        }
    }
}

fn remove_directive(directives: &mut ast::DirectiveList, name: &Name) {
    directives.0.retain(|d| d.name != *name);
}

/// Parses a field set against a schema that is not validated yet (partially, on errors).
fn parse_field_set(
    schema: &Schema,
    type_name: &Name,
    source: &str,
) -> Option<executable::FieldSet> {
    if !schema.types.contains_key(type_name) {
        return None;
    }
    let valid = Valid::assume_valid_ref(schema);
    match executable::FieldSet::parse(valid, type_name.clone(), source, "field set") {
        Ok(set) => Some(set),
        Err(with_errors) => Some(with_errors.partial),
    }
}

fn collect_fields(set: &executable::SelectionSet, out: &mut HashSet<(Name, Name)>) {
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => {
                out.insert((set.ty.clone(), field.name.clone()));
                collect_fields(&field.selection_set, out);
            }
            Selection::InlineFragment(fragment) => collect_fields(&fragment.selection_set, out),
            Selection::FragmentSpread(_) => {}
        }
    }
}

fn print_selection(selection: &Selection) -> String {
    match selection {
        Selection::Field(field) => {
            if field.selection_set.selections.is_empty() {
                field.name.to_string()
            } else {
                let inner: Vec<String> = field
                    .selection_set
                    .selections
                    .iter()
                    .map(print_selection)
                    .collect();
                format!("{} {{ {} }}", field.name, inner.join(" "))
            }
        }
        Selection::InlineFragment(fragment) => {
            let inner: Vec<String> = fragment
                .selection_set
                .selections
                .iter()
                .map(print_selection)
                .collect();
            match &fragment.type_condition {
                Some(t) => format!("... on {t} {{ {} }}", inner.join(" ")),
                None => format!("... {{ {} }}", inner.join(" ")),
            }
        }
        Selection::FragmentSpread(spread) => format!("...{}", spread.fragment_name),
    }
}

/// Whether a field, argument, union or implementation names `type_name`.
fn is_referenced(schema: &Schema, type_name: &Name) -> bool {
    schema.types.values().any(|ty| match ty {
        ExtendedType::Object(o) => {
            o.implements_interfaces.contains(type_name)
                || o.fields.values().any(|f| {
                    f.ty.inner_named_type() == type_name
                        || f.arguments
                            .iter()
                            .any(|a| a.ty.inner_named_type() == type_name)
                })
        }
        ExtendedType::Interface(i) => {
            i.implements_interfaces.contains(type_name)
                || i.fields.values().any(|f| {
                    f.ty.inner_named_type() == type_name
                        || f.arguments
                            .iter()
                            .any(|a| a.ty.inner_named_type() == type_name)
                })
        }
        ExtendedType::Union(u) => u.members.contains(type_name),
        ExtendedType::InputObject(i) => i
            .fields
            .values()
            .any(|f| f.ty.inner_named_type() == type_name),
        _ => false,
    })
}
