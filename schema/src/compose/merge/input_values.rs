//! Merging field arguments and input object fields: only values present in every subgraph
//! survive (a required one missing somewhere is an error), types merge to the most
//! restrictive, defaults must agree.

use super::typeref::{Position, describe_types};
use super::{Merger, pick_description};
use crate::compose::error::code;
use apollo_compiler::ast::{self, InputValueDefinition};
use apollo_compiler::{Name, Node};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ValueKind {
    Argument,
    InputField,
}

/// A merged argument or input field, with the subgraph types it came from.
pub(super) struct MergedValue {
    pub definition: InputValueDefinition,
    pub source_types: Vec<(usize, ast::Type)>,
}

impl MergedValue {
    pub fn types_differ(&self) -> bool {
        self.source_types
            .iter()
            .any(|(_, ty)| *ty != *self.definition.ty)
    }
}

fn is_required(value: &InputValueDefinition) -> bool {
    value.ty.is_non_null() && value.default_value.is_none()
}

impl Merger<'_> {
    /// `sources`: per subgraph, the arguments of the field (or fields of the input type)
    /// there. `owner` is `Type.field` for arguments and `Type` for input fields.
    pub(super) fn merge_input_values(
        &mut self,
        owner: &str,
        kind: ValueKind,
        sources: &[(usize, Vec<&Node<InputValueDefinition>>)],
    ) -> Vec<MergedValue> {
        let mut names: Vec<&Name> = Vec::new();
        for (_, values) in sources {
            for value in values {
                if !names.contains(&&value.name) {
                    names.push(&value.name);
                }
            }
        }
        let (label, required_code, type_code, default_code) = match kind {
            ValueKind::Argument => (
                "Argument",
                code::REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH,
                code::FIELD_ARGUMENT_TYPE_MISMATCH,
                code::FIELD_ARGUMENT_DEFAULT_MISMATCH,
            ),
            ValueKind::InputField => (
                "Input field",
                code::REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH,
                code::FIELD_TYPE_MISMATCH,
                code::INPUT_FIELD_DEFAULT_MISMATCH,
            ),
        };
        let mut merged = Vec::new();
        for name in names {
            let coordinate = match kind {
                ValueKind::Argument => format!("{owner}({name}:)"),
                ValueKind::InputField => format!("{owner}.{name}"),
            };
            let present: Vec<(usize, &Node<InputValueDefinition>)> = sources
                .iter()
                .filter_map(|(index, values)| {
                    values
                        .iter()
                        .find(|v| v.name == *name)
                        .map(|v| (*index, *v))
                })
                .collect();
            let locations = |merger: &Merger<'_>| {
                present
                    .iter()
                    .map(|(index, value)| merger.subgraphs[*index].location(value.location()))
                    .collect::<Vec<_>>()
            };
            if present.len() < sources.len() {
                let required_in: Vec<&str> = present
                    .iter()
                    .filter(|(_, v)| is_required(v))
                    .map(|(index, _)| self.subgraph_name(*index))
                    .collect();
                if !required_in.is_empty() {
                    let missing_in: Vec<&str> = sources
                        .iter()
                        .filter(|(index, _)| !present.iter().any(|(i, _)| i == index))
                        .map(|(index, _)| self.subgraph_name(*index))
                        .collect();
                    let message = format!(
                        "{label} \"{coordinate}\" is required in some subgraphs but does not appear in all subgraphs: it is required in {} but does not appear in {}",
                        super::subgraph_list(&required_in),
                        super::subgraph_list(&missing_in),
                    );
                    let locations = locations(self);
                    self.error(required_code, message, locations);
                }
                // Optional values missing somewhere are dropped (Apollo: a hint only).
                continue;
            }
            let Some(ty) = self.merge_types(present.iter().map(|(_, v)| &*v.ty), Position::Input)
            else {
                let described = describe_types(
                    present
                        .iter()
                        .map(|(index, v)| (self.subgraph_name(*index), &*v.ty)),
                );
                let message = format!(
                    "Type of {} \"{coordinate}\" is incompatible across subgraphs: it has {described}",
                    label.to_lowercase()
                );
                let locations = locations(self);
                self.error(type_code, message, locations);
                continue;
            };
            // Defaults present in only some subgraphs are dropped (Apollo: a hint); two
            // different defaults are an error.
            let defaults: Vec<&Node<ast::Value>> = present
                .iter()
                .filter_map(|(_, v)| v.default_value.as_ref())
                .collect();
            let first_default = if defaults.len() == present.len() {
                defaults.first().copied()
            } else {
                None
            };
            if defaults.iter().any(|d| *d != defaults[0]) {
                let described: Vec<String> = present
                    .iter()
                    .map(|(index, v)| match &v.default_value {
                        Some(default) => format!(
                            "default value {default} in subgraph \"{}\"",
                            self.subgraph_name(*index)
                        ),
                        None => format!(
                            "no default value in subgraph \"{}\"",
                            self.subgraph_name(*index)
                        ),
                    })
                    .collect();
                let message = format!(
                    "{label} \"{coordinate}\" has incompatible default values across subgraphs: it has {}",
                    described.join(" but ")
                );
                let locations = locations(self);
                self.error(default_code, message, locations);
                continue;
            }
            let directives = self
                .carried(
                    present
                        .iter()
                        .flat_map(|(index, v)| v.directives.iter().map(move |d| (*index, &**d))),
                )
                .around(Vec::new(), Vec::new());
            merged.push(MergedValue {
                definition: InputValueDefinition {
                    description: pick_description(
                        present.iter().map(|(_, v)| v.description.as_ref()),
                    ),
                    name: name.clone(),
                    ty: Node::new(ty),
                    default_value: first_default.cloned(),
                    directives: ast::DirectiveList(directives),
                },
                source_types: present
                    .iter()
                    .map(|(index, v)| (*index, (*v.ty).clone()))
                    .collect(),
            });
        }
        merged
    }
}
