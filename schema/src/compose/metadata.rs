//! Per-subgraph federation metadata (keys, @external/@shareable/@requires/@provides/
//! @override per field) and the checks that need only one subgraph.

use super::error::{CompositionError, code};
use super::federation_spec::SUPPORTED;
use super::subgraph::Subgraph;
use crate::field_set::parse_executable;
use apollo_compiler::executable::{self, Selection};
use apollo_compiler::schema::{ComponentOrigin, ExtendedType};
use apollo_compiler::{Name, Node, ast};
use std::collections::{HashMap, HashSet};

/// One `@key` of a type in a subgraph.
#[derive(Debug, Clone)]
pub(crate) struct KeyInfo {
    pub fields: String,
    /// As written; `None` when the argument was omitted.
    pub resolvable: Option<bool>,
    /// Declared on `extend type` or a type with `@extends`.
    pub extension: bool,
}

/// Federation directives on one field of one subgraph.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldFlags {
    pub external: bool,
    /// `@shareable` on the field or on its type definition/extension block.
    pub shareable: bool,
    pub requires: Option<String>,
    pub provides: Option<String>,
    pub override_from: Option<String>,
    pub override_label: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Metadata {
    keys: HashMap<Name, Vec<KeyInfo>>,
    fields: HashMap<Name, HashMap<Name, FieldFlags>>,
    /// Fields selected by some `@key` (they are shareable by nature).
    key_fields: HashSet<(Name, Name)>,
    used_by_requires: HashSet<(Name, Name)>,
    provided: HashSet<(Name, Name)>,
    /// Object types marked `@interfaceObject`: stand-ins for an entity interface.
    interface_objects: HashSet<Name>,
}

const NO_FLAGS: FieldFlags = FieldFlags {
    external: false,
    shareable: false,
    requires: None,
    provides: None,
    override_from: None,
    override_label: None,
};

impl Metadata {
    pub fn keys(&self, type_name: &str) -> &[KeyInfo] {
        self.keys.get(type_name).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn field(&self, type_name: &str, field_name: &str) -> &FieldFlags {
        self.fields
            .get(type_name)
            .and_then(|fields| fields.get(field_name))
            .unwrap_or(&NO_FLAGS)
    }

    fn contains(set: &HashSet<(Name, Name)>, type_name: &Name, field_name: &Name) -> bool {
        set.contains(&(type_name.clone(), field_name.clone()))
    }

    /// Shareable explicitly or because the field is part of a key.
    pub fn is_shareable(&self, type_name: &Name, field_name: &Name) -> bool {
        self.field(type_name, field_name).shareable
            || Self::contains(&self.key_fields, type_name, field_name)
    }

    /// Whether `type_name` is an `@interfaceObject` in this subgraph.
    pub fn is_interface_object(&self, type_name: &str) -> bool {
        self.interface_objects.contains(type_name)
    }

    /// Used by the subgraph's own keys or `@requires` (matters when the field is overridden).
    pub fn is_used(&self, type_name: &Name, field_name: &Name) -> bool {
        Self::contains(&self.key_fields, type_name, field_name)
            || Self::contains(&self.used_by_requires, type_name, field_name)
    }

    /// Reads the federation directives of `subgraph` and checks the rules that concern it
    /// alone.
    pub fn analyze(subgraph: &Subgraph) -> (Metadata, Vec<CompositionError>) {
        let mut analysis = Analysis {
            subgraph,
            meta: Metadata::default(),
            errors: Vec::new(),
            fake_externals: HashSet::new(),
        };
        analysis.unsupported_directives();
        analysis.collect_fake_externals();
        for (type_name, ty) in subgraph.user_types() {
            analysis.type_directives(type_name, ty);
        }
        analysis.requires_and_provides();
        analysis.unused_externals();
        analysis.interface_keys();
        (analysis.meta, analysis.errors)
    }
}

struct Analysis<'a> {
    subgraph: &'a Subgraph,
    meta: Metadata,
    errors: Vec<CompositionError>,
    /// `@external` key fields of extension types: Apollo treats them as not external (the
    /// Federation 1 way of declaring an entity's key in an extending subgraph).
    fake_externals: HashSet<(Name, Name)>,
}

