//! Merges the subgraph schemas type by type into supergraph definitions carrying the join
//! directives.

mod composite;
mod input_values;
mod simple;
mod typeref;

use super::composed_directives::ComposedDirectives;
use super::error::{CompositionError, code};
use super::specs::{self, Strategy};
use super::subgraph::Subgraph;
use apollo_compiler::ast::{self, OperationType};
use apollo_compiler::collections::IndexMap;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Node};
use std::collections::{HashMap, HashSet};

/// The merged user types, ready to print.
pub(crate) struct Merged {
    pub definitions: Vec<ast::Definition>,
    pub root_operations: Vec<(OperationType, Name)>,
    /// Composed spec directives used, by name in their spec, with their supergraph name.
    pub spec_names: IndexMap<&'static str, Name>,
    /// `@oneOf` is not built into the GraphQL library: the supergraph must define it.
    pub uses_one_of: bool,
}

/// Where an enum is used, with one example coordinate per position (for error messages).
#[derive(Debug, Default, Clone)]
struct EnumUsage {
    output: Option<String>,
    input: Option<String>,
}

/// The definitions of one type in the subgraphs that have it: (subgraph index, definition).
type Sources<'a> = Vec<(usize, &'a ExtendedType)>;

struct Merger<'a> {
    subgraphs: &'a [Subgraph],
    graph_values: &'a [Name],
    composed_directives: &'a ComposedDirectives,
    errors: Vec<CompositionError>,
    spec_names: IndexMap<&'static str, Name>,
    uses_one_of: bool,
    /// Abstract types (interfaces, unions) each type belongs to in some subgraph.
    supertypes: HashMap<Name, HashSet<Name>>,
    /// The object types implementing each interface in some subgraph (the supergraph's
    /// possible types), in order of first appearance.
    implementations: HashMap<Name, Vec<Name>>,
    enum_usage: HashMap<Name, EnumUsage>,
}

pub(crate) fn merge(
    subgraphs: &[Subgraph],
    graph_values: &[Name],
    composed_directives: &ComposedDirectives,
) -> Result<Merged, Vec<CompositionError>> {
    let mut merger = Merger {
        subgraphs,
        graph_values,
        composed_directives,
        errors: Vec::new(),
        spec_names: IndexMap::default(),
        uses_one_of: false,
        supertypes: HashMap::new(),
        implementations: HashMap::new(),
        enum_usage: HashMap::new(),
    };
    merger.collect_relations();
    let types = merger.collect_types();
    let mut definitions = Vec::new();
    for (name, sources) in &types {
        let definition = match sources[0].1 {
            ExtendedType::Object(_) | ExtendedType::Interface(_) => {
                merger.merge_composite(name, sources)
            }
            ExtendedType::Union(_) => merger.merge_union(name, sources),
            ExtendedType::Enum(_) => merger.merge_enum(name, sources),
            ExtendedType::InputObject(_) => merger.merge_input_object(name, sources),
            ExtendedType::Scalar(_) => merger.merge_scalar(name, sources),
        };
        definitions.extend(definition);
    }
    merger.add_interface_object_fields(&mut definitions);
    merger.check_interface_implementations(&definitions, &types);
    let root_operations: Vec<(OperationType, Name)> = [
        OperationType::Query,
        OperationType::Mutation,
        OperationType::Subscription,
    ]
    .into_iter()
    .filter_map(|operation| {
        let name = operation.default_type_name();
        definitions
            .iter()
            .any(|d| matches!(d, ast::Definition::ObjectTypeDefinition(o) if o.name == name))
            .then_some((operation, name))
    })
    .collect();
    if !root_operations
        .iter()
        .any(|(op, _)| *op == OperationType::Query)
    {
        merger.errors.push(CompositionError::new(
            code::NO_QUERIES,
            "None of the composed subgraphs expose any query.",
        ));
    }
    if !merger.errors.is_empty() {
        return Err(merger.errors);
    }
    definitions.sort_by(|a, b| a.name().cmp(&b.name()));
    Ok(Merged {
        definitions,
        root_operations,
        spec_names: merger.spec_names,
        uses_one_of: merger.uses_one_of,
    })
}

impl<'a> Merger<'a> {
    fn subgraph_name(&self, index: usize) -> &str {
        &self.subgraphs[index].name
    }

