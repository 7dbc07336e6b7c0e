//! What changed between two API schemas, and how much each change can hurt a client.
//!
//! The change identifiers (`FIELD_REMOVED`, `ENUM_VALUE_ADDED`, …), their paths and their
//! criticality follow `@graphql-inspector/core`, the vocabulary CI tooling already
//! speaks; `tests/check/` holds schema pairs with inspector's verdicts and the test that
//! compares. We differ on purpose where inspector misses or misjudges a change:
//!
//! - a directive losing `repeatable` is breaking (`DIRECTIVE_REPEATABLE_REMOVED`);
//!   inspector does not compare `repeatable`;
//! - an interface starting or stopping to implement an interface is reported like an
//!   object's (`OBJECT_TYPE_INTERFACE_ADDED`/`_REMOVED`); inspector skips interfaces;
//! - adding a root operation type is not a breaking root change (inspector reports a
//!   custom-named new root as `SCHEMA_*_TYPE_CHANGED` "from 'unknown'");
//! - a new non-null input field with a default is dangerous, like an argument with one;
//!   inspector ignores the default and calls it breaking.

use apollo_compiler::Schema;
use apollo_compiler::ast::{self, DirectiveLocation, Type};
use apollo_compiler::schema::{
    Component, DirectiveDefinition, ExtendedType, InputValueDefinition, Name,
};
use std::fmt;

/// How much a change can hurt existing clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Criticality {
    /// Existing operations stop validating or get different results.
    Breaking,
    /// Valid operations keep working, but clients may see something they do not handle
    /// (a new enum value, a new union member, a new default).
    Dangerous,
    Safe,
}

impl Criticality {
    /// Inspector's spelling: `BREAKING`, `DANGEROUS`, `NON_BREAKING`.
    pub fn as_str(self) -> &'static str {
        match self {
            Criticality::Breaking => "BREAKING",
            Criticality::Dangerous => "DANGEROUS",
            Criticality::Safe => "NON_BREAKING",
        }
    }
}

impl fmt::Display for Criticality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Criticality::Breaking => "breaking",
            Criticality::Dangerous => "dangerous",
            Criticality::Safe => "safe",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Inspector's change type, e.g. `FIELD_REMOVED`.
    pub kind: &'static str,
    pub criticality: Criticality,
    /// The schema coordinate changed (`User.name`, `Query.users.first`, `@tag`), `None`
    /// for the schema's root types.
    pub path: Option<String>,
    pub message: String,
}

/// Every change from `old` to `new`, sorted by path then kind.
pub fn diff(old: &Schema, new: &Schema) -> Vec<Change> {
    let mut out = Changes(Vec::new());
    roots(old, new, &mut out);
    for (name, old_type) in &old.types {
        if old_type.is_built_in() {
            continue;
        }
        match new.types.get(name) {
            None => out.push(
                "TYPE_REMOVED",
                Criticality::Breaking,
                name,
                format!("Type '{name}' was removed"),
            ),
            Some(new_type) => changes_in_type(name, old_type, new_type, &mut out),
        }
    }
    for (name, new_type) in &new.types {
        if !new_type.is_built_in() && !old.types.contains_key(name) {
            out.push(
                "TYPE_ADDED",
                Criticality::Safe,
                name,
                format!("Type '{name}' was added"),
            );
        }
    }
    for (name, old_directive) in &old.directive_definitions {
        if is_built_in_directive(name) {
            continue;
        }
        match new.directive_definitions.get(name) {
            None => out.push(
                "DIRECTIVE_REMOVED",
                Criticality::Breaking,
                format!("@{name}"),
                format!("Directive '{name}' was removed"),
            ),
            Some(new_directive) => changes_in_directive(old_directive, new_directive, &mut out),
        }
    }
    for name in new.directive_definitions.keys() {
        if !is_built_in_directive(name) && !old.directive_definitions.contains_key(name) {
            out.push(
                "DIRECTIVE_ADDED",
                Criticality::Safe,
                format!("@{name}"),
                format!("Directive '{name}' was added"),
            );
        }
    }
    let mut changes = out.0;
    changes.sort_by(|a, b| (&a.path, a.kind).cmp(&(&b.path, b.kind)));
    changes
}