/// A field selected by a field set, with its parent type.
struct SelectedField {
    parent: Name,
    field: Node<executable::Field>,
}

fn selected_fields(set: &executable::SelectionSet, out: &mut Vec<SelectedField>) {
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => {
                out.push(SelectedField {
                    parent: set.ty.clone(),
                    field: field.clone(),
                });
                selected_fields(&field.selection_set, out);
            }
            Selection::InlineFragment(fragment) => selected_fields(&fragment.selection_set, out),
            Selection::FragmentSpread(_) => {}
        }
    }
}

fn string_argument(directive: &ast::Directive, name: &str) -> Option<String> {
    directive
        .specified_argument_by_name(name)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// Apollo's accepted progressive override labels: `percent(N)` with 0 ≤ N ≤ 100 (up to 8
/// decimals), or an identifier-like custom label.
fn is_valid_override_label(label: &str) -> bool {
    if let Some(percent) = label
        .strip_prefix("percent(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        let (whole, decimals) = percent.split_once('.').unwrap_or((percent, ""));
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        return !whole.is_empty()
            && digits(whole)
            && digits(decimals)
            && decimals.len() <= 8
            && (!percent.contains('.') || !decimals.is_empty())
            && percent
                .parse::<f64>()
                .is_ok_and(|p| (0.0..=100.0).contains(&p));
    }
    let mut chars = label.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_-:./".contains(c))
}

impl Analysis<'_> {
    fn error(
        &mut self,
        code: &'static str,
        message: String,
        span: Option<apollo_compiler::parser::SourceSpan>,
    ) {
        let location = self.subgraph.location(span);
        self.errors.push(
            CompositionError::new(code, format!("[{}] {message}", self.subgraph.name))
                .at([location]),
        );
    }

    /// Federation directives this composition does not implement yet must not be used.
    fn unsupported_directives(&mut self) {
        let subgraph = self.subgraph;
        let mut found: Vec<(String, String, Option<apollo_compiler::parser::SourceSpan>)> =
            Vec::new();
        let mut check = |coordinate: &str, directive: &ast::Directive| {
            if let Some(spec) = subgraph.fed.spec_directive(&directive.name)
                && !SUPPORTED.contains(&spec)
            {
                found.push((
                    coordinate.to_string(),
                    directive.name.to_string(),
                    directive_span(directive),
                ));
            }
        };
        for directive in subgraph.schema.schema_definition.directives.iter() {
            check("schema", directive);
        }
        for (type_name, ty) in subgraph.user_types() {
            for directive in ty.directives().iter() {
                check(type_name, directive);
            }
            let mut check_fields =
                |fields: &mut dyn Iterator<Item = &Node<ast::FieldDefinition>>| {
                    for field in fields {
                        let coordinate = format!("{type_name}.{}", field.name);
                        for directive in field.directives.iter() {
                            check(&coordinate, directive);
                        }
                        for argument in &field.arguments {
                            for directive in argument.directives.iter() {
                                check(&format!("{coordinate}({}:)", argument.name), directive);
                            }
                        }
                    }
                };
            match ty {
                ExtendedType::Object(o) => check_fields(&mut o.fields.values().map(|f| &f.node)),
                ExtendedType::Interface(i) => check_fields(&mut i.fields.values().map(|f| &f.node)),
                ExtendedType::Enum(e) => {
                    for (value, definition) in &e.values {
                        for directive in definition.directives.iter() {
                            check(&format!("{type_name}.{value}"), directive);
                        }
                    }
                }
                ExtendedType::InputObject(i) => {
                    for (field, definition) in &i.fields {
                        for directive in definition.directives.iter() {
                            check(&format!("{type_name}.{field}"), directive);
                        }
                    }
                }
                ExtendedType::Scalar(_) | ExtendedType::Union(_) => {}
            }
        }
        for (coordinate, directive, span) in found {
            self.error(
                code::UNSUPPORTED_FEATURE,
                format!(
                    "@{directive} on \"{coordinate}\" is a Federation directive this composition \
                     does not support yet"
                ),
                span,
            );
        }
    }

    fn collect_fake_externals(&mut self) {
        let subgraph = self.subgraph;
        let key = subgraph.fed.local("key");
        let extends = subgraph.fed.local("extends");
        let external = subgraph.fed.local("external");
        for (type_name, ty) in subgraph.user_types() {
            let directives = match ty {
                ExtendedType::Object(o) => &o.directives,
                ExtendedType::Interface(i) => &i.directives,
                _ => continue,
            };
            let type_extends = directives.has(extends);
            for application in directives.get_all(key) {
                if !(type_extends || application.origin.extension_id().is_some()) {
                    continue;
                }
                let Some(fields) = string_argument(application, "fields") else {
                    continue;
                };
                let Ok(parsed) = parse_executable(&subgraph.schema, type_name, &fields) else {
                    continue;
                };
                let mut selected = Vec::new();
                selected_fields(&parsed.selection_set, &mut selected);
                for SelectedField { parent, field, .. } in selected {
                    if field.definition.directives.has(external) {
                        self.fake_externals.insert((parent, field.name.clone()));
                    }
                }
            }
        }
    }

    fn type_directives(&mut self, type_name: &Name, ty: &ExtendedType) {
        let subgraph = self.subgraph;
        let (directives, fields, is_interface) = match ty {
            ExtendedType::Object(o) => (&o.directives, &o.fields, false),
            ExtendedType::Interface(i) => (&i.directives, &i.fields, true),
            _ => return,
        };
        let extends = directives.has(subgraph.fed.local("extends"));
        if !is_interface && directives.has(subgraph.fed.local("interfaceObject")) {
            self.meta.interface_objects.insert(type_name.clone());
            if !directives.has(subgraph.fed.local("key")) {
                self.error(
                    code::INTERFACE_OBJECT_USAGE_ERROR,
                    format!("The @interfaceObject directive can only be applied to entity types but type \"{type_name}\" has no @key in this subgraph."),
                    ty.location(),
                );
            }
        }
        if is_interface
            && subgraph.fed.version().minor < 3
            && let Some(key) = directives.get(subgraph.fed.local("key"))
        {
            self.error(
                code::KEY_UNSUPPORTED_ON_INTERFACE,
                format!("Cannot use @key on interface \"{type_name}\": @key is not yet supported on interfaces"),
                key.location(),
            );
            return;
        }
        for key in directives.get_all(subgraph.fed.local("key")) {
            let Some(fields) = string_argument(key, "fields") else {
                self.error(
                    code::KEY_INVALID_FIELDS,
                    format!("On type \"{type_name}\", @key(fields:) must be a string"),
                    key.location(),
                );
                continue;
            };
            self.meta
                .keys
                .entry(type_name.clone())
                .or_default()
                .push(KeyInfo {
                    fields: fields.clone(),
                    resolvable: key
                        .specified_argument_by_name("resolvable")
                        .and_then(|v| v.to_bool()),
                    extension: extends || key.origin.extension_id().is_some(),
                });
            self.key_fields(type_name, &fields, key.location());
        }
        let block_origins = |spec: &str| -> Vec<&ComponentOrigin> {
            directives
                .get_all(subgraph.fed.local(spec))
                .map(|d| &d.origin)
                .collect()
        };
        let shareable_blocks = block_origins("shareable");
        let external_blocks = block_origins("external");
        for (field_name, field) in fields {
            if subgraph.is_machinery_field(type_name, field_name) {
                continue;
            }
            let coordinate = format!("{type_name}.{field_name}");
            let override_directive = subgraph.get(&field.directives, "override");
            let flags = FieldFlags {
                // A type-level @external covers every field of the type, extensions too.
                external: (subgraph.has(&field.directives, "external")
                    || !external_blocks.is_empty())
                    && !self
                        .fake_externals
                        .contains(&(type_name.clone(), field_name.clone())),
                shareable: subgraph.has(&field.directives, "shareable")
                    || shareable_blocks.contains(&&field.origin),
                requires: subgraph
                    .get(&field.directives, "requires")
                    .and_then(|d| string_argument(d, "fields")),
                provides: subgraph
                    .get(&field.directives, "provides")
                    .and_then(|d| string_argument(d, "fields")),
                override_from: override_directive.and_then(|d| string_argument(d, "from")),
                override_label: override_directive.and_then(|d| string_argument(d, "label")),
            };
            let span = field.location();
            if is_interface && flags.shareable {
                self.error(
                    code::INVALID_SHAREABLE_USAGE,
                    format!("Invalid use of @shareable on field \"{coordinate}\": only object type fields can be marked with @shareable"),
                    span,
                );
            }
            if is_interface {
                let misuse = [
                    (flags.external, code::EXTERNAL_ON_INTERFACE, "@external"),
                    (
                        flags.requires.is_some(),
                        code::REQUIRES_UNSUPPORTED_ON_INTERFACE,
                        "@requires",
                    ),
                    (
                        flags.provides.is_some(),
                        code::PROVIDES_UNSUPPORTED_ON_INTERFACE,
                        "@provides",
                    ),
                    (
                        flags.override_from.is_some(),
                        code::OVERRIDE_ON_INTERFACE,
                        "@override",
                    ),
                ];
                for (used, error_code, directive) in misuse {
                    if used {
                        self.error(
                            error_code,
                            format!("Interface field \"{coordinate}\" uses {directive}, which is not allowed on interface fields"),
                            span,
                        );
                    }
                }
            }
            if let Some(from) = &flags.override_from {
                if *from == subgraph.name {
                    self.error(
                        code::OVERRIDE_FROM_SELF_ERROR,
                        format!("Source and destination subgraphs \"{from}\" are the same for overridden field \"{coordinate}\""),
                        span,
                    );
                }
                if flags.external {
                    self.error(
                        code::OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE,
                        format!("@override cannot be used on field \"{coordinate}\" since it is also @external"),
                        span,
                    );
                }
                if let Some(label) = &flags.override_label
                    && !is_valid_override_label(label)
                {
                    self.error(
                        code::OVERRIDE_LABEL_INVALID,
                        format!("Invalid @override label \"{label}\" on field \"{coordinate}\": labels must be `percent(0-100)` or start with a letter and contain only letters, digits, `_-:./`"),
                        span,
                    );
                }
            }
            self.meta
                .fields
                .entry(type_name.clone())
                .or_default()
                .insert(field_name.clone(), flags);
        }
    }

    fn key_fields(
        &mut self,
        type_name: &Name,
        fields: &str,
        span: Option<apollo_compiler::parser::SourceSpan>,
    ) {
        let subgraph = self.subgraph;
        let parsed = match parse_executable(&subgraph.schema, type_name, fields) {
            Ok(parsed) => parsed,
            Err(message) => {
                self.error(
                    code::KEY_INVALID_FIELDS,
                    format!("On type \"{type_name}\", for @key(fields: \"{fields}\"): {message}"),
                    span,
                );
                return;
            }
        };
        let mut selected = Vec::new();
        selected_fields(&parsed.selection_set, &mut selected);
        for SelectedField { parent, field, .. } in selected {
            if field.name.starts_with("__") {
                continue;
            }
            let coordinate = format!("{parent}.{}", field.name);
            if !field.definition.arguments.is_empty() {
                self.error(
                    code::KEY_FIELDS_HAS_ARGS,
                    format!("On type \"{type_name}\", for @key(fields: \"{fields}\"): field \"{coordinate}\" has arguments, which keys cannot select"),
                    span,
                );
            }
            let target = field.ty().inner_named_type();
            if let Some(kind @ (ExtendedType::Interface(_) | ExtendedType::Union(_))) =
                subgraph.schema.types.get(target)
            {
                let kind = if kind.is_interface() {
                    "an interface"
                } else {
                    "a union"
                };
                self.error(
                    code::KEY_FIELDS_SELECT_INVALID_TYPE,
                    format!("On type \"{type_name}\", for @key(fields: \"{fields}\"): field \"{coordinate}\" is {kind} type, which keys cannot select"),
                    span,
                );
            }
            self.meta.key_fields.insert((parent, field.name.clone()));
        }
    }

    fn requires_and_provides(&mut self) {
        let subgraph = self.subgraph;
        let mut work = Vec::new();
        for (type_name, fields) in &self.meta.fields {
            for (field_name, flags) in fields {
                if let Some(requires) = &flags.requires {
                    work.push((
                        type_name.clone(),
                        field_name.clone(),
                        "requires",
                        requires.clone(),
                    ));
                }
                if let Some(provides) = &flags.provides {
                    work.push((
                        type_name.clone(),
                        field_name.clone(),
                        "provides",
                        provides.clone(),
                    ));
                }
            }
        }
        work.sort();
        for (type_name, field_name, directive, fields) in work {
            if subgraph
                .schema
                .types
                .get(&type_name)
                .is_some_and(|t| t.is_interface())
            {
                // Already refused (`*_UNSUPPORTED_ON_INTERFACE`); nothing more to check.
                continue;
            }
            let coordinate = format!("{type_name}.{field_name}");
            let Some(definition) = subgraph.schema.type_field(&type_name, &field_name).ok() else {
                continue;
            };
            let span = definition.location();
            let requires = directive == "requires";
            let target = if requires {
                type_name.clone()
            } else {
                let target = definition.ty.inner_named_type().clone();
                let composite = subgraph
                    .schema
                    .types
                    .get(&target)
                    .is_some_and(|t| t.is_object() || t.is_interface() || t.is_union());
                if !composite {
                    self.error(
                        code::PROVIDES_ON_NON_OBJECT_FIELD,
                        format!("Invalid @provides directive on field \"{coordinate}\": field has type \"{}\" which is not a Composite Type", definition.ty),
                        span,
                    );
                    continue;
                }
                target
            };
            let (invalid_code, missing_external_code) = if requires {
                (
                    code::REQUIRES_INVALID_FIELDS,
                    code::REQUIRES_FIELDS_MISSING_EXTERNAL,
                )
            } else {
                (
                    code::PROVIDES_INVALID_FIELDS,
                    code::PROVIDES_FIELDS_MISSING_EXTERNAL,
                )
            };
            let prefix =
                format!("On field \"{coordinate}\", for @{directive}(fields: \"{fields}\")");
            let parsed = match parse_executable(&subgraph.schema, &target, &fields) {
                Ok(parsed) => parsed,
                Err(message) => {
                    self.error(invalid_code, format!("{prefix}: {message}"), span);
                    // The fields it does name are still used (no EXTERNAL_UNUSED on top).
                    for name in top_level_names(&fields) {
                        let pair = (target.clone(), name);
                        if requires {
                            self.meta.used_by_requires.insert(pair);
                        } else {
                            self.meta.provided.insert(pair);
                        }
                    }
                    continue;
                }
            };
            let mut selected = Vec::new();
            self.selected_with_external_parents(&parsed.selection_set, false, &mut selected);
            for (parent, field, external_parent) in selected {
                if field.name.starts_with("__") {
                    continue;
                }
                // Leaves must be @external, unless a field above them is.
                let is_leaf = field.selection_set.selections.is_empty();
                if is_leaf && !external_parent && !self.meta.field(&parent, &field.name).external {
                    let reason = if requires {
                        "should not be part of a @requires since it is already provided by this subgraph (it is not marked @external)"
                    } else {
                        "should not be part of a @provides since it is already provided by this subgraph (it is not marked @external)"
                    };
                    self.error(
                        missing_external_code,
                        format!("{prefix}: field \"{parent}.{}\" {reason}", field.name),
                        span,
                    );
                }
                let pair = (parent, field.name.clone());
                if requires {
                    self.meta.used_by_requires.insert(pair);
                } else {
                    self.meta.provided.insert(pair);
                }
            }
        }
    }

    /// Every field a field set selects, with whether a field above it is `@external`.
    fn selected_with_external_parents(
        &self,
        set: &executable::SelectionSet,
        external_parent: bool,
        out: &mut Vec<(Name, Node<executable::Field>, bool)>,
    ) {
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    out.push((set.ty.clone(), field.clone(), external_parent));
                    let external =
                        external_parent || self.meta.field(&set.ty, &field.name).external;
                    self.selected_with_external_parents(&field.selection_set, external, out);
                }
                Selection::InlineFragment(fragment) => self.selected_with_external_parents(
                    &fragment.selection_set,
                    external_parent,
                    out,
                ),
                Selection::FragmentSpread(_) => {}
            }
        }
    }

    fn unused_externals(&mut self) {
        let subgraph = self.subgraph;
        let mut unused = Vec::new();
        for (type_name, ty) in subgraph.user_types() {
            let ExtendedType::Object(object) = ty else {
                continue;
            };
            for (field_name, field) in &object.fields {
                if !self.meta.field(type_name, field_name).external {
                    continue;
                }
                let pair = (type_name.clone(), field_name.clone());
                let used = self.meta.key_fields.contains(&pair)
                    || self.meta.used_by_requires.contains(&pair)
                    || self.meta.provided.contains(&pair)
                    || object.implements_interfaces.iter().any(|i| {
                        subgraph
                            .schema
                            .get_interface(i)
                            .is_some_and(|i| i.fields.contains_key(field_name))
                    });
                if !used {
                    unused.push((format!("{type_name}.{field_name}"), field.location()));
                }
            }
        }
        unused.sort_by(|a, b| a.0.cmp(&b.0));
        for (coordinate, span) in unused {
            self.error(
                code::EXTERNAL_UNUSED,
                format!("Field \"{coordinate}\" is marked @external but is not used in any federation directive (@key, @provides, @requires) or to satisfy an interface; the field declaration has no use and should be removed (or the field should not be @external)."),
                span,
            );
        }
    }

    /// A key on an interface (entity interface) must be a key of every implementation.
    fn interface_keys(&mut self) {
        let subgraph = self.subgraph;
        let normalize = |fields: &str| fields.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut missing = Vec::new();
        for (interface, ty) in subgraph.user_types() {
            if !ty.is_interface() {
                continue;
            }
            for key in self.meta.keys(interface) {
                let wanted = normalize(&key.fields);
                for (object_name, object) in subgraph.user_types() {
                    let ExtendedType::Object(object) = object else {
                        continue;
                    };
                    if !object.implements_interfaces.contains(interface) {
                        continue;
                    }
                    if !self
                        .meta
                        .keys(object_name)
                        .iter()
                        .any(|k| normalize(&k.fields) == wanted)
                    {
                        missing.push(format!("Key @key(fields: \"{}\") on interface type \"{interface}\" is missing on implementation type \"{object_name}\".", key.fields));
                    }
                }
            }
        }
        for message in missing {
            self.error(code::INTERFACE_KEY_NOT_ON_IMPLEMENTATION, message, None);
        }
    }
}

/// The field names at the top level of a field set that may not parse or validate.
pub(crate) fn top_level_names(fields: &str) -> Vec<Name> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    let mut after_colon_or_on = false;
    for c in fields.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '_' {
            current.push(c);
            continue;
        }
        if !current.is_empty() {
            if depth == 0
                && !after_colon_or_on
                && current != "on"
                && let Ok(name) = Name::new(&current)
            {
                names.push(name);
            }
            after_colon_or_on = current == "on";
            current.clear();
        }
        match c {
            '{' | '(' => depth += 1,
            '}' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    names
}

fn directive_span(directive: &ast::Directive) -> Option<apollo_compiler::parser::SourceSpan> {
    directive.name.location()
}

#[cfg(test)]
mod tests {
    use super::is_valid_override_label;

    #[test]
    fn override_labels() {
        for ok in [
            "percent(0)",
            "percent(100)",
            "percent(12.5)",
            "beta",
            "team:a/b.c-d_e",
        ] {
            assert!(is_valid_override_label(ok), "{ok}");
        }
        for bad in [
            "percent(101)",
            "percent()",
            "percent(1.)",
            "1abc",
            "",
            "a b",
        ] {
            assert!(!is_valid_override_label(bad), "{bad}");
        }
    }
}
