//! Turns a subgraph SDL into a validated schema composition can read: federation link
//! resolved, root types named `Query`/`Mutation`/`Subscription`, `_service`/`_entities`
//! machinery normalised, missing federation definitions added.

use super::SubgraphInput;
use super::error::{CompositionError, SourceLocation, code};
use super::fed1::{self, UpgradeContext};
use super::federation_spec::FederationNames;
use super::metadata::Metadata;
use crate::link::{self, FEDERATION_IDENTITY, Link};
use apollo_compiler::ast::{self, Definition, OperationType};
use apollo_compiler::parser::SourceSpan;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::{DiagnosticList, Valid};
use apollo_compiler::{Name, Node, Schema, name};
use std::collections::{HashMap, HashSet};

/// Federation machinery a subgraph may or may not print; never part of the supergraph.
const FEDERATION_INTERNAL_TYPES: &[&str] = &["_Service", "_Entity", "_Any"];
/// Scalars older subgraph printers define for `@key(fields:)` without importing them.
const FIELD_SET_SCALARS: &[&str] = &["_FieldSet", "FieldSet"];
const FEDERATION_INTERNAL_FIELDS: &[&str] = &["_service", "_entities"];

/// The newest `federation/v2.x` a subgraph may link.
const LATEST_FEDERATION_MINOR: u32 = 14;

/// A parsed and validated subgraph.
pub(crate) struct Subgraph {
    pub name: String,
    pub url: String,
    pub schema: Valid<Schema>,
    pub fed: FederationNames,
    /// Every `@link` of the schema (none for a Federation 1 subgraph).
    pub links: Vec<Link>,
    pub meta: Metadata,
    machinery_types: HashSet<Name>,
}

impl Subgraph {
    /// Parses and validates; the metadata is left empty (see [`Metadata::analyze`]).
    pub fn parse(
        input: &SubgraphInput,
        upgrade_context: &UpgradeContext,
    ) -> Result<Subgraph, Vec<CompositionError>> {
        let name = input.name.as_str();
        let mut document = ast::Document::parse(input.sdl.as_str(), name)
            .map_err(|e| diagnostics_errors(name, &e.errors))?;
        let (link, is_fed1) = federation_link(name, &document)?;
        // `federation_link` has read every link already: these cannot fail.
        let links =
            link::collect_links(schema_directives(&document).iter().copied()).unwrap_or_default();
        let fed = FederationNames::new(link);
        check_import_names(name, &fed)?;
        normalize_roots(name, &mut document)?;
        strip_federation_internals(&mut document);

        let definitions = federation_definitions(name, &document, &fed)?;
        let mut schema = Schema::builder()
            .adopt_orphan_extensions()
            .add_ast(&document)
            .add_ast(&definitions)
            .build()
            .map_err(|e| diagnostics_errors(name, &e.errors))?;
        if is_fed1 {
            let errors = fed1::upgrade(&mut schema, name, &fed, upgrade_context);
            if !errors.is_empty() {
                return Err(errors);
            }
        }
        let schema = schema
            .validate()
            .map_err(|e| diagnostics_errors(name, &e.errors))?;
        let machinery_types = machinery_types(&schema, &fed);
        Ok(Subgraph {
            name: input.name.clone(),
            url: input.url.clone(),
            schema,
            fed,
            links,
            meta: Metadata::default(),
            machinery_types,
        })
    }