struct Changes(Vec<Change>);

impl Changes {
    fn push(
        &mut self,
        kind: &'static str,
        criticality: Criticality,
        path: impl AsRef<str>,
        message: String,
    ) {
        self.0.push(Change {
            kind,
            criticality,
            path: Some(path.as_ref().to_owned()),
            message,
        });
    }
}

fn is_built_in_directive(name: &str) -> bool {
    matches!(
        name,
        "skip" | "include" | "deprecated" | "specifiedBy" | "oneOf" | "defer" | "stream"
    )
}

fn roots(old: &Schema, new: &Schema, out: &mut Changes) {
    let pairs = [
        (
            "SCHEMA_QUERY_TYPE_CHANGED",
            "query",
            &old.schema_definition.query,
            &new.schema_definition.query,
        ),
        (
            "SCHEMA_MUTATION_TYPE_CHANGED",
            "mutation",
            &old.schema_definition.mutation,
            &new.schema_definition.mutation,
        ),
        (
            "SCHEMA_SUBSCRIPTION_TYPE_CHANGED",
            "subscription",
            &old.schema_definition.subscription,
            &new.schema_definition.subscription,
        ),
    ];
    for (kind, operation, old_root, new_root) in pairs {
        // A root that appears or disappears shows as its type being added or removed.
        if let (Some(old_root), Some(new_root)) = (old_root, new_root)
            && old_root.name != new_root.name
        {
            out.0.push(Change {
                kind,
                criticality: Criticality::Breaking,
                path: None,
                message: format!(
                    "Schema {operation} root has changed from '{}' to '{}'",
                    old_root.name, new_root.name
                ),
            });
        }
    }
}

fn kind_name(ty: &ExtendedType) -> &'static str {
    match ty {
        ExtendedType::Scalar(_) => "scalar",
        ExtendedType::Object(_) => "object type",
        ExtendedType::Interface(_) => "interface",
        ExtendedType::Union(_) => "union",
        ExtendedType::Enum(_) => "enum",
        ExtendedType::InputObject(_) => "input object type",
    }
}

