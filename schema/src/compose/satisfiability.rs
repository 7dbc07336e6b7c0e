//! The satisfiability check (`SATISFIABILITY_ERROR`): every field of the API schema can be
//! reached from a root by some query plan.
//!
//! The walk mirrors what a planner can do. A *state* is the set of places a query path can be
//! at: subgraphs that hold the current object, with what a `@provides` on the way made
//! available there. Following a field keeps the subgraphs that resolve it, after any number
//! of entity jumps (a resolvable `@key` of the target subgraph whose fields the current
//! subgraph can produce by itself). Abstract types are walked through each possible runtime
//! type a subgraph can return. A field no subgraph of the state can resolve is an error,
//! reported with an example query, as `@apollo/composition` does. States are memoized, so
//! the walk ends on recursive schemas.

use super::error::{CompositionError, code};
use crate::field_set::Selection;
use crate::supergraph::{GraphId, Supergraph};
use apollo_compiler::Name;
use apollo_compiler::ast::{OperationType, Type};
use apollo_compiler::schema::{ExtendedType, FieldDefinition};
use std::collections::HashSet;

/// A walk larger than this is not finished (the check then reports nothing more); real
/// schemas stay far below it.
const MAX_STATES: usize = 200_000;
/// Nesting of `@requires` inside `@requires` checks.
const MAX_REQUIRES_DEPTH: usize = 8;

/// Every unsatisfiable path of `supergraph`'s API schema, one error each.
pub(crate) fn check(supergraph: &Supergraph) -> Vec<CompositionError> {
    let mut checker = Checker {
        supergraph,
        provided: Vec::new(),
        visited: HashSet::new(),
        errors: Vec::new(),
    };
    let api = supergraph.api_schema();
    for operation in [
        OperationType::Query,
        OperationType::Mutation,
        OperationType::Subscription,
    ] {
        let Some(root) = api.root_operation(operation) else {
            continue;
        };
        let state: Vec<Position> = supergraph
            .type_graphs(root)
            .iter()
            .map(|t| Position {
                graph: t.graph,
                provided: None,
            })
            .collect();
        let mut path = Path {
            operation,
            steps: Vec::new(),
        };
        checker.visit(root, state, &mut path);
    }
    checker.errors
}

/// One place a path can be at: a subgraph, and the selections a `@provides` made
/// resolvable there (an index into [`Checker::provided`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Position {
    graph: GraphId,
    provided: Option<usize>,
}

#[derive(Debug, Clone)]
enum Step {
    Field { name: Name, arguments: String },
    Fragment(Name),
}

struct Path {
    operation: OperationType,
    steps: Vec<Step>,
}

struct Checker<'s> {
    supergraph: &'s Supergraph,
    /// Interned `@provides` selections.
    provided: Vec<Vec<Selection>>,
    visited: HashSet<(Name, Vec<Position>)>,
    errors: Vec<CompositionError>,
}

/// Why a field cannot be followed from one subgraph of a state.
struct Failure {
    graph: GraphId,
    reasons: Vec<String>,
}