    /// Interfaces implemented and unions joined in any subgraph; enum usage positions.
    fn collect_relations(&mut self) {
        for subgraph in self.subgraphs {
            for (name, ty) in subgraph.user_types() {
                let mut fields: Vec<&Node<ast::FieldDefinition>> = Vec::new();
                let mut supertypes: Vec<(&Name, &Name)> = Vec::new();
                match ty {
                    ExtendedType::Object(o) => {
                        for interface in &o.implements_interfaces {
                            let list = self
                                .implementations
                                .entry(interface.name.clone())
                                .or_default();
                            if !list.contains(name) {
                                list.push(name.clone());
                            }
                        }
                        supertypes.extend(o.implements_interfaces.iter().map(|i| (name, &i.name)));
                        fields.extend(o.fields.values().map(|f| &f.node));
                    }
                    ExtendedType::Interface(i) => {
                        supertypes.extend(i.implements_interfaces.iter().map(|i| (name, &i.name)));
                        fields.extend(i.fields.values().map(|f| &f.node));
                    }
                    ExtendedType::Union(u) => {
                        supertypes.extend(u.members.iter().map(|m| (&m.name, name)));
                    }
                    ExtendedType::InputObject(i) => {
                        for (field_name, field) in &i.fields {
                            self.mark_usage(field.ty.inner_named_type(), false, || {
                                format!("{name}.{field_name}")
                            });
                        }
                    }
                    ExtendedType::Scalar(_) | ExtendedType::Enum(_) => {}
                }
                for (sub, sup) in supertypes {
                    self.supertypes
                        .entry(sub.clone())
                        .or_default()
                        .insert(sup.clone());
                }
                for field in fields {
                    self.mark_usage(field.ty.inner_named_type(), true, || {
                        format!("{name}.{}", field.name)
                    });
                    for argument in &field.arguments {
                        self.mark_usage(argument.ty.inner_named_type(), false, || {
                            format!("{name}.{}({}:)", field.name, argument.name)
                        });
                    }
                }
            }
        }
    }

    fn mark_usage(&mut self, type_name: &Name, output: bool, coordinate: impl FnOnce() -> String) {
        let usage = self.enum_usage.entry(type_name.clone()).or_default();
        let slot = if output {
            &mut usage.output
        } else {
            &mut usage.input
        };
        if slot.is_none() {
            *slot = Some(coordinate());
        }
    }