fn changes_in_type(name: &Name, old: &ExtendedType, new: &ExtendedType, out: &mut Changes) {
    if std::mem::discriminant(old) != std::mem::discriminant(new) {
        out.push(
            "TYPE_KIND_CHANGED",
            Criticality::Breaking,
            name,
            format!(
                "'{name}' kind changed from {} to {}",
                kind_name(old),
                kind_name(new)
            ),
        );
        return;
    }
    description_change(
        old.description().map(|d| d.as_str()),
        new.description().map(|d| d.as_str()),
        name,
        [
            "TYPE_DESCRIPTION_ADDED",
            "TYPE_DESCRIPTION_CHANGED",
            "TYPE_DESCRIPTION_REMOVED",
        ],
        &format!("{} '{name}'", kind_name(new)),
        out,
    );
    let (usage_kind, usage_what) = match new {
        ExtendedType::Scalar(_) => ("SCALAR", "scalar"),
        ExtendedType::Object(_) => ("OBJECT", "object"),
        ExtendedType::Interface(_) => ("INTERFACE", "interface"),
        ExtendedType::Union(_) => ("UNION", "union"),
        ExtendedType::Enum(_) => ("ENUM", "enum"),
        ExtendedType::InputObject(_) => ("INPUT_OBJECT", "input object"),
    };
    directive_usages(
        old.directives().iter().map(|d| &d.name),
        new.directives().iter().map(|d| &d.name),
        usage_kind,
        name,
        &format!("{usage_what} '{name}'"),
        out,
    );
    match (old, new) {
        (ExtendedType::Object(old), ExtendedType::Object(new)) => {
            interfaces(
                name,
                "object",
                &old.implements_interfaces,
                &new.implements_interfaces,
                out,
            );
            fields(name, "object type", &old.fields, &new.fields, out);
        }
        (ExtendedType::Interface(old), ExtendedType::Interface(new)) => {
            interfaces(
                name,
                "interface",
                &old.implements_interfaces,
                &new.implements_interfaces,
                out,
            );
            fields(name, "interface", &old.fields, &new.fields, out);
        }
        (ExtendedType::Union(old), ExtendedType::Union(new)) => {
            for member in old.members.difference(&new.members) {
                out.push(
                    "UNION_MEMBER_REMOVED",
                    Criticality::Breaking,
                    name,
                    format!("Member '{member}' was removed from union '{name}'"),
                );
            }
            for member in new.members.difference(&old.members) {
                out.push(
                    "UNION_MEMBER_ADDED",
                    Criticality::Dangerous,
                    name,
                    format!("Member '{member}' was added to union '{name}'"),
                );
            }
        }
        (ExtendedType::Enum(old), ExtendedType::Enum(new)) => {
            for (value, old_value) in &old.values {
                let path = format!("{name}.{value}");
                let Some(new_value) = new.values.get(value) else {
                    out.push(
                        "ENUM_VALUE_REMOVED",
                        Criticality::Breaking,
                        path,
                        format!("Enum value '{value}' was removed from enum '{name}'"),
                    );
                    continue;
                };
                if old_value.description != new_value.description {
                    out.push(
                        "ENUM_VALUE_DESCRIPTION_CHANGED",
                        Criticality::Safe,
                        &path,
                        format!(
                            "Description of enum value '{path}' changed from {} to {}",
                            quoted(old_value.description.as_deref()),
                            quoted(new_value.description.as_deref())
                        ),
                    );
                }
                let old_reason = deprecation_reason(&old_value.directives);
                let new_reason = deprecation_reason(&new_value.directives);
                match (&old_reason, &new_reason) {
                    (None, Some(reason)) => out.push(
                        "ENUM_VALUE_DEPRECATION_REASON_ADDED",
                        Criticality::Safe,
                        &path,
                        format!("Enum value '{path}' was deprecated with reason '{reason}'"),
                    ),
                    (Some(_), None) => out.push(
                        "ENUM_VALUE_DEPRECATION_REASON_REMOVED",
                        Criticality::Safe,
                        &path,
                        format!("Enum value '{path}' is no longer deprecated"),
                    ),
                    (Some(a), Some(b)) if a != b => out.push(
                        "ENUM_VALUE_DEPRECATION_REASON_CHANGED",
                        Criticality::Safe,
                        &path,
                        format!(
                            "Deprecation reason of enum value '{path}' changed from '{a}' to '{b}'"
                        ),
                    ),
                    _ => {}
                }
                directive_usages(
                    old_value.directives.iter().map(|d| &d.name),
                    new_value.directives.iter().map(|d| &d.name),
                    "ENUM_VALUE",
                    &path,
                    &format!("enum value '{path}'"),
                    out,
                );
            }
            for value in new.values.keys() {
                if !old.values.contains_key(value) {
                    out.push(
                        "ENUM_VALUE_ADDED",
                        Criticality::Dangerous,
                        format!("{name}.{value}"),
                        format!("Enum value '{value}' was added to enum '{name}'"),
                    );
                }
            }
        }
        (ExtendedType::InputObject(old), ExtendedType::InputObject(new)) => {
            for (field, old_field) in &old.fields {
                let path = format!("{name}.{field}");
                match new.fields.get(field) {
                    None => out.push(
                        "INPUT_FIELD_REMOVED",
                        Criticality::Breaking,
                        path,
                        format!(
                            "Input field '{field}' was removed from input object type '{name}'"
                        ),
                    ),
                    Some(new_field) => input_field(&path, old_field, new_field, out),
                }
            }
            for (field, new_field) in &new.fields {
                if old.fields.contains_key(field) {
                    continue;
                }
                let criticality = if new_field.is_required() {
                    Criticality::Breaking
                } else {
                    Criticality::Dangerous
                };
                out.push(
                    "INPUT_FIELD_ADDED",
                    criticality,
                    format!("{name}.{field}"),
                    format!(
                        "Input field '{field}: {}' was added to input object type '{name}'",
                        new_field.ty
                    ),
                );
            }
        }
        _ => {}
    }
}

