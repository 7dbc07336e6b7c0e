//! Reads the join spec directives into graphs and per-type/per-field ownership.

use super::links::SpecNames;
use super::{FieldInGraph, FieldInfo, Graph, GraphId, Key, SupergraphError, TypeInGraph, TypeInfo};
use crate::field_set::FieldSet;
use apollo_compiler::schema::{ExtendedType, FieldDefinition};
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Schema, ast};
use std::collections::HashMap;

/// The subgraphs, from the values of `enum join__Graph`.
pub(super) fn graphs(schema: &Schema, names: &SpecNames) -> Result<Vec<Graph>, SupergraphError> {
    let enum_name = &names.graph_enum;
    let graph_enum =
        schema
            .get_enum(enum_name)
            .ok_or_else(|| SupergraphError::MissingGraphEnum {
                name: enum_name.clone(),
            })?;
    let invalid = |value: &Name, message: String| SupergraphError::InvalidGraph {
        enum_name: enum_name.clone(),
        value: value.to_string(),
        message,
    };
    let mut graphs: Vec<Graph> = Vec::with_capacity(graph_enum.values.len());
    for (value, definition) in &graph_enum.values {
        let directive = definition
            .directives
            .get(&names.join_graph)
            .ok_or_else(|| invalid(value, format!("no @{}(name:, url:)", names.join_graph)))?;
        let name = string_arg(directive, "name")
            .map_err(|m| invalid(value, m))?
            .ok_or_else(|| invalid(value, format!("@{} has no `name:`", names.join_graph)))?;
        let url = string_arg(directive, "url")
            .map_err(|m| invalid(value, m))?
            .ok_or_else(|| invalid(value, format!("@{} has no `url:`", names.join_graph)))?;
        if graphs.iter().any(|g| g.name == name) {
            return Err(invalid(
                value,
                format!("subgraph name \"{name}\" is used twice"),
            ));
        }
        let id = u16::try_from(graphs.len())
            .map(GraphId)
            .map_err(|_| invalid(value, "more than 65535 subgraphs".to_string()))?;
        graphs.push(Graph {
            id,
            name: name.to_string(),
            enum_value: value.clone(),
            url: url.to_string(),
        });
    }
    Ok(graphs)
}

struct Reader<'a> {
    schema: &'a Valid<Schema>,
    names: &'a SpecNames,
    graph_by_value: HashMap<&'a str, GraphId>,
    all_graphs: Vec<GraphId>,
}

/// Join information for every non-spec type of the supergraph.
pub(super) fn types(
    schema: &Valid<Schema>,
    names: &SpecNames,
    graphs: &[Graph],
) -> Result<HashMap<Name, TypeInfo>, SupergraphError> {
    let reader = Reader {
        schema,
        names,
        graph_by_value: graphs
            .iter()
            .map(|g| (g.enum_value.as_str(), g.id))
            .collect(),
        all_graphs: graphs.iter().map(|g| g.id).collect(),
    };
    // Pass 1: which graph defines which type, so that pass 2 can apply the join spec's
    // defaults ("no @join__implements: every interface the graph knows").
    let mut types: HashMap<Name, TypeInfo> = HashMap::new();
    for (name, ty) in relevant_types(schema, names) {
        let graphs = reader.type_graphs(name, ty)?;
        types.insert(
            name.clone(),
            TypeInfo {
                graphs,
                ..TypeInfo::default()
            },
        );
    }
    for (name, ty) in relevant_types(schema, names) {
        let mut graphs = types
            .get(name)
            .map(|t| t.graphs.clone())
            .unwrap_or_default();
        let mut fields = HashMap::new();
        match ty {
            ExtendedType::Object(object) => {
                reader.implements(name, ty, &object.implements_interfaces, &mut graphs, &types)?;
                for (field_name, field) in &object.fields {
                    fields.insert(field_name.clone(), reader.field(name, field, &graphs)?);
                }
            }
            ExtendedType::Interface(interface) => {
                reader.implements(
                    name,
                    ty,
                    &interface.implements_interfaces,
                    &mut graphs,
                    &types,
                )?;
                for (field_name, field) in &interface.fields {
                    fields.insert(field_name.clone(), reader.field(name, field, &graphs)?);
                }
            }
            ExtendedType::Union(union) => {
                reader.union_members(name, ty, union, &mut graphs, &types)?
            }
            ExtendedType::Enum(enum_type) => reader.enum_values(name, enum_type, &mut graphs)?,
            ExtendedType::Scalar(_) | ExtendedType::InputObject(_) => {}
        }
        if let Some(info) = types.get_mut(name) {
            info.graphs = graphs;
            info.fields = fields;
        }
    }
    // Reverse index for `implementations_in`.
    let mut implementations: Vec<(Name, GraphId, Name)> = Vec::new();
    for (name, ty) in relevant_types(schema, names) {
        if !ty.is_object() {
            continue;
        }
        for in_graph in types.get(name).map(|t| t.graphs.as_slice()).unwrap_or(&[]) {
            for interface in &in_graph.implements {
                implementations.push((interface.clone(), in_graph.graph, name.clone()));
            }
        }
    }
    for (interface, graph, object) in implementations {
        if let Some(info) = types.get_mut(&interface) {
            match info.implementations.iter_mut().find(|(g, _)| *g == graph) {
                Some((_, objects)) => objects.push(object),
                None => info.implementations.push((graph, vec![object])),
            }
        }
    }
    Ok(types)
}