impl<'s> Checker<'s> {
    fn graph_name(&self, graph: GraphId) -> &'s str {
        self.supergraph
            .graph(graph)
            .map(|g| g.name.as_str())
            .unwrap_or("?")
    }

    fn intern(&mut self, selections: &[Selection]) -> usize {
        if let Some(index) = self
            .provided
            .iter()
            .position(|p| p.as_slice() == selections)
        {
            return index;
        }
        self.provided.push(selections.to_vec());
        self.provided.len() - 1
    }

    fn visit(&mut self, type_name: &Name, mut state: Vec<Position>, path: &mut Path) {
        state.sort_unstable();
        state.dedup();
        if self.visited.len() >= MAX_STATES
            || !self.visited.insert((type_name.clone(), state.clone()))
        {
            return;
        }
        let api = self.supergraph.api_schema();
        let Some(ty) = api.types.get(type_name) else {
            return;
        };
        match ty {
            ExtendedType::Object(object) => {
                for field in object.fields.values() {
                    self.step(type_name, field, &state, path);
                }
            }
            ExtendedType::Interface(interface) => {
                for field in interface.fields.values() {
                    self.step(type_name, field, &state, path);
                }
                self.downcasts(type_name, &state, path);
            }
            ExtendedType::Union(_) => self.downcasts(type_name, &state, path),
            _ => {}
        }
    }

    fn downcasts(&mut self, abstract_type: &Name, state: &[Position], path: &mut Path) {
        let runtime_types = self.supergraph.possible_types(abstract_type).to_vec();
        for object in runtime_types {
            let narrowed = self.downcast(abstract_type, &object, state);
            if narrowed.is_empty() {
                // No subgraph here can return that type: the fragment never applies.
                continue;
            }
            path.steps.push(Step::Fragment(object.clone()));
            self.visit(&object, narrowed, path);
            path.steps.pop();
        }
    }

    /// The places of `state` (after entity jumps) whose subgraph can return `object` for
    /// `abstract_type`.
    fn downcast(
        &mut self,
        abstract_type: &Name,
        object: &Name,
        state: &[Position],
    ) -> Vec<Position> {
        let closure = self.closure(abstract_type, state);
        closure
            .into_iter()
            .filter(|position| {
                let graph = position.graph;
                self.supergraph
                    .implementations_in(abstract_type, graph)
                    .contains(object)
                    || self
                        .supergraph
                        .union_members_in(abstract_type, graph)
                        .contains(object)
            })
            .collect()
    }

    fn step(
        &mut self,
        type_name: &Name,
        field: &FieldDefinition,
        state: &[Position],
        path: &mut Path,
    ) {
        path.steps.push(Step::Field {
            name: field.name.clone(),
            arguments: example_arguments(self.supergraph, field),
        });
        match self.follow(type_name, &field.name, state, 0) {
            Ok(next) => {
                let inner = field.ty.inner_named_type();
                let ty = self.supergraph.api_schema().types.get(inner);
                if ty.is_some_and(|t| t.is_interface() || t.is_union()) {
                    self.check_shared_runtime_types(type_name, field, &next, path);
                }
                if ty.is_some_and(|t| t.is_object() || t.is_interface() || t.is_union()) {
                    self.visit(inner, next, path);
                }
            }
            Err(failures) => self.report(type_name, &field.name, path, failures),
        }
        path.steps.pop();
    }

    /// A field of abstract type resolved by several subgraphs must be able to return a
    /// common runtime type in all of them (`SHAREABLE_HAS_MISMATCHED_RUNTIME_TYPES`).
    fn check_shared_runtime_types(
        &mut self,
        type_name: &Name,
        field: &FieldDefinition,
        reached: &[Position],
        path: &Path,
    ) {
        if self.supergraph.field_graphs(type_name, &field.name).len() < 2 {
            return;
        }
        let abstract_type = field.ty.inner_named_type();
        let mut graphs: Vec<GraphId> = reached.iter().map(|p| p.graph).collect();
        graphs.sort_unstable();
        graphs.dedup();
        if graphs.len() < 2 {
            return;
        }
        // The field's type in each subgraph (it may be an object type in some).
        let in_graph: Vec<(GraphId, Name)> = graphs
            .iter()
            .map(|graph| {
                let ty = self
                    .supergraph
                    .field_graphs(type_name, &field.name)
                    .iter()
                    .find(|f| f.graph == *graph)
                    .and_then(|f| f.subgraph_type.as_ref())
                    .map(|t| t.inner_named_type().clone())
                    .unwrap_or_else(|| abstract_type.clone());
                (*graph, ty)
            })
            .collect();
        let is_abstract = |name: &Name| {
            self.supergraph
                .schema()
                .types
                .get(name)
                .is_some_and(|t| t.is_interface() || t.is_union())
        };
        if in_graph.iter().filter(|(_, ty)| is_abstract(ty)).count() < 2 {
            return;
        }
        let all_runtime_types = self.supergraph.possible_types(abstract_type).to_vec();
        let mut intersection = all_runtime_types.clone();
        let mut described: Vec<(String, Vec<&str>)> = Vec::new();
        let mut all_empty = true;
        for (graph, ty) in in_graph {
            if self.supergraph.is_interface_object(&ty, graph) {
                // It stands for every implementation.
                continue;
            }
            let mut types: Vec<Name> = if is_abstract(&ty) {
                self.supergraph
                    .implementations_in(&ty, graph)
                    .iter()
                    .chain(self.supergraph.union_members_in(&ty, graph))
                    .cloned()
                    .collect()
            } else {
                vec![ty.clone()]
            };
            types.sort_unstable();
            types.dedup();
            intersection.retain(|t| types.contains(t));
            let text = if types.is_empty() {
                "no runtime type is defined".to_string()
            } else {
                all_empty = false;
                let quoted: Vec<String> = types.iter().map(|t| format!("\"{t}\"")).collect();
                format!(
                    "{} {}",
                    if types.len() > 1 { "types" } else { "type" },
                    quoted.join(", ")
                )
            };
            let name = self.graph_name(graph);
            match described.iter_mut().find(|(t, _)| *t == text) {
                Some((_, names)) => names.push(name),
                None => described.push((text, vec![name])),
            }
        }
        if all_empty || !intersection.is_empty() {
            return;
        }
        let lines: Vec<String> = described
            .iter()
            .map(|(types, names)| {
                let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
                let prefix = if names.len() > 1 {
                    "subgraphs"
                } else {
                    "subgraph"
                };
                format!(" - in {prefix} {}, {types}", quoted.join(", "))
            })
            .collect();
        let mut witness = render_query(path);
        // The witness selects into the abstract field: `featured { ... }`.
        let depth = path.steps.len();
        let last = format!("{}{}\n", "  ".repeat(depth), last_line(path));
        let opened = format!(
            "{}{} {{\n{}...\n{}}}\n",
            "  ".repeat(depth),
            last_line(path),
            "  ".repeat(depth + 1),
            "  ".repeat(depth)
        );
        witness = witness.replacen(&last, &opened, 1);
        let message = format!(
            "For the following supergraph API query:\n{witness}\nShared field \"{type_name}.{}\" return type \"{}\" has a non-intersecting set of possible runtime types across subgraphs. Runtime types in subgraphs are:\n{}.\nThis is not allowed as shared fields must resolve the same way in all subgraphs, and that implies at least some common runtime types between the subgraphs.",
            field.name,
            field.ty,
            lines.join(";\n")
        );
        self.errors.push(CompositionError::new(
            code::SHAREABLE_HAS_MISMATCHED_RUNTIME_TYPES,
            message,
        ));
    }

    /// The places reached by selecting `type_name.field_name` from `state`, or why no
    /// subgraph can resolve it.
    fn follow(
        &mut self,
        type_name: &Name,
        field_name: &Name,
        state: &[Position],
        depth: usize,
    ) -> Result<Vec<Position>, Vec<Failure>> {
        let closure = self.closure(type_name, state);
        let mut next = Vec::new();
        for position in &closure {
            if let Some(reached) = self.resolve(type_name, field_name, *position, depth) {
                next.extend(reached);
            }
        }
        if next.is_empty() {
            Err(state
                .iter()
                .map(|p| self.explain(type_name, field_name, *p, depth))
                .collect())
        } else {
            Ok(next)
        }
    }

    /// Selecting the field in the position's own subgraph: where that leads, if it can.
    fn resolve(
        &mut self,
        type_name: &Name,
        field_name: &Name,
        position: Position,
        depth: usize,
    ) -> Option<Vec<Position>> {
        if field_name.starts_with("__") {
            return Some(vec![position]);
        }
        let graph = position.graph;
        if let Some(in_graph) = self
            .supergraph
            .field_graphs(type_name, field_name)
            .iter()
            .find(|f| f.graph == graph)
        {
            if let Some(requires) = in_graph.requires.clone()
                && !self.can_collect(
                    type_name,
                    requires.selections(),
                    &[Position {
                        graph,
                        provided: None,
                    }],
                    depth + 1,
                )
            {
                return None;
            }
            let provided = in_graph.provides.as_ref().map(|p| p.selections().to_vec());
            let provided = provided.map(|p| self.intern(&p));
            return Some(vec![Position { graph, provided }]);
        }
        // An @external field that a @provides on the way made resolvable here.
        if let Some(provided) = self.provided_field(position, field_name) {
            let provided = (!provided.is_empty()).then(|| self.intern(&provided));
            return Some(vec![Position { graph, provided }]);
        }
        // An object reached in an @interfaceObject subgraph: that subgraph resolves the
        // fields of the interface.
        if !self.supergraph.subgraph_type_exists(type_name, graph) {
            let interfaces = self.interface_objects_in(type_name, graph);
            for interface in interfaces {
                if let Some(reached) = self.resolve(
                    &interface,
                    field_name,
                    Position {
                        graph,
                        provided: None,
                    },
                    depth,
                ) {
                    return Some(reached);
                }
            }
            return None;
        }
        // An interface field this subgraph's interface lacks: each implementation it can
        // return must resolve it (possibly elsewhere).
        let is_interface = self
            .supergraph
            .api_schema()
            .types
            .get(type_name)
            .is_some_and(|t| t.is_interface())
            && !self.supergraph.is_interface_object(type_name, graph);
        if is_interface {
            let implementations = self
                .supergraph
                .implementations_in(type_name, graph)
                .to_vec();
            if implementations.is_empty() {
                return None;
            }
            let mut reached = Vec::new();
            for object in implementations {
                let at = [Position {
                    graph,
                    provided: position.provided,
                }];
                reached.extend(self.follow(&object, field_name, &at, depth).ok()?);
            }
            return Some(reached);
        }
        None
    }

    /// Interfaces of `object` that `graph` has as an `@interfaceObject`.
    fn interface_objects_in(&self, object: &Name, graph: GraphId) -> Vec<Name> {
        let Some(ExtendedType::Object(definition)) = self.supergraph.schema().types.get(object)
        else {
            return Vec::new();
        };
        definition
            .implements_interfaces
            .iter()
            .filter(|i| self.supergraph.is_interface_object(i, graph))
            .map(|i| i.name.clone())
            .collect()
    }

    /// The sub-selections of `field_name` in the position's provided selections, if the
    /// field is provided there (looking through inline fragments).
    fn provided_field(&self, position: Position, field_name: &Name) -> Option<Vec<Selection>> {
        fn find(selections: &[Selection], name: &Name) -> Option<Vec<Selection>> {
            selections.iter().find_map(|s| match s {
                Selection::Field(f) if f.name == *name => Some(f.selections.clone()),
                Selection::Field(_) => None,
                Selection::InlineFragment(fragment) => find(&fragment.selections, name),
            })
        }
        find(&self.provided[position.provided?], field_name)
    }

    /// `state` and every place reachable from it by entity jumps.
    fn closure(&mut self, type_name: &Name, state: &[Position]) -> Vec<Position> {
        let mut out: Vec<Position> = state.to_vec();
        let mut index = 0;
        // Targets: the type's own subgraphs, and @interfaceObject subgraphs of its interfaces
        // (keyed by the interface's key).
        let mut targets: Vec<(GraphId, Vec<crate::supergraph::Key>)> = self
            .supergraph
            .type_graphs(type_name)
            .iter()
            .map(|t| (t.graph, t.keys.clone()))
            .collect();
        if let Some(ExtendedType::Object(object)) = self.supergraph.schema().types.get(type_name) {
            for interface in &object.implements_interfaces {
                for t in self.supergraph.type_graphs(interface) {
                    if t.is_interface_object && !targets.iter().any(|(g, _)| *g == t.graph) {
                        targets.push((t.graph, t.keys.clone()));
                    }
                }
            }
        }
        while index < out.len() {
            let from = out[index];
            index += 1;
            for (graph, keys) in &targets {
                if out
                    .iter()
                    .any(|p| p.graph == *graph && p.provided.is_none())
                {
                    continue;
                }
                let reachable = keys.iter().any(|key| {
                    key.resolvable && self.key_available(type_name, key.fields.selections(), from)
                });
                if reachable {
                    out.push(Position {
                        graph: *graph,
                        provided: None,
                    });
                }
            }
        }
        out
    }

    /// Whether the position's subgraph can produce the key `selections` by itself.
    fn key_available(
        &mut self,
        type_name: &Name,
        selections: &[Selection],
        from: Position,
    ) -> bool {
        selections.iter().all(|selection| match selection {
            Selection::Field(field) => {
                let Some(reached) = self.resolve_local_key_field(type_name, &field.name, from)
                else {
                    return false;
                };
                if field.selections.is_empty() {
                    return true;
                }
                let Some(inner) = self.field_type(type_name, &field.name) else {
                    return false;
                };
                reached
                    .into_iter()
                    .any(|p| self.key_available(&inner, &field.selections, p))
            }
            Selection::InlineFragment(fragment) => {
                let target = fragment.type_condition.clone().unwrap_or(type_name.clone());
                self.key_available(&target, &fragment.selections, from)
            }
        })
    }

    /// A key field selected in the position's subgraph, without `@requires` (keys never
    /// need them).
    fn resolve_local_key_field(
        &mut self,
        type_name: &Name,
        field_name: &Name,
        position: Position,
    ) -> Option<Vec<Position>> {
        if field_name.starts_with("__") {
            return Some(vec![position]);
        }
        let graph = position.graph;
        if self
            .supergraph
            .field_graphs(type_name, field_name)
            .iter()
            .any(|f| f.graph == graph && f.requires.is_none())
            || self
                .supergraph
                .field(type_name, field_name)
                .is_some_and(|f| f.used_overridden_in.contains(&graph))
        {
            return Some(vec![Position {
                graph,
                provided: None,
            }]);
        }
        if let Some(provided) = self.provided_field(position, field_name) {
            let provided = (!provided.is_empty()).then(|| self.intern(&provided));
            return Some(vec![Position { graph, provided }]);
        }
        if !self.supergraph.subgraph_type_exists(type_name, graph) {
            for interface in self.interface_objects_in(type_name, graph) {
                if let Some(reached) =
                    self.resolve_local_key_field(&interface, field_name, position)
                {
                    return Some(reached);
                }
            }
        }
        None
    }

    /// Whether `selections` on `type_name` can be fetched starting from `state`, with any
    /// jumps (the conditions of `@requires`).
    fn can_collect(
        &mut self,
        type_name: &Name,
        selections: &[Selection],
        state: &[Position],
        depth: usize,
    ) -> bool {
        if depth > MAX_REQUIRES_DEPTH {
            return true;
        }
        selections.iter().all(|selection| match selection {
            Selection::Field(field) => {
                let Ok(next) = self.follow(type_name, &field.name, state, depth) else {
                    return false;
                };
                if field.selections.is_empty() {
                    return true;
                }
                let Some(inner) = self.field_type(type_name, &field.name) else {
                    return false;
                };
                self.can_collect(&inner, &field.selections, &next, depth)
            }
            Selection::InlineFragment(fragment) => match &fragment.type_condition {
                Some(object) if object != type_name => {
                    let narrowed = self.downcast(type_name, object, state);
                    narrowed.is_empty()
                        || self.can_collect(object, &fragment.selections, &narrowed, depth)
                }
                _ => self.can_collect(type_name, &fragment.selections, state, depth),
            },
        })
    }

    /// The named type of `type_name.field_name` in the supergraph.
    fn field_type(&self, type_name: &Name, field_name: &Name) -> Option<Name> {
        let schema = self.supergraph.schema();
        let field = schema.type_field(type_name, field_name).ok()?;
        Some(field.ty.inner_named_type().clone())
    }

    /// Why `position`'s subgraph cannot resolve the field, in @apollo/composition's words.
    fn explain(
        &mut self,
        type_name: &Name,
        field_name: &Name,
        position: Position,
        depth: usize,
    ) -> Failure {
        let graph = position.graph;
        let coordinate = format!("{type_name}.{field_name}");
        let field = self.supergraph.field(type_name, field_name);
        if field.is_some_and(|f| f.external_in.contains(&graph)) {
            return Failure {
                graph,
                reasons: vec![format!(
                    "field \"{coordinate}\" is not resolvable because marked @external."
                )],
            };
        }
        if self
            .supergraph
            .field_graphs(type_name, field_name)
            .iter()
            .any(|f| f.graph == graph)
        {
            let _ = depth;
            return Failure {
                graph,
                reasons: vec![format!(
                    "cannot satisfy @require conditions on field \"{coordinate}\"."
                )],
            };
        }
        let mut reasons = vec![format!("cannot find field \"{coordinate}\".")];
        let holders: Vec<GraphId> = self
            .supergraph
            .field_graphs(type_name, field_name)
            .iter()
            .map(|f| f.graph)
            .filter(|g| *g != graph)
            .collect();
        for target in holders {
            let target_name = self.graph_name(target);
            let keys = self.supergraph.keys(type_name, target).to_vec();
            if keys.is_empty() {
                reasons.push(format!(
                    "cannot move to subgraph \"{target_name}\", which has field \"{coordinate}\", because type \"{type_name}\" has no @key defined in subgraph \"{target_name}\"."
                ));
            } else if keys.iter().all(|k| !k.resolvable) {
                reasons.push(format!(
                    "cannot move to subgraph \"{target_name}\", which has field \"{coordinate}\", because none of the @key defined on type \"{type_name}\" in subgraph \"{target_name}\" are resolvable (they are all declared with their \"resolvable\" argument set to false)."
                ));
            } else {
                for key in keys.iter().filter(|k| k.resolvable) {
                    if !self.key_available(type_name, key.fields.selections(), position) {
                        reasons.push(format!(
                            "cannot move to subgraph \"{target_name}\" using @key(fields: \"{}\") of \"{type_name}\", the key field(s) cannot be resolved from subgraph \"{}\".",
                            key.fields.as_str(),
                            self.graph_name(graph)
                        ));
                    }
                }
            }
        }
        Failure { graph, reasons }
    }

    fn report(
        &mut self,
        _type_name: &Name,
        _field_name: &Name,
        path: &Path,
        failures: Vec<Failure>,
    ) {
        let mut message = format!(
            "The following supergraph API query:\n{}\ncannot be satisfied by the subgraphs because:",
            render_query(path)
        );
        for failure in failures {
            let name = self.graph_name(failure.graph);
            match failure.reasons.as_slice() {
                [one] => message.push_str(&format!("\n- from subgraph \"{name}\": {one}")),
                many => {
                    message.push_str(&format!("\n- from subgraph \"{name}\":"));
                    for reason in many {
                        message.push_str(&format!("\n  - {reason}"));
                    }
                }
            }
        }
        self.errors
            .push(CompositionError::new(code::SATISFIABILITY_ERROR, message));
    }
}