fn interfaces(
    name: &Name,
    what: &str,
    old: &apollo_compiler::collections::IndexSet<apollo_compiler::schema::ComponentName>,
    new: &apollo_compiler::collections::IndexSet<apollo_compiler::schema::ComponentName>,
    out: &mut Changes,
) {
    for interface in old.difference(new) {
        out.push(
            "OBJECT_TYPE_INTERFACE_REMOVED",
            Criticality::Breaking,
            name,
            format!("{what} '{name}' no longer implements interface '{interface}'"),
        );
    }
    for interface in new.difference(old) {
        out.push(
            "OBJECT_TYPE_INTERFACE_ADDED",
            Criticality::Dangerous,
            name,
            format!("{what} '{name}' now implements interface '{interface}'"),
        );
    }
}

fn fields(
    type_name: &Name,
    what: &str,
    old: &apollo_compiler::collections::IndexMap<Name, Component<ast::FieldDefinition>>,
    new: &apollo_compiler::collections::IndexMap<Name, Component<ast::FieldDefinition>>,
    out: &mut Changes,
) {
    for (field, old_field) in old {
        let path = format!("{type_name}.{field}");
        let Some(new_field) = new.get(field) else {
            out.push(
                "FIELD_REMOVED",
                Criticality::Breaking,
                path,
                format!("Field '{field}' was removed from {what} '{type_name}'"),
            );
            continue;
        };
        description_change(
            old_field.description.as_deref(),
            new_field.description.as_deref(),
            &path,
            [
                "FIELD_DESCRIPTION_ADDED",
                "FIELD_DESCRIPTION_CHANGED",
                "FIELD_DESCRIPTION_REMOVED",
            ],
            &format!("field '{path}'"),
            out,
        );
        let old_reason = deprecation_reason(&old_field.directives);
        let new_reason = deprecation_reason(&new_field.directives);
        match (&old_reason, &new_reason) {
            (None, Some(reason)) => {
                out.push(
                    "FIELD_DEPRECATION_ADDED",
                    Criticality::Safe,
                    &path,
                    format!("Field '{path}' is deprecated"),
                );
                out.push(
                    "FIELD_DEPRECATION_REASON_ADDED",
                    Criticality::Safe,
                    &path,
                    format!("Field '{path}' has deprecation reason '{reason}'"),
                );
            }
            (Some(_), None) => {
                // Clients that stopped using the field may start again; nothing breaks.
                out.push(
                    "FIELD_DEPRECATION_REMOVED",
                    Criticality::Dangerous,
                    &path,
                    format!("Field '{path}' is no longer deprecated"),
                );
                out.push(
                    "FIELD_DEPRECATION_REASON_REMOVED",
                    Criticality::Safe,
                    &path,
                    format!("Deprecation reason was removed from field '{path}'"),
                );
            }
            (Some(a), Some(b)) if a != b => out.push(
                "FIELD_DEPRECATION_REASON_CHANGED",
                Criticality::Safe,
                &path,
                format!("Deprecation reason on field '{path}' changed from '{a}' to '{b}'"),
            ),
            _ => {}
        }
        if old_field.ty != new_field.ty {
            let criticality = if safe_output_change(&old_field.ty, &new_field.ty) {
                Criticality::Safe
            } else {
                Criticality::Breaking
            };
            out.push(
                "FIELD_TYPE_CHANGED",
                criticality,
                &path,
                format!(
                    "Field '{path}' changed type from '{}' to '{}'",
                    old_field.ty, new_field.ty
                ),
            );
        }
        for old_arg in &old_field.arguments {
            let arg_path = format!("{path}.{}", old_arg.name);
            match new_field.argument_by_name(&old_arg.name) {
                None => out.push(
                    "FIELD_ARGUMENT_REMOVED",
                    Criticality::Breaking,
                    arg_path,
                    format!(
                        "Argument '{}: {}' was removed from field '{path}'",
                        old_arg.name, old_arg.ty
                    ),
                ),
                Some(new_arg) => argument(&arg_path, &path, old_arg, new_arg, out),
            }
        }
        for new_arg in &new_field.arguments {
            if old_field.argument_by_name(&new_arg.name).is_some() {
                continue;
            }
            let criticality = if new_arg.is_required() {
                Criticality::Breaking
            } else {
                Criticality::Dangerous
            };
            out.push(
                "FIELD_ARGUMENT_ADDED",
                criticality,
                format!("{path}.{}", new_arg.name),
                format!(
                    "Argument '{}: {}' was added to field '{path}'",
                    new_arg.name, new_arg.ty
                ),
            );
        }
        directive_usages(
            old_field.directives.iter().map(|d| &d.name),
            new_field.directives.iter().map(|d| &d.name),
            "FIELD_DEFINITION",
            &path,
            &format!("field '{path}'"),
            out,
        );
    }
    for field in new.keys() {
        if !old.contains_key(field) {
            out.push(
                "FIELD_ADDED",
                Criticality::Safe,
                format!("{type_name}.{field}"),
                format!("Field '{field}' was added to {what} '{type_name}'"),
            );
        }
    }
}