fn relevant_types<'a>(
    schema: &'a Schema,
    names: &'a SpecNames,
) -> impl Iterator<Item = (&'a Name, &'a ExtendedType)> {
    schema
        .types
        .iter()
        .filter(|(name, _)| !name.starts_with("__") && !names.is_spec_type(name))
}

impl Reader<'_> {
    fn graph(
        &self,
        directive: &ast::Directive,
        coordinate: &str,
        required: bool,
    ) -> Result<Option<GraphId>, SupergraphError> {
        let invalid = |message: String| SupergraphError::InvalidDirective {
            directive: directive.name.to_string(),
            coordinate: coordinate.to_string(),
            message,
        };
        let value = match directive.specified_argument_by_name("graph") {
            Some(value) if !value.is_null() => value,
            _ if required => return Err(invalid("missing `graph:`".to_string())),
            _ => return Ok(None),
        };
        let enum_value = value
            .as_enum()
            .ok_or_else(|| invalid("`graph:` must be a join__Graph value".to_string()))?;
        self.graph_by_value
            .get(enum_value.as_str())
            .copied()
            .map(Some)
            .ok_or_else(|| invalid(format!("unknown graph `{enum_value}`")))
    }

    fn field_set(
        &self,
        directive: &ast::Directive,
        argument: &'static str,
        coordinate: &str,
        parent_type: &Name,
    ) -> Result<Option<FieldSet>, SupergraphError> {
        let Some(source) = arg_str(directive, argument, coordinate)? else {
            return Ok(None);
        };
        FieldSet::parse(self.schema, parent_type, source)
            .map(Some)
            .map_err(|message| SupergraphError::InvalidFieldSet {
                directive: directive.name.to_string(),
                argument,
                coordinate: coordinate.to_string(),
                field_set: source.to_string(),
                message,
            })
    }

    fn type_graphs(
        &self,
        name: &Name,
        ty: &ExtendedType,
    ) -> Result<Vec<TypeInGraph>, SupergraphError> {
        let mut graphs: Vec<TypeInGraph> = Vec::new();
        let mut any = false;
        for directive in ty.directives().get_all(&self.names.join_type) {
            any = true;
            let Some(graph) = self.graph(directive, name, true)? else {
                continue;
            };
            let position = match graphs.iter().position(|t| t.graph == graph) {
                Some(position) => position,
                None => {
                    graphs.push(TypeInGraph::new(graph));
                    graphs.len() - 1
                }
            };
            let key = self.field_set(directive, "key", name, name)?;
            let resolvable = arg_bool(directive, "resolvable", name, true)?;
            let extension = arg_bool(directive, "extension", name, false)?;
            let interface_object = arg_bool(directive, "isInterfaceObject", name, false)?;
            let entry = &mut graphs[position];
            if let Some(fields) = key {
                entry.keys.push(Key { fields, resolvable });
            }
            entry.extension |= extension;
            entry.is_interface_object |= interface_object;
        }
        if !any {
            // No @join__type: a value type every subgraph has (join spec).
            graphs = self
                .all_graphs
                .iter()
                .map(|g| TypeInGraph::new(*g))
                .collect();
        }
        Ok(graphs)
    }

    fn field(
        &self,
        type_name: &Name,
        field: &FieldDefinition,
        type_graphs: &[TypeInGraph],
    ) -> Result<FieldInfo, SupergraphError> {
        let coordinate = format!("{type_name}.{}", field.name);
        let mut info = FieldInfo::default();
        let applications: Vec<_> = field.directives.get_all(&self.names.join_field).collect();
        if applications.is_empty() {
            // No @join__field: every graph defining the parent type resolves the field.
            info.resolvable_in = type_graphs
                .iter()
                .map(|t| FieldInGraph::plain(t.graph))
                .collect();
            return Ok(info);
        }
        for directive in applications {
            // A @join__field without `graph:` only says "in no graph".
            let Some(graph) = self.graph(directive, &coordinate, false)? else {
                continue;
            };
            if arg_bool(directive, "external", &coordinate, false)? {
                info.external_in.push(graph);
                continue;
            }
            if arg_bool(directive, "usedOverridden", &coordinate, false)? {
                info.used_overridden_in.push(graph);
                continue;
            }
            let subgraph_type = arg_str(directive, "type", &coordinate)?
                .map(|text| {
                    ast::Type::parse(text, "join__field.type").map_err(|_| {
                        SupergraphError::InvalidDirective {
                            directive: directive.name.to_string(),
                            coordinate: coordinate.clone(),
                            message: format!("`type: \"{text}\"` is not a GraphQL type"),
                        }
                    })
                })
                .transpose()?;
            info.resolvable_in.push(FieldInGraph {
                graph,
                requires: self.field_set(directive, "requires", &coordinate, type_name)?,
                provides: self.field_set(
                    directive,
                    "provides",
                    &coordinate,
                    field.ty.inner_named_type(),
                )?,
                subgraph_type,
                override_from: arg_str(directive, "override", &coordinate)?.map(str::to_string),
                override_label: arg_str(directive, "overrideLabel", &coordinate)?
                    .map(str::to_string),
            });
        }
        Ok(info)
    }

    fn implements(
        &self,
        name: &Name,
        ty: &ExtendedType,
        declared: &apollo_compiler::collections::IndexSet<apollo_compiler::schema::ComponentName>,
        graphs: &mut [TypeInGraph],
        types: &HashMap<Name, TypeInfo>,
    ) -> Result<(), SupergraphError> {
        let mut any = false;
        for directive in ty.directives().get_all(&self.names.join_implements) {
            any = true;
            let Some(graph) = self.graph(directive, name, true)? else {
                continue;
            };
            let interface = arg_str(directive, "interface", name)?.ok_or_else(|| {
                SupergraphError::InvalidDirective {
                    directive: directive.name.to_string(),
                    coordinate: name.to_string(),
                    message: "missing `interface:`".to_string(),
                }
            })?;
            let interface = declared
                .iter()
                .find(|i| i.name == interface)
                .ok_or_else(|| SupergraphError::InvalidDirective {
                    directive: directive.name.to_string(),
                    coordinate: name.to_string(),
                    message: format!("`{name}` does not implement `{interface}`"),
                })?;
            if let Some(entry) = graphs.iter_mut().find(|t| t.graph == graph) {
                entry.implements.push(interface.name.clone());
            }
        }
        if !any {
            for entry in graphs.iter_mut() {
                entry.implements = declared
                    .iter()
                    .filter(|i| exists_in(types, &i.name, entry.graph))
                    .map(|i| i.name.clone())
                    .collect();
            }
        }
        Ok(())
    }

    fn union_members(
        &self,
        name: &Name,
        ty: &ExtendedType,
        union: &apollo_compiler::schema::UnionType,
        graphs: &mut [TypeInGraph],
        types: &HashMap<Name, TypeInfo>,
    ) -> Result<(), SupergraphError> {
        let mut any = false;
        for directive in ty.directives().get_all(&self.names.join_union_member) {
            any = true;
            let Some(graph) = self.graph(directive, name, true)? else {
                continue;
            };
            let member = arg_str(directive, "member", name)?.ok_or_else(|| {
                SupergraphError::InvalidDirective {
                    directive: directive.name.to_string(),
                    coordinate: name.to_string(),
                    message: "missing `member:`".to_string(),
                }
            })?;
            let member = union
                .members
                .iter()
                .find(|m| m.name == member)
                .ok_or_else(|| SupergraphError::InvalidDirective {
                    directive: directive.name.to_string(),
                    coordinate: name.to_string(),
                    message: format!("`{member}` is not a member of `{name}`"),
                })?;
            if let Some(entry) = graphs.iter_mut().find(|t| t.graph == graph) {
                entry.union_members.push(member.name.clone());
            }
        }
        if !any {
            for entry in graphs.iter_mut() {
                entry.union_members = union
                    .members
                    .iter()
                    .filter(|m| exists_in(types, &m.name, entry.graph))
                    .map(|m| m.name.clone())
                    .collect();
            }
        }
        Ok(())
    }

    fn enum_values(
        &self,
        name: &Name,
        enum_type: &apollo_compiler::schema::EnumType,
        graphs: &mut [TypeInGraph],
    ) -> Result<(), SupergraphError> {
        let mut any = false;
        for (value, definition) in &enum_type.values {
            let coordinate = format!("{name}.{value}");
            for directive in definition.directives.get_all(&self.names.join_enum_value) {
                any = true;
                let Some(graph) = self.graph(directive, &coordinate, true)? else {
                    continue;
                };
                if let Some(entry) = graphs.iter_mut().find(|t| t.graph == graph) {
                    entry.enum_values.push(value.clone());
                }
            }
        }
        if !any {
            for entry in graphs.iter_mut() {
                entry.enum_values = enum_type.values.keys().cloned().collect();
            }
        }
        Ok(())
    }
}