    /// Every user type with the subgraphs defining it; kind mismatches are reported and the
    /// type left out.
    fn collect_types(&mut self) -> IndexMap<Name, Sources<'a>> {
        let mut types: IndexMap<Name, Sources<'a>> = IndexMap::default();
        let subgraphs = self.subgraphs;
        for (index, subgraph) in subgraphs.iter().enumerate() {
            for (name, ty) in subgraph.user_types() {
                types.entry(name.clone()).or_default().push((index, ty));
            }
        }
        // An `@interfaceObject` stands for an interface: it has the interface kind.
        let kind = |index: usize, name: &Name, ty: &ExtendedType| -> &'static str {
            if subgraphs[index].meta.is_interface_object(name) {
                "Interface Object Type (Object Type with @interfaceObject)"
            } else {
                kind_name(ty)
            }
        };
        let merged_kind = |index: usize, name: &Name, ty: &ExtendedType| -> &'static str {
            if subgraphs[index].meta.is_interface_object(name) {
                kind_name_interface()
            } else {
                kind_name(ty)
            }
        };
        types.retain(|name, sources| {
            let (first_index, first_ty) = sources[0];
            let first_kind = merged_kind(first_index, name, first_ty);
            if let Some(&(other_index, other_ty)) = sources
                .iter()
                .find(|(index, ty)| merged_kind(*index, name, ty) != first_kind)
            {
                let message = format!(
                    "Type \"{name}\" has mismatched kind: it is defined as {} in subgraph \"{}\" but {} in subgraph \"{}\"",
                    kind(first_index, name, first_ty),
                    subgraphs[first_index].name,
                    kind(other_index, name, other_ty),
                    subgraphs[other_index].name,
                );
                let locations = [(first_index, first_ty), (other_index, other_ty)]
                    .map(|(index, ty)| subgraphs[index].location(ty.location()));
                self.errors
                    .push(CompositionError::new(code::TYPE_KIND_MISMATCH, message).at(locations));
                return false;
            }
            let interface_objects = sources
                .iter()
                .filter(|(index, _)| subgraphs[*index].meta.is_interface_object(name))
                .count();
            if interface_objects > 0 && !sources.iter().any(|(_, ty)| ty.is_interface()) {
                let names: Vec<&str> = sources
                    .iter()
                    .map(|(index, _)| subgraphs[*index].name.as_str())
                    .collect();
                let message = format!(
                    "Type \"{name}\" is declared with @interfaceObject in all the subgraphs in which it is defined (it is defined in {} but should be defined as an interface in at least one subgraph)",
                    subgraph_list(&names)
                );
                let locations: Vec<_> = sources
                    .iter()
                    .map(|(index, ty)| subgraphs[*index].location(ty.location()))
                    .collect();
                self.errors.push(
                    CompositionError::new(code::INTERFACE_OBJECT_USAGE_ERROR, message)
                        .at(locations),
                );
                return false;
            }
            true
        });
        types
    }

    /// `@join__type(graph:)` for types without keys (all but objects and interfaces).
    fn join_types(&self, sources: &Sources<'_>) -> Vec<Node<ast::Directive>> {
        sources
            .iter()
            .map(|(index, _)| directive("join__type", vec![("graph", self.graph(*index))]))
            .collect()
    }

    fn graph(&self, index: usize) -> ast::Value {
        ast::Value::Enum(self.graph_values[index].clone())
    }

    /// Directives carried from subgraph elements into the supergraph: `@inaccessible`
    /// apart (Apollo writes it right after `@join__type` on types and before `@join__field`
    /// or `@join__enumValue` on fields and values), then the other composed spec directives
    /// (`@tag`, access control, demand control, `@context`), the directives subgraphs name
    /// in `@composeDirective` (from every subgraph once one composing subgraph applies it
    /// to the element), and `@deprecated`, `@specifiedBy`, `@oneOf`, in the order their names first appear. Repeatable ones keep
    /// every distinct application; others merge by their spec's strategy.
    fn carried<'d>(
        &mut self,
        applications: impl IntoIterator<Item = (usize, &'d ast::Directive)>,
    ) -> Carried {
        // By supergraph name, in order of first appearance: (repeatable, strategy,
        // distinct applications with how many subgraphs used each).
        type Group = (Name, bool, Strategy, Vec<(Node<ast::Directive>, usize)>);
        let mut groups: Vec<Group> = Vec::new();
        let mut inaccessible = false;
        let applications: Vec<(usize, &ast::Directive)> = applications.into_iter().collect();
        // Like Apollo: a composed directive applied here by a subgraph that composes it
        // brings along its applications from every subgraph.
        let composed_here: HashSet<Name> = applications
            .iter()
            .filter(|(index, a)| self.composed_directives.composes(*index, &a.name))
            .map(|(_, a)| a.name.clone())
            .collect();
        for (index, application) in applications.iter().copied() {
            let subgraph = &self.subgraphs[index];
            let (name, repeatable, strategy, mut carried) = match subgraph
                .fed
                .spec_directive(&application.name)
            {
                Some("inaccessible") => {
                    inaccessible = true;
                    self.spec_names
                        .entry("inaccessible")
                        .or_insert_with(|| Name::new_unchecked("inaccessible"));
                    continue;
                }
                Some(spec_name) => {
                    let Some((spec, definition)) = specs::composed(spec_name) else {
                        continue;
                    };
                    let name = self.supergraph_directive_name(spec, definition, &application.name);
                    (
                        name,
                        definition.repeatable,
                        definition.strategy,
                        application.clone(),
                    )
                }
                None if ["deprecated", "specifiedBy", "oneOf"]
                    .contains(&application.name.as_str()) =>
                {
                    self.uses_one_of |= application.name == "oneOf";
                    (
                        application.name.clone(),
                        false,
                        Strategy::MostCommon,
                        application.clone(),
                    )
                }
                None if composed_here.contains(&application.name) => {
                    let Some(definition) = self.composed_directives.definition(&application.name)
                    else {
                        continue;
                    };
                    (
                        definition.name.clone(),
                        definition.repeatable,
                        Strategy::MostCommon,
                        application.clone(),
                    )
                }
                None => continue,
            };
            carried.name = name.clone();
            if subgraph.fed.spec_directive(&application.name) == Some("context") {
                // Context names are per subgraph: the supergraph qualifies them.
                for argument in &mut carried.arguments {
                    if argument.name == "name"
                        && let Some(value) = argument.value.as_str()
                    {
                        let qualified = format!("{}__{value}", subgraph.name);
                        argument.make_mut().value = Node::new(ast::Value::String(qualified));
                    }
                }
            }
            let carried = Node::new(carried);
            match groups.iter_mut().find(|g| g.0 == name) {
                Some((_, _, _, applications)) => {
                    match applications
                        .iter_mut()
                        .find(|(a, _)| same_application(a, &carried))
                    {
                        Some((_, count)) => *count += 1,
                        None => applications.push((carried, 1)),
                    }
                }
                None => groups.push((name, repeatable, strategy, vec![(carried, 1)])),
            }
        }
        let mut rest = Vec::new();
        for (name, repeatable, strategy, applications) in groups {
            if repeatable {
                rest.extend(applications.into_iter().map(|(a, _)| a));
            } else {
                rest.push(specs::merge_applications(&name, strategy, &applications));
            }
        }
        Carried {
            inaccessible: inaccessible.then(|| directive("inaccessible", Vec::new())),
            rest,
        }
    }

    /// The name a composed spec directive has in the supergraph: what the first subgraph
    /// using it calls it if it imported it, else the spec's own (`@tag`) or prefixed
    /// (`@cost__listSize`) name.
    fn supergraph_directive_name(
        &mut self,
        spec: &'static specs::Spec,
        definition: &'static specs::SpecDirective,
        local: &Name,
    ) -> Name {
        if let Some(name) = self.spec_names.get(definition.name) {
            return name.clone();
        }
        let imported = !local.starts_with("federation__");
        let name = if imported {
            local.clone()
        } else if definition.name == spec.name {
            Name::new_unchecked(spec.name)
        } else {
            Name::new_unchecked(&format!("{}__{}", spec.name, definition.name))
        };
        self.spec_names.insert(definition.name, name.clone());
        name
    }

    fn error(
        &mut self,
        code: &'static str,
        message: String,
        locations: Vec<Option<super::error::SourceLocation>>,
    ) {
        self.errors
            .push(CompositionError::new(code, message).at(locations));
    }

    /// After merging: every field of an interface must exist on its implementations.
    fn check_interface_implementations(
        &mut self,
        definitions: &[ast::Definition],
        types: &IndexMap<Name, Sources<'a>>,
    ) {
        let interface_fields: HashMap<&Name, &Vec<Node<ast::FieldDefinition>>> = definitions
            .iter()
            .filter_map(|d| match d {
                ast::Definition::InterfaceTypeDefinition(i) => Some((&i.name, &i.fields)),
                _ => None,
            })
            .collect();
        let mut missing = Vec::new();
        for definition in definitions {
            let (name, implements, fields) = match definition {
                ast::Definition::ObjectTypeDefinition(o) => {
                    (&o.name, &o.implements_interfaces, &o.fields)
                }
                ast::Definition::InterfaceTypeDefinition(i) => {
                    (&i.name, &i.implements_interfaces, &i.fields)
                }
                _ => continue,
            };
            for interface in implements {
                let Some(required) = interface_fields.get(interface) else {
                    continue;
                };
                for field in required.iter() {
                    if fields.iter().any(|f| f.name == field.name) {
                        continue;
                    }
                    let declared_in = self.subgraphs_with_field(types, interface, &field.name);
                    let implemented_in = self.subgraphs_implementing(types, name, interface);
                    missing.push(format!(
                        "Interface field \"{interface}.{}\" is declared in {} but type \"{name}\", which implements \"{interface}\" only in {}, does not have field \"{}\".",
                        field.name,
                        subgraph_list(&declared_in),
                        subgraph_list(&implemented_in),
                        field.name,
                    ));
                }
            }
        }
        for message in missing {
            self.error(code::INTERFACE_FIELD_NO_IMPLEM, message, Vec::new());
        }
    }

    fn subgraphs_with_field(
        &self,
        types: &IndexMap<Name, Sources<'a>>,
        type_name: &Name,
        field_name: &Name,
    ) -> Vec<String> {
        types
            .get(type_name)
            .map(|sources| {
                sources
                    .iter()
                    .filter(|(_, ty)| match ty {
                        ExtendedType::Interface(i) => i.fields.contains_key(field_name),
                        ExtendedType::Object(o) => o.fields.contains_key(field_name),
                        _ => false,
                    })
                    .map(|(index, _)| self.subgraph_name(*index).to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn subgraphs_implementing(
        &self,
        types: &IndexMap<Name, Sources<'a>>,
        type_name: &Name,
        interface: &Name,
    ) -> Vec<String> {
        types
            .get(type_name)
            .map(|sources| {
                sources
                    .iter()
                    .filter(|(_, ty)| match ty {
                        ExtendedType::Interface(i) => i.implements_interfaces.contains(interface),
                        ExtendedType::Object(o) => o.implements_interfaces.contains(interface),
                        _ => false,
                    })
                    .map(|(index, _)| self.subgraph_name(*index).to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Same directive with the same arguments (in any order).
fn same_application(a: &ast::Directive, b: &ast::Directive) -> bool {
    a.name == b.name
        && a.arguments.len() == b.arguments.len()
        && a.arguments.iter().all(|x| {
            b.arguments
                .iter()
                .any(|y| y.name == x.name && y.value == x.value)
        })
}

fn kind_name_interface() -> &'static str {
    "Interface Type"
}

fn kind_name(ty: &ExtendedType) -> &'static str {
    match ty {
        ExtendedType::Scalar(_) => "Scalar Type",
        ExtendedType::Object(_) => "Object Type",
        ExtendedType::Interface(_) => "Interface Type",
        ExtendedType::Union(_) => "Union Type",
        ExtendedType::Enum(_) => "Enum Type",
        ExtendedType::InputObject(_) => "Input Object Type",
    }
}

/// A directive application; `name` and argument names are spec constants.
/// A directive application `@name(arguments…)`.
pub(super) fn directive(name: &str, arguments: Vec<(&str, ast::Value)>) -> Node<ast::Directive> {
    Node::new(ast::Directive {
        name: Name::new_unchecked(name),
        arguments: arguments
            .into_iter()
            .map(|(name, value)| {
                Node::new(ast::Argument {
                    name: Name::new_unchecked(name),
                    value: Node::new(value),
                })
            })
            .collect(),
    })
}

/// The description most subgraphs agree on (ties: the first subgraph's).
fn pick_description<'d>(
    descriptions: impl IntoIterator<Item = Option<&'d Node<str>>>,
) -> Option<Node<str>> {
    let mut counts: Vec<(&Node<str>, usize)> = Vec::new();
    for description in descriptions.into_iter().flatten() {
        if description.trim().is_empty() {
            continue;
        }
        match counts
            .iter_mut()
            .find(|(d, _)| d.as_str() == description.as_str())
        {
            Some((_, count)) => *count += 1,
            None => counts.push((description, 1)),
        }
    }
    let best = counts.iter().map(|(_, c)| *c).max()?;
    counts
        .into_iter()
        .find(|(_, c)| *c == best)
        .map(|(d, _)| d.clone())
}

/// `"a"`, `"a" and "b"`, `"a", "b" and "c"`, prefixed with subgraph/subgraphs.
fn subgraph_list(names: &[impl AsRef<str>]) -> String {
    let quoted: Vec<String> = names
        .iter()
        .map(|n| format!("\"{}\"", n.as_ref()))
        .collect();
    match quoted.as_slice() {
        [] => "no subgraph".to_string(),
        [one] => format!("subgraph {one}"),
        [init @ .., last] => format!("subgraphs {} and {last}", init.join(", ")),
    }
}

/// Subgraph directives a supergraph element carries (see [`Merger::carried`]).
pub(super) struct Carried {
    pub inaccessible: Option<Node<ast::Directive>>,
    pub rest: Vec<Node<ast::Directive>>,
}

impl Carried {
    /// `before`, then `@inaccessible`, then `after`, then the rest.
    pub fn around(
        self,
        before: Vec<Node<ast::Directive>>,
        after: Vec<Node<ast::Directive>>,
    ) -> Vec<Node<ast::Directive>> {
        let mut out = before;
        out.extend(self.inaccessible);
        out.extend(after);
        out.extend(self.rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subgraph_lists_read_naturally() {
        assert_eq!(subgraph_list(&["a"]), "subgraph \"a\"");
        assert_eq!(subgraph_list(&["a", "b"]), "subgraphs \"a\" and \"b\"");
        assert_eq!(
            subgraph_list(&["a", "b", "c"]),
            "subgraphs \"a\", \"b\" and \"c\""
        );
    }

    #[test]
    fn most_common_description_wins() {
        let a: Node<str> = Node::new_str("A");
        let b: Node<str> = Node::new_str("B");
        let picked = pick_description([Some(&a), Some(&b), Some(&b), None]);
        assert_eq!(picked.as_deref(), Some("B"));
        assert_eq!(pick_description([Some(&a), Some(&b)]).as_deref(), Some("A"));
        assert_eq!(pick_description([None]), None);
    }
}