fn argument(
    path: &str,
    field_path: &str,
    old: &InputValueDefinition,
    new: &InputValueDefinition,
    out: &mut Changes,
) {
    let name = &old.name;
    if old.description != new.description {
        out.push(
            "FIELD_ARGUMENT_DESCRIPTION_CHANGED",
            Criticality::Safe,
            path,
            format!(
                "Description of argument '{name}' on field '{field_path}' changed from {} to {}",
                quoted(old.description.as_deref()),
                quoted(new.description.as_deref())
            ),
        );
    }
    default_and_type(
        old,
        new,
        path,
        &format!("argument '{name}' on field '{field_path}'"),
        [
            "FIELD_ARGUMENT_DEFAULT_CHANGED",
            "FIELD_ARGUMENT_TYPE_CHANGED",
        ],
        out,
    );
    directive_usages(
        old.directives.iter().map(|d| &d.name),
        new.directives.iter().map(|d| &d.name),
        "ARGUMENT_DEFINITION",
        path,
        &format!("argument '{path}'"),
        out,
    );
}

fn input_field(
    path: &str,
    old: &InputValueDefinition,
    new: &InputValueDefinition,
    out: &mut Changes,
) {
    description_change(
        old.description.as_deref(),
        new.description.as_deref(),
        path,
        [
            "INPUT_FIELD_DESCRIPTION_ADDED",
            "INPUT_FIELD_DESCRIPTION_CHANGED",
            "INPUT_FIELD_DESCRIPTION_REMOVED",
        ],
        &format!("input field '{path}'"),
        out,
    );
    default_and_type(
        old,
        new,
        path,
        &format!("input field '{path}'"),
        [
            "INPUT_FIELD_DEFAULT_VALUE_CHANGED",
            "INPUT_FIELD_TYPE_CHANGED",
        ],
        out,
    );
    directive_usages(
        old.directives.iter().map(|d| &d.name),
        new.directives.iter().map(|d| &d.name),
        "INPUT_FIELD_DEFINITION",
        path,
        &format!("input field '{path}'"),
        out,
    );
}