    /// The subgraph's schema as a federation subgraph server serves it: its own types
    /// (root names kept), the federation definitions it omitted, `_service`, and
    /// `_entities` over `_Entity` (every object with a resolvable `@key`).
    pub fn served_schema(name: &str, sdl: &str) -> Result<Valid<Schema>, Vec<CompositionError>> {
        let mut document =
            ast::Document::parse(sdl, name).map_err(|e| diagnostics_errors(name, &e.errors))?;
        let fed = FederationNames::new(federation_link(name, &document)?.0);
        check_import_names(name, &fed)?;
        strip_federation_internals(&mut document);
        let mut definitions = federation_definitions(name, &document, &fed)?;
        let key = fed.local("key");
        let entities: Vec<&Name> = document
            .definitions
            .iter()
            .filter_map(|d| match d {
                Definition::ObjectTypeDefinition(o) => Some((&o.name, &o.directives)),
                Definition::ObjectTypeExtension(o) => Some((&o.name, &o.directives)),
                _ => None,
            })
            .filter(|(_, directives)| {
                directives.get_all(key).any(|k| {
                    !matches!(
                        k.specified_argument_by_name("resolvable").map(|v| &**v),
                        Some(ast::Value::Boolean(false))
                    )
                })
            })
            .map(|(name, _)| name)
            .collect();
        let mut extra = String::from("scalar _Any\n");
        if !entities.is_empty() {
            let mut members: Vec<&str> = entities.iter().map(|n| n.as_str()).collect();
            members.sort_unstable();
            members.dedup();
            extra.push_str(&format!(
                "union _Entity = {}\nextend type Query {{ _entities(representations: [_Any!]!): [_Entity]! }}\n",
                members.join(" | ")
            ));
        }
        let extra = ast::Document::parse(extra, format!("{name} (entities)"))
            .map_err(|e| diagnostics_errors(name, &e.errors))?;
        definitions.definitions.extend(extra.definitions);
        Schema::builder()
            .adopt_orphan_extensions()
            .add_ast(&document)
            .add_ast(&definitions)
            .build()
            .map_err(|e| diagnostics_errors(name, &e.errors))?
            .validate()
            .map_err(|e| diagnostics_errors(name, &e.errors))
    }

    /// Line and column of `span` in this subgraph's SDL.
    pub fn location(&self, span: Option<SourceSpan>) -> Option<SourceLocation> {
        let start = span?.line_column(&self.schema.sources)?;
        Some(SourceLocation {
            subgraph: self.name.clone(),
            line: start.line,
            column: start.column,
        })
    }

    /// Types that are the subgraph's own (not built-in, not federation or link machinery).
    pub fn user_types(&self) -> impl Iterator<Item = (&Name, &ExtendedType)> {
        self.schema
            .types
            .iter()
            .filter(|(name, ty)| !ty.is_built_in() && !self.machinery_types.contains(*name))
    }

    /// Fields federation adds to the query root (`_service`, `_entities`).
    pub fn is_machinery_field(&self, type_name: &str, field_name: &str) -> bool {
        type_name == "Query" && FEDERATION_INTERNAL_FIELDS.contains(&field_name)
    }

    /// Whether `directives` has the federation directive `spec_name` under its local name.
    pub fn has(&self, directives: &ast::DirectiveList, spec_name: &str) -> bool {
        directives.has(self.fed.local(spec_name))
    }

    /// The first application of the federation directive `spec_name`.
    pub fn get<'a>(
        &self,
        directives: &'a ast::DirectiveList,
        spec_name: &str,
    ) -> Option<&'a Node<ast::Directive>> {
        directives.get(self.fed.local(spec_name))
    }
}

/// Types that belong to federation or link rather than to the subgraph's API.
fn machinery_types(schema: &Schema, fed: &FederationNames) -> HashSet<Name> {
    let referenced = referenced_by_fields(schema);
    schema
        .types
        .keys()
        .filter(|name| {
            FEDERATION_INTERNAL_TYPES.contains(&name.as_str())
                || fed.owns_type(name)
                || name.starts_with("link__")
                || (FIELD_SET_SCALARS.contains(&name.as_str()) && !referenced.contains(*name))
        })
        .cloned()
        .collect()
}

