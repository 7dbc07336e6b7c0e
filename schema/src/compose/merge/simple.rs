//! Merging unions, enums, input objects and scalars.

use super::input_values::ValueKind;
use super::{Merger, Sources, directive, pick_description, subgraph_list};
use crate::compose::error::code;
use apollo_compiler::ast::{self, Definition};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Node};

impl Merger<'_> {
    fn type_directives(&mut self, sources: &Sources<'_>) -> Vec<Node<ast::Directive>> {
        let join_types = self.join_types(sources);
        let carried = self.carried(
            sources
                .iter()
                .flat_map(|(index, ty)| ty.directives().iter().map(move |d| (*index, &***d))),
        );
        carried.around(join_types, Vec::new())
    }

    /// Members: the union of all subgraphs' members.
    pub(super) fn merge_union(&mut self, name: &Name, sources: &Sources<'_>) -> Option<Definition> {
        let join_types = self.join_types(sources);
        let mut directives = Vec::new();
        let unions: Vec<(usize, &apollo_compiler::schema::UnionType)> = sources
            .iter()
            .filter_map(|(index, ty)| match ty {
                ExtendedType::Union(union) => Some((*index, &**union)),
                _ => None,
            })
            .collect();
        let mut members: Vec<Name> = Vec::new();
        for (_, union) in &unions {
            for member in &union.members {
                if !members.contains(&member.name) {
                    members.push(member.name.clone());
                }
            }
        }
        // Member by member, then graph by graph, as @apollo/composition writes them.
        for member in &members {
            for (index, union) in &unions {
                if union.members.contains(member) {
                    directives.push(directive(
                        "join__unionMember",
                        vec![
                            ("graph", self.graph(*index)),
                            ("member", ast::Value::String(member.to_string())),
                        ],
                    ));
                }
            }
        }
        let carried = self.carried(
            sources
                .iter()
                .flat_map(|(index, ty)| ty.directives().iter().map(move |d| (*index, &***d))),
        );
        let directives = carried.around(join_types, directives);
        Some(Definition::UnionTypeDefinition(Node::new(
            ast::UnionTypeDefinition {
                description: pick_description(sources.iter().map(|(_, ty)| ty.description())),
                name: name.clone(),
                directives: ast::DirectiveList(directives),
                members,
            },
        )))
    }

    /// Values: the union for output-only enums, the intersection for input-only ones, and
    /// identical sets required for enums used both ways (Apollo's rules).
    pub(super) fn merge_enum(&mut self, name: &Name, sources: &Sources<'_>) -> Option<Definition> {
        let enums: Vec<(usize, &apollo_compiler::schema::EnumType)> = sources
            .iter()
            .filter_map(|(index, ty)| match ty {
                ExtendedType::Enum(e) => Some((*index, &**e)),
                _ => None,
            })
            .collect();
        let mut all_values: Vec<&Name> = Vec::new();
        for (_, enum_type) in &enums {
            for value in enum_type.values.keys() {
                if !all_values.contains(&value) {
                    all_values.push(value);
                }
            }
        }
        let usage = self.enum_usage.get(name).cloned().unwrap_or_default();
        let in_all = |value: &Name| enums.iter().all(|(_, e)| e.values.contains_key(value));
        let kept: Vec<&Name> = match (&usage.input, &usage.output) {
            (Some(input), Some(output)) => {
                let mut consistent = true;
                for value in all_values.iter().filter(|v| !in_all(v)) {
                    consistent = false;
                    let has: Vec<&str> = enums
                        .iter()
                        .filter(|(_, e)| e.values.contains_key(*value))
                        .map(|(i, _)| self.subgraph_name(*i))
                        .collect();
                    let lacks: Vec<&str> = enums
                        .iter()
                        .filter(|(_, e)| !e.values.contains_key(*value))
                        .map(|(i, _)| self.subgraph_name(*i))
                        .collect();
                    let message = format!(
                        "Enum type \"{name}\" is used as both input type (for example, as type of \"{input}\") and output type (for example, as type of \"{output}\"), but value \"{value}\" is not defined in all the subgraphs defining \"{name}\": \"{value}\" is defined in {} but not in {}",
                        subgraph_list(&has),
                        subgraph_list(&lacks),
                    );
                    self.error(code::ENUM_VALUE_MISMATCH, message, Vec::new());
                }
                if !consistent {
                    return None;
                }
                all_values
            }
            (Some(_), None) => all_values.into_iter().filter(|v| in_all(v)).collect(),
            _ => all_values,
        };
        if kept.is_empty() {
            let names: Vec<&str> = enums.iter().map(|(i, _)| self.subgraph_name(*i)).collect();
            let message = format!(
                "None of the values of enum type \"{name}\" are defined consistently in all the subgraphs defining that type ({}): it is only used as an input type, so only values common to all subgraphs are kept",
                subgraph_list(&names)
            );
            self.error(code::EMPTY_MERGED_ENUM_TYPE, message, Vec::new());
            return None;
        }
        let mut values = Vec::new();
        for value in kept {
            let defining: Vec<(usize, &Node<ast::EnumValueDefinition>)> = enums
                .iter()
                .filter_map(|(index, e)| e.values.get(value).map(|v| (*index, &**v)))
                .collect();
            let join_values: Vec<Node<ast::Directive>> = defining
                .iter()
                .map(|(index, _)| directive("join__enumValue", vec![("graph", self.graph(*index))]))
                .collect();
            let carried = self.carried(
                defining
                    .iter()
                    .flat_map(|(index, v)| v.directives.iter().map(move |d| (*index, &**d))),
            );
            let directives = carried.around(Vec::new(), join_values);
            values.push(Node::new(ast::EnumValueDefinition {
                description: pick_description(defining.iter().map(|(_, v)| v.description.as_ref())),
                value: value.clone(),
                directives: ast::DirectiveList(directives),
            }));
        }
        let directives = self.type_directives(sources);
        Some(Definition::EnumTypeDefinition(Node::new(
            ast::EnumTypeDefinition {
                description: pick_description(sources.iter().map(|(_, ty)| ty.description())),
                name: name.clone(),
                directives: ast::DirectiveList(directives),
                values,
            },
        )))
    }

    /// Fields: those in every subgraph defining the type.
    pub(super) fn merge_input_object(
        &mut self,
        name: &Name,
        sources: &Sources<'_>,
    ) -> Option<Definition> {
        let value_sources: Vec<(usize, Vec<&Node<ast::InputValueDefinition>>)> = sources
            .iter()
            .filter_map(|(index, ty)| match ty {
                ExtendedType::InputObject(input) => {
                    Some((*index, input.fields.values().map(|f| &f.node).collect()))
                }
                _ => None,
            })
            .collect();
        let merged = self.merge_input_values(name, ValueKind::InputField, &value_sources);
        if merged.is_empty() {
            let names: Vec<&str> = sources
                .iter()
                .map(|(i, _)| self.subgraph_name(*i))
                .collect();
            let message = format!(
                "None of the fields of input object type \"{name}\" are consistently defined in all the subgraphs defining that type ({}): input types only keep the fields defined in every subgraph",
                subgraph_list(&names)
            );
            self.error(code::EMPTY_MERGED_INPUT_TYPE, message, Vec::new());
            return None;
        }
        let fields = merged
            .into_iter()
            .map(|value| {
                let differ = value.types_differ();
                let mut definition = value.definition;
                if differ {
                    let join_fields = value
                        .source_types
                        .iter()
                        .map(|(index, ty)| {
                            directive(
                                "join__field",
                                vec![
                                    ("graph", self.graph(*index)),
                                    ("type", ast::Value::String(ty.to_string())),
                                ],
                            )
                        })
                        .collect::<Vec<_>>();
                    // After `@inaccessible`, before the rest, as for output fields.
                    let at = definition
                        .directives
                        .iter()
                        .take_while(|d| d.name == "inaccessible")
                        .count();
                    definition.directives.0.splice(at..at, join_fields);
                }
                Node::new(definition)
            })
            .collect();
        let directives = self.type_directives(sources);
        Some(Definition::InputObjectTypeDefinition(Node::new(
            ast::InputObjectTypeDefinition {
                description: pick_description(sources.iter().map(|(_, ty)| ty.description())),
                name: name.clone(),
                directives: ast::DirectiveList(directives),
                fields,
            },
        )))
    }

    pub(super) fn merge_scalar(
        &mut self,
        name: &Name,
        sources: &Sources<'_>,
    ) -> Option<Definition> {
        let directives = self.type_directives(sources);
        Some(Definition::ScalarTypeDefinition(Node::new(
            ast::ScalarTypeDefinition {
                description: pick_description(sources.iter().map(|(_, ty)| ty.description())),
                name: name.clone(),
                directives: ast::DirectiveList(directives),
            },
        )))
    }
}