fn changes_in_directive(old: &DirectiveDefinition, new: &DirectiveDefinition, out: &mut Changes) {
    let name = &old.name;
    let path = format!("@{name}");
    if old.description != new.description {
        out.push(
            "DIRECTIVE_DESCRIPTION_CHANGED",
            Criticality::Safe,
            &path,
            format!(
                "Description of directive '{name}' changed from {} to {}",
                quoted(old.description.as_deref()),
                quoted(new.description.as_deref())
            ),
        );
    }
    if old.repeatable && !new.repeatable {
        out.push(
            "DIRECTIVE_REPEATABLE_REMOVED",
            Criticality::Breaking,
            &path,
            format!("Directive '{name}' is no longer repeatable"),
        );
    } else if !old.repeatable && new.repeatable {
        out.push(
            "DIRECTIVE_REPEATABLE_ADDED",
            Criticality::Safe,
            &path,
            format!("Directive '{name}' is now repeatable"),
        );
    }
    let location_name = |l: &DirectiveLocation| l.name();
    for location in &old.locations {
        if !new.locations.contains(location) {
            out.push(
                "DIRECTIVE_LOCATION_REMOVED",
                Criticality::Breaking,
                &path,
                format!(
                    "Location '{}' was removed from directive '{name}'",
                    location_name(location)
                ),
            );
        }
    }
    for location in &new.locations {
        if !old.locations.contains(location) {
            out.push(
                "DIRECTIVE_LOCATION_ADDED",
                Criticality::Safe,
                &path,
                format!(
                    "Location '{}' was added to directive '{name}'",
                    location_name(location)
                ),
            );
        }
    }
    for old_arg in &old.arguments {
        let arg_path = format!("{path}.{}", old_arg.name);
        let Some(new_arg) = new.argument_by_name(&old_arg.name) else {
            out.push(
                "DIRECTIVE_ARGUMENT_REMOVED",
                Criticality::Breaking,
                arg_path,
                format!(
                    "Argument '{}' was removed from directive '{name}'",
                    old_arg.name
                ),
            );
            continue;
        };
        if old_arg.description != new_arg.description {
            out.push(
                "DIRECTIVE_ARGUMENT_DESCRIPTION_CHANGED",
                Criticality::Safe,
                &arg_path,
                format!(
                    "Description of argument '{}' on directive '{name}' changed",
                    old_arg.name
                ),
            );
        }
        default_and_type(
            old_arg,
            new_arg,
            &arg_path,
            &format!("argument '{}' on directive '{name}'", old_arg.name),
            [
                "DIRECTIVE_ARGUMENT_DEFAULT_VALUE_CHANGED",
                "DIRECTIVE_ARGUMENT_TYPE_CHANGED",
            ],
            out,
        );
    }
    for new_arg in &new.arguments {
        if old.argument_by_name(&new_arg.name).is_none() {
            let criticality = if new_arg.is_required() {
                Criticality::Breaking
            } else {
                Criticality::Safe
            };
            // Inspector's path for an added directive argument is the directive itself.
            out.push(
                "DIRECTIVE_ARGUMENT_ADDED",
                criticality,
                &path,
                format!(
                    "Argument '{}: {}' was added to directive '{name}'",
                    new_arg.name, new_arg.ty
                ),
            );
        }
    }
}

/// A default value change (dangerous) and a type change (safe only if it loosens) of an
/// argument or input field.
fn default_and_type(
    old: &InputValueDefinition,
    new: &InputValueDefinition,
    path: &str,
    what: &str,
    [default_kind, type_kind]: [&'static str; 2],
    out: &mut Changes,
) {
    let (old_default, new_default) = (default_text(old), default_text(new));
    if old_default != new_default {
        out.push(
            default_kind,
            Criticality::Dangerous,
            path,
            format!(
                "Default value of {what} changed from {} to {}",
                quoted(old_default.as_deref()),
                quoted(new_default.as_deref())
            ),
        );
    }
    if old.ty != new.ty {
        let criticality = if safe_input_change(&old.ty, &new.ty) {
            Criticality::Safe
        } else {
            Criticality::Breaking
        };
        out.push(
            type_kind,
            criticality,
            path,
            format!("Type of {what} changed from '{}' to '{}'", old.ty, new.ty),
        );
    }
}

/// `DIRECTIVE_USAGE_<KIND>_ADDED`/`_REMOVED` for applied directives, by name.
fn directive_usages<'a>(
    old: impl Iterator<Item = &'a Name>,
    new: impl Iterator<Item = &'a Name>,
    kind: &'static str,
    path: &str,
    what: &str,
    out: &mut Changes,
) {
    let old: indexmap::IndexSet<&Name> = old.collect();
    let new: indexmap::IndexSet<&Name> = new.collect();
    for name in new.difference(&old) {
        let criticality = match name.as_str() {
            "deprecated" => Criticality::Safe,
            // Clients that sent several fields now get a validation error.
            "oneOf" => Criticality::Breaking,
            _ => Criticality::Dangerous,
        };
        out.push(
            usage_kind(kind, true),
            criticality,
            format!("{path}.{name}"),
            format!("Directive '{name}' was added to {what}"),
        );
    }
    for name in old.difference(&new) {
        let criticality = match name.as_str() {
            "deprecated" | "oneOf" => Criticality::Safe,
            _ => Criticality::Dangerous,
        };
        out.push(
            usage_kind(kind, false),
            criticality,
            format!("{path}.{name}"),
            format!("Directive '{name}' was removed from {what}"),
        );
    }
}