/// Named types used by fields, arguments and input fields.
fn referenced_by_fields(schema: &Schema) -> HashSet<Name> {
    let mut referenced = HashSet::new();
    for ty in schema.types.values() {
        match ty {
            ExtendedType::Object(o) => {
                for field in o.fields.values() {
                    referenced.insert(field.ty.inner_named_type().clone());
                    for argument in &field.arguments {
                        referenced.insert(argument.ty.inner_named_type().clone());
                    }
                }
            }
            ExtendedType::Interface(i) => {
                for field in i.fields.values() {
                    referenced.insert(field.ty.inner_named_type().clone());
                    for argument in &field.arguments {
                        referenced.insert(argument.ty.inner_named_type().clone());
                    }
                }
            }
            ExtendedType::InputObject(i) => {
                for field in i.fields.values() {
                    referenced.insert(field.ty.inner_named_type().clone());
                }
            }
            _ => {}
        }
    }
    referenced
}

pub(crate) fn diagnostics_errors(subgraph: &str, list: &DiagnosticList) -> Vec<CompositionError> {
    list.iter()
        .map(|d| {
            let location = d.line_column_range().map(|range| SourceLocation {
                subgraph: subgraph.to_string(),
                line: range.start.line,
                column: range.start.column,
            });
            CompositionError::new(code::INVALID_GRAPHQL, format!("[{subgraph}] {}", d.error))
                .at([location])
        })
        .collect()
}

fn schema_directives(document: &ast::Document) -> Vec<&ast::Directive> {
    document
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::SchemaDefinition(def) => Some(&def.directives),
            Definition::SchemaExtension(ext) => Some(&ext.directives),
            _ => None,
        })
        .flat_map(|directives| directives.iter().map(|d| &**d))
        .collect()
}

/// The subgraph's federation link, and whether it is a Federation 1 subgraph (no link: it
/// is read as linking v2.0 with every Federation 1 directive imported).
fn federation_link(
    subgraph: &str,
    document: &ast::Document,
) -> Result<(Link, bool), Vec<CompositionError>> {
    let directives = schema_directives(document);
    let links = link::collect_links(directives.iter().copied()).map_err(|message| {
        vec![CompositionError::new(
            code::INVALID_LINK_DIRECTIVE_USAGE,
            format!("[{subgraph}] {message}"),
        )]
    })?;
    let mut federation = links
        .into_iter()
        .filter(|l| l.spec.identity == FEDERATION_IDENTITY);
    let Some(link) = federation.next() else {
        return Ok((fed1::fed1_link(), true));
    };
    if federation.next().is_some() {
        return Err(vec![CompositionError::new(
            code::INVALID_LINK_DIRECTIVE_USAGE,
            format!("[{subgraph}] links the federation spec more than once"),
        )]);
    }
    // The versions @apollo/composition 2.14 knows.
    if link.spec.version.major != 2 || link.spec.version.minor > LATEST_FEDERATION_MINOR {
        return Err(vec![CompositionError::new(
            code::UNKNOWN_FEDERATION_LINK_VERSION,
            format!(
                "[{subgraph}] Invalid version {} for the federation feature in @link directive on schema",
                link.spec.version
            ),
        )]);
    }
    Ok((link, false))
}

fn check_import_names(subgraph: &str, fed: &FederationNames) -> Result<(), Vec<CompositionError>> {
    let invalid: Vec<CompositionError> = fed
        .imported_aliases()
        .filter(|alias| Name::new(alias).is_err())
        .map(|alias| {
            CompositionError::new(
                code::INVALID_LINK_DIRECTIVE_USAGE,
                format!("[{subgraph}] federation import `{alias}` is not a valid GraphQL name"),
            )
        })
        .chain(fed.unknown_imports().into_iter().map(|(element, since)| {
            let details = match since {
                Some(version) => format!(
                    " (it was added in federation {version}; this subgraph links v{}.{})",
                    fed.version().major,
                    fed.version().minor
                ),
                None => String::new(),
            };
            CompositionError::new(
                code::INVALID_LINK_DIRECTIVE_USAGE,
                format!("[{subgraph}] Cannot import unknown element \"{element}\".{details}"),
            )
        }))
        .collect();
    if invalid.is_empty() {
        Ok(())
    } else {
        Err(invalid)
    }
}

