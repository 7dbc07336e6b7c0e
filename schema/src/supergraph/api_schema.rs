//! Derives the API schema (what clients see) from the supergraph: no link/join/inaccessible/
//! tag machinery and nothing marked `@inaccessible`.

use super::SupergraphError;
use super::links::SpecNames;
use crate::field_set::diagnostics_summary;
use apollo_compiler::collections::IndexMap;
use apollo_compiler::schema::{Component, ExtendedType, FieldDefinition, InputValueDefinition};
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Node, Schema, ast, schema};
use std::collections::HashSet;

struct Pruner<'a> {
    names: &'a SpecNames,
    hidden_types: HashSet<Name>,
}

pub(super) fn build(
    supergraph: &Schema,
    names: &SpecNames,
) -> Result<Valid<Schema>, SupergraphError> {
    let mut api = supergraph.clone();
    let hidden_types: HashSet<Name> = api
        .types
        .iter()
        .filter(|(_, ty)| !ty.is_built_in() && is_hidden(names, ty.directives()))
        .map(|(name, _)| name.clone())
        .collect();
    let pruner = Pruner {
        names,
        hidden_types,
    };

    let definition = api.schema_definition.make_mut();
    definition
        .directives
        .retain(|d| !names.is_spec_directive(&d.name));
    if let Some(query) = &definition.query
        && pruner.hidden_types.contains(&query.name)
    {
        return Err(SupergraphError::QueryRootInaccessible {
            type_name: query.name.to_string(),
        });
    }
    for root in [&mut definition.mutation, &mut definition.subscription] {
        if root
            .as_ref()
            .is_some_and(|r| pruner.hidden_types.contains(&r.name))
        {
            *root = None;
        }
    }
    api.directive_definitions
        .retain(|name, _| !names.is_spec_directive(name));
    api.types
        .retain(|name, _| !names.is_spec_type(name) && !pruner.hidden_types.contains(name));

    for (type_name, ty) in api.types.iter_mut() {
        if ty.is_built_in() {
            continue;
        }
        match ty {
            ExtendedType::Scalar(scalar) => pruner.strip(&mut scalar.make_mut().directives),
            ExtendedType::Object(object) => {
                let object = object.make_mut();
                pruner.strip(&mut object.directives);
                object
                    .implements_interfaces
                    .retain(|i| !pruner.hidden_types.contains(&i.name));
                pruner.prune_fields(type_name, &mut object.fields)?;
            }
            ExtendedType::Interface(interface) => {
                let interface = interface.make_mut();
                pruner.strip(&mut interface.directives);
                interface
                    .implements_interfaces
                    .retain(|i| !pruner.hidden_types.contains(&i.name));
                pruner.prune_fields(type_name, &mut interface.fields)?;
            }
            ExtendedType::Union(union) => {
                let union = union.make_mut();
                pruner.strip(&mut union.directives);
                union
                    .members
                    .retain(|m| !pruner.hidden_types.contains(&m.name));
                if union.members.is_empty() {
                    return Err(only_inaccessible(type_name, "member"));
                }
            }
            ExtendedType::Enum(enum_type) => {
                let enum_type = enum_type.make_mut();
                pruner.strip(&mut enum_type.directives);
                enum_type
                    .values
                    .retain(|_, v| !is_hidden_ast(names, &v.directives));
                for value in enum_type.values.values_mut() {
                    pruner.strip_ast(&mut value.make_mut().directives);
                }
                if enum_type.values.is_empty() {
                    return Err(only_inaccessible(type_name, "value"));
                }
            }
            ExtendedType::InputObject(input) => {
                let input = input.make_mut();
                pruner.strip(&mut input.directives);
                pruner.prune_input_values(type_name, &mut input.fields)?;
                if input.fields.is_empty() {
                    return Err(only_inaccessible(type_name, "field"));
                }
            }
        }
    }
    api.validate()
        .map_err(|e| SupergraphError::InvalidApiSchema(diagnostics_summary(&e.errors)))
}

fn only_inaccessible(type_name: &Name, children: &'static str) -> SupergraphError {
    SupergraphError::OnlyInaccessibleChildren {
        type_name: type_name.to_string(),
        children,
    }
}

fn is_hidden(names: &SpecNames, directives: &schema::DirectiveList) -> bool {
    names
        .inaccessible_directive
        .as_deref()
        .is_some_and(|name| directives.has(name))
}

fn is_hidden_ast(names: &SpecNames, directives: &ast::DirectiveList) -> bool {
    names
        .inaccessible_directive
        .as_deref()
        .is_some_and(|name| directives.has(name))
}

fn is_required(value: &InputValueDefinition) -> bool {
    value.ty.is_non_null() && value.default_value.is_none()
}

impl Pruner<'_> {
    fn strip(&self, directives: &mut schema::DirectiveList) {
        directives.retain(|d| !self.names.is_spec_directive(&d.name));
    }

    fn strip_ast(&self, directives: &mut ast::DirectiveList) {
        directives.retain(|d| !self.names.is_spec_directive(&d.name));
    }

    fn check_reference(&self, coordinate: &str, ty: &ast::Type) -> Result<(), SupergraphError> {
        let referenced = ty.inner_named_type();
        if self.hidden_types.contains(referenced) {
            return Err(SupergraphError::ReferencedInaccessible {
                coordinate: coordinate.to_string(),
                referenced: referenced.to_string(),
            });
        }
        Ok(())
    }

    fn prune_fields(
        &self,
        type_name: &Name,
        fields: &mut IndexMap<Name, Component<FieldDefinition>>,
    ) -> Result<(), SupergraphError> {
        fields.retain(|_, f| !is_hidden_ast(self.names, &f.directives));
        for (field_name, field) in fields.iter_mut() {
            let coordinate = format!("{type_name}.{field_name}");
            self.check_reference(&coordinate, &field.ty)?;
            let field = field.make_mut();
            self.strip_ast(&mut field.directives);
            let mut arguments = Vec::with_capacity(field.arguments.len());
            for argument in field.arguments.drain(..) {
                let argument_coordinate = format!("{coordinate}({}:)", argument.name);
                if is_hidden_ast(self.names, &argument.directives) {
                    if is_required(&argument) {
                        return Err(SupergraphError::RequiredInaccessible {
                            coordinate: argument_coordinate,
                        });
                    }
                    continue;
                }
                self.check_reference(&argument_coordinate, &argument.ty)?;
                arguments.push(self.strip_input_value(argument));
            }
            field.arguments = arguments;
        }
        if fields.is_empty() {
            return Err(only_inaccessible(type_name, "field"));
        }
        Ok(())
    }

    fn prune_input_values(
        &self,
        type_name: &Name,
        fields: &mut IndexMap<Name, Component<InputValueDefinition>>,
    ) -> Result<(), SupergraphError> {
        for (field_name, field) in fields.iter() {
            if is_hidden_ast(self.names, &field.directives) && is_required(field) {
                return Err(SupergraphError::RequiredInaccessible {
                    coordinate: format!("{type_name}.{field_name}"),
                });
            }
        }
        fields.retain(|_, f| !is_hidden_ast(self.names, &f.directives));
        for (field_name, field) in fields.iter_mut() {
            self.check_reference(&format!("{type_name}.{field_name}"), &field.ty)?;
            self.strip_ast(&mut field.make_mut().directives);
        }
        Ok(())
    }

    fn strip_input_value(
        &self,
        mut value: Node<InputValueDefinition>,
    ) -> Node<InputValueDefinition> {
        self.strip_ast(&mut value.make_mut().directives);
        value
    }
}
