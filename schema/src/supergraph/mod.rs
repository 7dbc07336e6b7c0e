//! The supergraph model the router plans with: which subgraph (graph) defines which type,
//! key, field and enum value, read from the join spec directives of a composed supergraph.

mod api_schema;
mod error;
mod extract;
mod links;

pub use error::SupergraphError;
pub(crate) use links::SpecNames;

use crate::field_set::FieldSet;
use crate::field_set::diagnostics_summary;
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Schema, ast};
use std::collections::HashMap;
use std::fmt;

/// Index of a subgraph in [`Supergraph::graphs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GraphId(u16);

impl GraphId {
    /// Position in [`Supergraph::graphs`].
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl fmt::Display for GraphId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "graph#{}", self.0)
    }
}

/// A subgraph, from one value of `enum join__Graph`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Graph {
    pub id: GraphId,
    /// The subgraph's name (`@join__graph(name:)`).
    pub name: String,
    /// The `join__Graph` value naming it in the supergraph, e.g. `ACCOUNTS`.
    pub enum_value: Name,
    pub url: String,
}

/// An entity key of a type in one graph.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Key {
    pub fields: FieldSet,
    /// `false` when the graph only references the entity and cannot resolve it by key.
    pub resolvable: bool,
}

/// How one graph defines a type (`@join__type` and friends).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TypeInGraph {
    pub graph: GraphId,
    pub keys: Vec<Key>,
    /// The graph declared the type as an extension (`extend type` / `@extends`).
    pub extension: bool,
    /// The graph has this interface as an object type (`@interfaceObject`).
    pub is_interface_object: bool,
    /// Interfaces the type implements in this graph.
    pub implements: Vec<Name>,
    /// Members of the union in this graph.
    pub union_members: Vec<Name>,
    /// Values of the enum in this graph.
    pub enum_values: Vec<Name>,
}

/// A graph that resolves a field (`@join__field`, or implied by `@join__type`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldInGraph {
    pub graph: GraphId,
    /// Fields of the parent the graph needs in the representation (`@requires`).
    pub requires: Option<FieldSet>,
    /// Fields of the returned type this graph can also resolve here (`@provides`).
    pub provides: Option<FieldSet>,
    /// The field's type in this graph when it differs from the supergraph's.
    pub subgraph_type: Option<ast::Type>,
    /// Set on the overriding graph: the subgraph the field was taken from.
    pub override_from: Option<String>,
    /// Progressive override label (`percent(…)` or a custom label). On the overriding graph
    /// (`override_from` set) it resolves the field when the label is active; on the
    /// overridden graph (`override_from` unset) when the label is inactive.
    pub override_label: Option<String>,
}

/// Where a field can be resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldInfo {
    /// Graphs that resolve the field.
    pub resolvable_in: Vec<FieldInGraph>,
    /// Graphs that know the field as `@external` (they do not resolve it).
    pub external_in: Vec<GraphId>,
    /// Graphs whose field was overridden but that still use it for keys or `@requires`.
    pub used_overridden_in: Vec<GraphId>,
}

/// Join information about one named type.
#[derive(Debug, Clone, Default)]
pub(crate) struct TypeInfo {
    pub graphs: Vec<TypeInGraph>,
    pub fields: HashMap<Name, FieldInfo>,
    /// For interfaces: per graph, the object types implementing it there.
    pub implementations: Vec<(GraphId, Vec<Name>)>,
}

/// A parsed supergraph: the full schema, its API schema and the join metadata.
#[derive(Debug, Clone)]
pub struct Supergraph {
    schema: Valid<Schema>,
    api_schema: Valid<Schema>,
    graphs: Vec<Graph>,
    graph_by_name: HashMap<String, GraphId>,
    types: HashMap<Name, TypeInfo>,
    possible_types: HashMap<Name, Vec<Name>>,
}

impl Supergraph {
    /// Parses and validates a Federation 2 supergraph SDL (join v0.3 to v0.5).
    pub fn parse(sdl: &str) -> Result<Supergraph, SupergraphError> {
        Self::parse_with(sdl, false)
    }

    /// Like [`Supergraph::parse`], but accepts `SECURITY` features (access control,
    /// contexts) this model does not enforce: composition writes them for routers that do.
    pub(crate) fn parse_composed(sdl: &str) -> Result<Supergraph, SupergraphError> {
        Self::parse_with(sdl, true)
    }

    fn parse_with(sdl: &str, accept_unenforced: bool) -> Result<Supergraph, SupergraphError> {
        let schema = Schema::parse(sdl, "supergraph.graphql")
            .map_err(|e| SupergraphError::InvalidGraphql(diagnostics_summary(&e.errors)))?;
        // Links and graphs first: "this is not a (supported) supergraph" is a more useful
        // answer than the validation errors such a schema usually also has.
        let names = links::SpecNames::from_schema(&schema)?;
        let refused = names.unimplemented.iter().find(|link| {
            link.purpose != Some(crate::link::Purpose::Security) || !accept_unenforced
        });
        if let Some(link) = refused {
            return Err(SupergraphError::UnsupportedFeature {
                url: link.url.clone(),
                purpose: link.purpose.map(|p| p.to_string()).unwrap_or_default(),
            });
        }
        let graphs = extract::graphs(&schema, &names)?;
        let schema = schema
            .validate()
            .map_err(|e| SupergraphError::InvalidGraphql(diagnostics_summary(&e.errors)))?;
        let types = extract::types(&schema, &names, &graphs)?;
        let api_schema = api_schema::build(&schema, &names)?;
        let possible_types = possible_types(&api_schema);
        let graph_by_name = graphs.iter().map(|g| (g.name.clone(), g.id)).collect();
        Ok(Supergraph {
            schema,
            api_schema,
            graphs,
            graph_by_name,
            types,
            possible_types,
        })
    }