fn exists_in(types: &HashMap<Name, TypeInfo>, name: &str, graph: GraphId) -> bool {
    types
        .get(name)
        .is_some_and(|t| t.graphs.iter().any(|g| g.graph == graph))
}

impl TypeInGraph {
    fn new(graph: GraphId) -> Self {
        TypeInGraph {
            graph,
            keys: Vec::new(),
            extension: false,
            is_interface_object: false,
            implements: Vec::new(),
            union_members: Vec::new(),
            enum_values: Vec::new(),
        }
    }
}

impl FieldInGraph {
    fn plain(graph: GraphId) -> Self {
        FieldInGraph {
            graph,
            requires: None,
            provides: None,
            subgraph_type: None,
            override_from: None,
            override_label: None,
        }
    }
}

fn string_arg<'a>(directive: &'a ast::Directive, name: &str) -> Result<Option<&'a str>, String> {
    match directive.specified_argument_by_name(name) {
        None => Ok(None),
        Some(value) if value.is_null() => Ok(None),
        Some(value) => value
            .as_str()
            .map(Some)
            .ok_or_else(|| format!("`{name}:` must be a string")),
    }
}

fn arg_str<'a>(
    directive: &'a ast::Directive,
    name: &str,
    coordinate: &str,
) -> Result<Option<&'a str>, SupergraphError> {
    string_arg(directive, name).map_err(|message| SupergraphError::InvalidDirective {
        directive: directive.name.to_string(),
        coordinate: coordinate.to_string(),
        message,
    })
}

fn arg_bool(
    directive: &ast::Directive,
    name: &str,
    coordinate: &str,
    default: bool,
) -> Result<bool, SupergraphError> {
    match directive.specified_argument_by_name(name) {
        None => Ok(default),
        Some(value) if value.is_null() => Ok(default),
        Some(value) => value
            .to_bool()
            .ok_or_else(|| SupergraphError::InvalidDirective {
                directive: directive.name.to_string(),
                coordinate: coordinate.to_string(),
                message: format!("`{name}:` must be a boolean"),
            }),
    }
}