/// The example query of an error, indented like a printed operation.
fn render_query(path: &Path) -> String {
    let mut out = match path.operation {
        OperationType::Query => String::from("{\n"),
        OperationType::Mutation => String::from("mutation {\n"),
        OperationType::Subscription => String::from("subscription {\n"),
    };
    let depth = path.steps.len();
    for (level, step) in path.steps.iter().enumerate() {
        let indent = "  ".repeat(level + 1);
        let line = match step {
            Step::Field { name, arguments } => format!("{name}{arguments}"),
            Step::Fragment(object) => format!("... on {object}"),
        };
        if level + 1 == depth {
            out.push_str(&format!("{indent}{line}\n"));
        } else {
            out.push_str(&format!("{indent}{line} {{\n"));
        }
    }
    for level in (0..depth.saturating_sub(1)).rev() {
        out.push_str(&format!("{}}}\n", "  ".repeat(level + 1)));
    }
    out.push('}');
    out
}

/// The last step of `path` as rendered in a query.
fn last_line(path: &Path) -> String {
    match path.steps.last() {
        Some(Step::Field { name, arguments }) => format!("{name}{arguments}"),
        Some(Step::Fragment(object)) => format!("... on {object}"),
        None => String::new(),
    }
}

/// `(arg: value, …)` for the field's required arguments, with example values.
fn example_arguments(supergraph: &Supergraph, field: &FieldDefinition) -> String {
    let required: Vec<String> = field
        .arguments
        .iter()
        .filter(|a| a.ty.is_non_null() && a.default_value.is_none())
        .map(|a| format!("{}: {}", a.name, example_value(supergraph, &a.ty, 0)))
        .collect();
    if required.is_empty() {
        String::new()
    } else {
        format!("({})", required.join(", "))
    }
}

fn example_value(supergraph: &Supergraph, ty: &Type, depth: usize) -> String {
    match ty {
        Type::List(inner) | Type::NonNullList(inner) => {
            format!("[{}]", example_value(supergraph, inner, depth))
        }
        Type::Named(name) | Type::NonNullNamed(name) => match name.as_str() {
            "String" | "ID" => "\"A string value\"".to_string(),
            "Int" => "0".to_string(),
            "Float" => "3.14".to_string(),
            "Boolean" => "true".to_string(),
            _ => match supergraph.api_schema().types.get(name) {
                Some(ExtendedType::Enum(e)) => e
                    .values
                    .keys()
                    .next()
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                Some(ExtendedType::InputObject(input)) if depth < 4 => {
                    let fields: Vec<String> = input
                        .fields
                        .values()
                        .filter(|f| f.ty.is_non_null() && f.default_value.is_none())
                        .map(|f| {
                            format!(
                                "{}: {}",
                                f.name,
                                example_value(supergraph, &f.ty, depth + 1)
                            )
                        })
                        .collect();
                    format!("{{{}}}", fields.join(", "))
                }
                _ => "\"A string value\"".to_string(),
            },
        },
    }
}