    /// The full supergraph schema, join directives included.
    /// The names the supergraph gives the join, inaccessible and tag specs' elements.
    pub(crate) fn spec_names(&self) -> SpecNames {
        // Parsing accepted these links already.
        links::SpecNames::from_schema(&self.schema).expect("links were read at parse time")
    }

    pub fn schema(&self) -> &Valid<Schema> {
        &self.schema
    }

    /// The schema clients see: no join/link machinery and no `@inaccessible` elements.
    pub fn api_schema(&self) -> &Valid<Schema> {
        &self.api_schema
    }

    /// The subgraphs, in `join__Graph` order (`graphs()[id.index()].id == id`).
    pub fn graphs(&self) -> &[Graph] {
        &self.graphs
    }

    pub fn graph(&self, id: GraphId) -> Option<&Graph> {
        self.graphs.get(id.index())
    }

    pub fn graph_by_name(&self, name: &str) -> Option<&Graph> {
        self.graph_by_name.get(name).and_then(|id| self.graph(*id))
    }

    /// The graphs defining `type_name` (empty for unknown types). Types without
    /// `@join__type` (value types, built-in scalars) are in every graph.
    pub fn type_graphs(&self, type_name: &str) -> &[TypeInGraph] {
        self.types
            .get(type_name)
            .map(|t| t.graphs.as_slice())
            .unwrap_or(&[])
    }

    /// How `graph` defines `type_name`, if it does.
    pub fn type_in_graph(&self, type_name: &str, graph: GraphId) -> Option<&TypeInGraph> {
        self.type_graphs(type_name)
            .iter()
            .find(|t| t.graph == graph)
    }

    pub fn subgraph_type_exists(&self, type_name: &str, graph: GraphId) -> bool {
        self.type_in_graph(type_name, graph).is_some()
    }

    /// The keys of `type_name` in `graph` (resolvable or not).
    pub fn keys(&self, type_name: &str, graph: GraphId) -> &[Key] {
        self.type_in_graph(type_name, graph)
            .map(|t| t.keys.as_slice())
            .unwrap_or(&[])
    }

    /// Whether `graph` can resolve `type_name` by key (has a resolvable key for it).
    pub fn is_entity_in(&self, type_name: &str, graph: GraphId) -> bool {
        self.keys(type_name, graph).iter().any(|k| k.resolvable)
    }

    pub fn is_interface_object(&self, type_name: &str, graph: GraphId) -> bool {
        self.type_in_graph(type_name, graph)
            .is_some_and(|t| t.is_interface_object)
    }

    /// Everything known about where `type_name.field_name` lives (objects and interfaces).
    pub fn field(&self, type_name: &str, field_name: &str) -> Option<&FieldInfo> {
        self.types.get(type_name)?.fields.get(field_name)
    }

    /// The graphs that resolve `type_name.field_name` (`@external` and overridden ones excluded).
    pub fn field_graphs(&self, type_name: &str, field_name: &str) -> &[FieldInGraph] {
        self.field(type_name, field_name)
            .map(|f| f.resolvable_in.as_slice())
            .unwrap_or(&[])
    }

    /// Object types implementing `interface` in `graph`.
    pub fn implementations_in(&self, interface: &str, graph: GraphId) -> &[Name] {
        self.types
            .get(interface)
            .and_then(|t| t.implementations.iter().find(|(g, _)| *g == graph))
            .map(|(_, names)| names.as_slice())
            .unwrap_or(&[])
    }

    /// Every progressive-override label (`@join__field(overrideLabel:)`), sorted and
    /// de-duplicated.
    pub fn override_labels(&self) -> Vec<String> {
        let mut labels: Vec<String> = self
            .types
            .values()
            .flat_map(|t| t.fields.values())
            .flat_map(|f| f.resolvable_in.iter())
            .filter_map(|f| f.override_label.clone())
            .collect();
        labels.sort_unstable();
        labels.dedup();
        labels
    }

    /// Object types an abstract type can be at runtime, in the API schema.
    pub fn possible_types(&self, abstract_type: &str) -> &[Name] {
        self.possible_types
            .get(abstract_type)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn union_members_in(&self, union: &str, graph: GraphId) -> &[Name] {
        self.type_in_graph(union, graph)
            .map(|t| t.union_members.as_slice())
            .unwrap_or(&[])
    }

    pub fn enum_values_in(&self, enum_name: &str, graph: GraphId) -> &[Name] {
        self.type_in_graph(enum_name, graph)
            .map(|t| t.enum_values.as_slice())
            .unwrap_or(&[])
    }
}

fn possible_types(api: &Schema) -> HashMap<Name, Vec<Name>> {
    let mut result: HashMap<Name, Vec<Name>> = HashMap::new();
    for (name, ty) in &api.types {
        match ty {
            apollo_compiler::schema::ExtendedType::Object(object) => {
                for interface in &object.implements_interfaces {
                    result
                        .entry(interface.name.clone())
                        .or_default()
                        .push(name.clone());
                }
            }
            apollo_compiler::schema::ExtendedType::Union(union) => {
                result
                    .entry(name.clone())
                    .or_default()
                    .extend(union.members.iter().map(|m| m.name.clone()));
            }
            _ => {}
        }
    }
    result
}