fn usage_kind(kind: &str, added: bool) -> &'static str {
    macro_rules! kinds {
        ($($k:literal),*) => {
            match (kind, added) {
                $(
                    ($k, true) => concat!("DIRECTIVE_USAGE_", $k, "_ADDED"),
                    ($k, false) => concat!("DIRECTIVE_USAGE_", $k, "_REMOVED"),
                )*
                _ => unreachable!("unknown directive usage kind {kind}"),
            }
        };
    }
    kinds!(
        "SCALAR",
        "OBJECT",
        "INTERFACE",
        "UNION",
        "ENUM",
        "INPUT_OBJECT",
        "FIELD_DEFINITION",
        "ARGUMENT_DEFINITION",
        "ENUM_VALUE",
        "INPUT_FIELD_DEFINITION"
    )
}

fn description_change(
    old: Option<&str>,
    new: Option<&str>,
    path: &str,
    [added, changed, removed]: [&'static str; 3],
    what: &str,
    out: &mut Changes,
) {
    match (old, new) {
        (None, Some(text)) => out.push(
            added,
            Criticality::Safe,
            path,
            format!("Description '{text}' was added to {what}"),
        ),
        (Some(text), None) => out.push(
            removed,
            Criticality::Safe,
            path,
            format!("Description '{text}' was removed from {what}"),
        ),
        (Some(a), Some(b)) if a != b => out.push(
            changed,
            Criticality::Safe,
            path,
            format!("Description of {what} changed from '{a}' to '{b}'"),
        ),
        _ => {}
    }
}

/// The reason a `@deprecated` gives, with the spec's default.
fn deprecation_reason(directives: &ast::DirectiveList) -> Option<String> {
    let directive = directives.get("deprecated")?;
    let reason = directive
        .arguments
        .iter()
        .find(|a| a.name == "reason")
        .and_then(|a| a.value.as_str());
    Some(reason.unwrap_or("No longer supported").to_owned())
}

fn default_text(value: &InputValueDefinition) -> Option<String> {
    value.default_value.as_ref().map(|v| v.to_string())
}

fn quoted(text: Option<&str>) -> String {
    match text {
        Some(text) => format!("'{text}'"),
        None => "none".to_owned(),
    }
}

/// A field's type may only get stricter: clients handle every value they handled before.
fn safe_output_change(old: &Type, new: &Type) -> bool {
    match (old, new) {
        (Type::Named(a), Type::Named(b)) => a == b,
        (_, Type::NonNullNamed(b)) => match old {
            Type::Named(a) | Type::NonNullNamed(a) => a == b,
            _ => false,
        },
        (Type::List(a), Type::List(b)) | (Type::NonNullList(a), Type::NonNullList(b)) => {
            safe_output_change(a, b)
        }
        (Type::List(a), Type::NonNullList(b)) => safe_output_change(a, b),
        _ => false,
    }
}

/// An argument's or input field's type may only get looser: every value clients sent
/// before stays valid.
fn safe_input_change(old: &Type, new: &Type) -> bool {
    match (old, new) {
        (Type::Named(a), Type::Named(b)) => a == b,
        (Type::NonNullNamed(a), Type::Named(b) | Type::NonNullNamed(b)) => a == b,
        (Type::List(a), Type::List(b)) => safe_input_change(a, b),
        (Type::NonNullList(a), Type::List(b) | Type::NonNullList(b)) => safe_input_change(a, b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(text: &str) -> Type {
        Type::parse(text, "t").unwrap()
    }

    #[test]
    fn output_types_may_only_tighten() {
        assert!(safe_output_change(&ty("Int"), &ty("Int!")));
        assert!(safe_output_change(&ty("[Int]"), &ty("[Int!]!")));
        assert!(!safe_output_change(&ty("Int!"), &ty("Int")));
        assert!(!safe_output_change(&ty("[Int!]"), &ty("[Int]")));
        assert!(!safe_output_change(&ty("[Int]"), &ty("Int")));
        assert!(!safe_output_change(&ty("Int"), &ty("Float")));
    }

    #[test]
    fn input_types_may_only_loosen() {
        assert!(safe_input_change(&ty("Int!"), &ty("Int")));
        assert!(safe_input_change(&ty("[Int!]!"), &ty("[Int]")));
        assert!(!safe_input_change(&ty("Int"), &ty("Int!")));
        assert!(!safe_input_change(&ty("[Int]"), &ty("[Int!]")));
        assert!(!safe_input_change(&ty("[Int]"), &ty("Int")));
    }
}