/// Renames custom root types (`schema { query: RootQuery }`) to the default names, as the
/// supergraph always uses `Query`/`Mutation`/`Subscription`.
fn normalize_roots(
    subgraph: &str,
    document: &mut ast::Document,
) -> Result<(), Vec<CompositionError>> {
    let mut renames: HashMap<Name, Name> = HashMap::new();
    for definition in &document.definitions {
        let operations = match definition {
            Definition::SchemaDefinition(def) => &def.root_operations,
            Definition::SchemaExtension(ext) => &ext.root_operations,
            _ => continue,
        };
        for operation in operations {
            let (operation_type, type_name) = &**operation;
            let default = operation_type.default_type_name();
            if *type_name != default {
                renames.insert(type_name.clone(), default);
            }
        }
    }
    let mut errors = Vec::new();
    for (from, to) in &renames {
        let clash = document
            .definitions
            .iter()
            .any(|d| d.name() == Some(to) && !renames.contains_key(to));
        if clash {
            let error_code = match to.as_str() {
                "Query" => code::ROOT_QUERY_USED,
                "Mutation" => code::ROOT_MUTATION_USED,
                _ => code::ROOT_SUBSCRIPTION_USED,
            };
            errors.push(CompositionError::new(
                error_code,
                format!(
                    "[{subgraph}] the schema uses `{from}` as its root type, so the type named \
                     `{to}` would clash with it in the supergraph, where root types are always \
                     named `{to}`"
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if renames.is_empty() {
        return Ok(());
    }
    for definition in &mut document.definitions {
        rename_in_definition(definition, &renames);
    }
    Ok(())
}

fn rename(name: &mut Name, renames: &HashMap<Name, Name>) {
    if let Some(to) = renames.get(name) {
        *name = to.clone();
    }
}

fn rename_type(ty: &mut ast::Type, renames: &HashMap<Name, Name>) {
    match ty {
        ast::Type::Named(name) | ast::Type::NonNullNamed(name) => rename(name, renames),
        ast::Type::List(inner) | ast::Type::NonNullList(inner) => rename_type(inner, renames),
    }
}

fn rename_fields(fields: &mut [Node<ast::FieldDefinition>], renames: &HashMap<Name, Name>) {
    for field in fields {
        rename_type(&mut field.make_mut().ty, renames);
    }
}

fn rename_in_definition(definition: &mut Definition, renames: &HashMap<Name, Name>) {
    match definition {
        Definition::SchemaDefinition(def) => {
            for operation in &mut def.make_mut().root_operations {
                rename(&mut operation.make_mut().1, renames);
            }
        }
        Definition::SchemaExtension(ext) => {
            for operation in &mut ext.make_mut().root_operations {
                rename(&mut operation.make_mut().1, renames);
            }
        }
        Definition::ObjectTypeDefinition(def) => {
            let def = def.make_mut();
            rename(&mut def.name, renames);
            rename_fields(&mut def.fields, renames);
        }
        Definition::ObjectTypeExtension(ext) => {
            let ext = ext.make_mut();
            rename(&mut ext.name, renames);
            rename_fields(&mut ext.fields, renames);
        }
        Definition::InterfaceTypeDefinition(def) => {
            rename_fields(&mut def.make_mut().fields, renames)
        }
        Definition::InterfaceTypeExtension(ext) => {
            rename_fields(&mut ext.make_mut().fields, renames)
        }
        Definition::UnionTypeDefinition(def) => {
            for member in &mut def.make_mut().members {
                rename(member, renames);
            }
        }
        Definition::UnionTypeExtension(ext) => {
            for member in &mut ext.make_mut().members {
                rename(member, renames);
            }
        }
        _ => {}
    }
}

/// Removes `_Service`, `_Entity`, `_Any` and the `_service`/`_entities` query fields, which
/// subgraph servers print inconsistently; [`federation_definitions`] adds back what
/// validation needs.
fn strip_federation_internals(document: &mut ast::Document) {
    document.definitions.retain(|d| {
        !d.name()
            .is_some_and(|n| FEDERATION_INTERNAL_TYPES.contains(&n.as_str()))
            || matches!(d, Definition::DirectiveDefinition(_))
    });
    let is_internal =
        |f: &Node<ast::FieldDefinition>| FEDERATION_INTERNAL_FIELDS.contains(&f.name.as_str());
    document
        .definitions
        .retain_mut(|definition| match definition {
            Definition::ObjectTypeDefinition(def) if def.name == "Query" => {
                if def.fields.iter().any(is_internal) {
                    def.make_mut().fields.retain(|f| !is_internal(f));
                }
                !def.fields.is_empty() || !def.directives.is_empty()
            }
            Definition::ObjectTypeExtension(ext) if ext.name == "Query" => {
                let had_fields = !ext.fields.is_empty();
                if ext.fields.iter().any(is_internal) {
                    ext.make_mut().fields.retain(|f| !is_internal(f));
                }
                !(had_fields && ext.fields.is_empty() && ext.directives.is_empty())
            }
            _ => true,
        });
    ensure_query_root_operation(document);
}

/// Every federation subgraph has a query root (`_service` is always there); make sure an
/// explicit `schema` lists it.
fn ensure_query_root_operation(document: &mut ast::Document) {
    let operations = |d: &Definition| match d {
        Definition::SchemaDefinition(def) => Some(def.root_operations.clone()),
        Definition::SchemaExtension(ext) => Some(ext.root_operations.clone()),
        _ => None,
    };
    let all: Vec<_> = document
        .definitions
        .iter()
        .filter_map(operations)
        .flatten()
        .collect();
    let has_schema_definition = document
        .definitions
        .iter()
        .any(|d| matches!(d, Definition::SchemaDefinition(_)));
    if all.iter().any(|op| op.0 == OperationType::Query)
        || (!has_schema_definition && all.is_empty())
    {
        return;
    }
    let query = Node::new((OperationType::Query, name!("Query")));
    for definition in &mut document.definitions {
        match definition {
            Definition::SchemaDefinition(def) => {
                def.make_mut().root_operations.push(query);
                return;
            }
            Definition::SchemaExtension(ext)
                if !has_schema_definition && !ext.root_operations.is_empty() =>
            {
                ext.make_mut().root_operations.push(query);
                return;
            }
            _ => {}
        }
    }
}

/// Definitions of the federation directives and scalars, `@link`, and the `_service`
/// query field, for whatever the subgraph SDL did not define itself.
fn federation_definitions(
    subgraph: &str,
    document: &ast::Document,
    fed: &FederationNames,
) -> Result<ast::Document, Vec<CompositionError>> {
    let mut directives = HashSet::new();
    let mut types = HashSet::new();
    for definition in &document.definitions {
        match definition {
            Definition::DirectiveDefinition(def) => {
                directives.insert(def.name.to_string());
            }
            other if !other.is_extension_definition() => {
                if let Some(name) = other.name() {
                    types.insert(name.to_string());
                }
            }
            _ => {}
        }
    }
    let mut sdl = fed.missing_definitions(&directives, &types);
    if !directives.contains("link") {
        sdl.push_str(
            "directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) \
             repeatable on SCHEMA\n",
        );
    }
    if !types.contains("link__Import") {
        sdl.push_str("scalar link__Import\n");
    }
    if !types.contains("link__Purpose") {
        sdl.push_str("enum link__Purpose { SECURITY EXECUTION }\n");
    }
    sdl.push_str("type _Service { sdl: String }\nextend type Query { _service: _Service! }\n");
    ast::Document::parse(sdl, format!("{subgraph} (federation definitions)")).map_err(|e| {
        vec![CompositionError::new(
            code::INVALID_LINK_DIRECTIVE_USAGE,
            format!(
                "[{subgraph}] the federation @link imports produce invalid definitions: {}",
                crate::field_set::diagnostics_summary(&e.errors)
            ),
        )]
    })
}
