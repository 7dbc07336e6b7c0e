//! The planner: walks the normalised operation and assigns every field to a fetch
//! group: a root fetch, or an `_entities` fetch to some subgraph at some response path.
//!
//! A field goes into the group that fetched its parent object when that subgraph
//! resolves it (or it is `@provides`d there). Otherwise it jumps: an entity group for
//! the target subgraph at the same path, whose representations need the target's
//! `@key` fields and the field's `@requires` fields. Those are planned like any other
//! field in the parent's context (possibly jumping again), and the entity group depends
//! on every group that supplies them. Groups are keyed by (subgraph, path), so all
//! fields for one subgraph at one place share a fetch.
//!
//! Waves follow from dependency depth; requests to one subgraph in one wave are merged.

use super::selection::{Arena, KeyConflict, NodeId, RepField, merge_rep_fields};
use super::{
    Block, EntityFetch, EntityTarget, PathElement, QueryPlan, RequestKind, SubgraphRequest, Wave,
};
use crate::operation::{self, NormalizedOperation, OperationKind, Selection, Selections};
use apollo_compiler::ast::Type;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Node, executable::Argument, name};
use bytes::Bytes;
use indexmap::IndexMap;
use junction_schema::{FieldInGraph, GraphId, Selection as FieldSetSelection, Supergraph};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("cannot plan field `{type_name}.{field}` from subgraph `{from}`: {reason}")]
    Unreachable {
        type_name: String,
        field: String,
        from: String,
        reason: String,
    },
    #[error(
        "the response key `{0}` is used for a different field than the router needs in a subgraph request; choose another alias"
    )]
    KeyConflict(String),
    #[error("field `{type_name}.{field}` is not defined in the supergraph")]
    UnknownField { type_name: String, field: String },
    #[error("no subgraph resolves root field `{0}`")]
    NoRootGraph(String),
    #[error("the plan would depend on itself around `{0}`")]
    Cycle(String),
    #[error("subscriptions are not supported yet")]
    Subscription,
}

impl From<KeyConflict> for PlanError {
    fn from(conflict: KeyConflict) -> Self {
        PlanError::KeyConflict(conflict.response_key.to_string())
    }
}

/// Plans `operation` over `supergraph`.
pub fn build_plan(
    supergraph: &Supergraph,
    operation: &NormalizedOperation,
) -> Result<QueryPlan, PlanError> {
    if operation.kind == OperationKind::Subscription {
        return Err(PlanError::Subscription);
    }
    let mut planner = Planner {
        supergraph,
        arena: Arena::default(),
        groups: Vec::new(),
        entity_groups: HashMap::new(),
        blocks: 0,
    };
    planner.plan_root(operation)?;
    Ok(planner.into_plan(operation))
}

type GroupId = usize;

#[derive(Debug)]
struct Group {
    graph: GraphId,
    /// Where its data merges; empty for root fetches.
    path: Vec<PathElement>,
    root: NodeId,
    is_entity: bool,
    /// Representation fields per entity type (entity groups only).
    representations: IndexMap<Name, Vec<RepField>>,
    deps: BTreeSet<GroupId>,
    block: usize,
}

/// Where planning currently is: the group that fetches the object at `path`, the
/// selection node for that object in the group, and the object's type.
#[derive(Clone)]
struct Ctx<'s> {
    group: GroupId,
    node: NodeId,
    path: Vec<PathElement>,
    parent_type: Name,
    /// Fields `@provides` makes resolvable here, for the group's subgraph.
    provides: Option<&'s [FieldSetSelection]>,
}

struct Planner<'s> {
    supergraph: &'s Supergraph,
    arena: Arena,
    groups: Vec<Group>,
    entity_groups: HashMap<(usize, GraphId, Vec<PathElement>), GroupId>,
    blocks: usize,
}

/// How far `obtainable` looks for a chain of entity jumps to build a key.
const MAX_KEY_HOPS: usize = 2;

impl<'s> Planner<'s> {
    // ----- schema helpers -------------------------------------------------------

    fn schema_type(&self, name: &str) -> Option<&'s ExtendedType> {
        self.supergraph.schema().types.get(name)
    }

    fn is_abstract(&self, name: &str) -> bool {
        matches!(
            self.schema_type(name),
            Some(ExtendedType::Interface(_) | ExtendedType::Union(_))
        )
    }

    fn is_composite(&self, name: &str) -> bool {
        matches!(
            self.schema_type(name),
            Some(ExtendedType::Object(_) | ExtendedType::Interface(_) | ExtendedType::Union(_))
        )
    }

    fn field_type(&self, parent: &Name, field: &Name) -> Result<Type, PlanError> {
        self.supergraph
            .schema()
            .type_field(parent, field)
            .map(|f| f.ty.clone())
            .map_err(|_| PlanError::UnknownField {
                type_name: parent.to_string(),
                field: field.to_string(),
            })
    }

    fn possible_types(&self, name: &Name) -> Vec<Name> {
        match self.schema_type(name) {
            Some(ExtendedType::Object(_)) => vec![name.clone()],
            _ => self.supergraph.possible_types(name).to_vec(),
        }
    }

    fn graph_name(&self, graph: GraphId) -> String {
        self.supergraph
            .graph(graph)
            .map(|g| g.name.clone())
            .unwrap_or_else(|| graph.to_string())
    }

    /// The graphs that resolve `parent.field` for this plan. Progressive override
    /// labels count as inactive: the field stays with the graph it was taken from.
    fn resolvers(&self, parent: &str, field: &str) -> impl Iterator<Item = &'s FieldInGraph> {
        self.supergraph
            .field_graphs(parent, field)
            .iter()
            .filter(|f| !(f.override_from.is_some() && f.override_label.is_some()))
    }

    /// Whether `graph` resolves `parent.field` without a jump in this context, and
    /// the `@provides` selection that applies below it.
    fn local(
        &self,
        graph: GraphId,
        parent: &Name,
        field: &Name,
        provides: Option<&'s [FieldSetSelection]>,
    ) -> Option<Option<&'s [FieldSetSelection]>> {
        if let Some(provided) = provides.and_then(|p| find_provided(p, parent, field)) {
            return Some(Some(provided).filter(|p| !p.is_empty()));
        }
        let in_graph = self.resolvers(parent, field).find(|f| f.graph == graph)?;
        if in_graph.requires.is_some() {
            return None;
        }
        Some(in_graph.provides.as_ref().map(|p| p.selections()))
    }

    // ----- groups ---------------------------------------------------------------

    fn new_group(&mut self, graph: GraphId, path: Vec<PathElement>, is_entity: bool) -> GroupId {
        let root = self.arena.new_node();
        self.groups.push(Group {
            graph,
            path,
            root,
            is_entity,
            representations: IndexMap::new(),
            deps: BTreeSet::new(),
            block: self.blocks.saturating_sub(1),
        });
        self.groups.len() - 1
    }

    fn depends_on(&self, from: GroupId, target: GroupId) -> bool {
        let mut stack = vec![from];
        let mut seen = BTreeSet::new();
        while let Some(g) = stack.pop() {
            if g == target {
                return true;
            }
            if seen.insert(g) {
                stack.extend(self.groups[g].deps.iter().copied());
            }
        }
        false
    }

    fn add_dependency(&mut self, group: GroupId, on: GroupId) -> Result<(), PlanError> {
        if group == on {
            return Ok(());
        }
        if self.depends_on(on, group) {
            return Err(PlanError::Cycle(super::path_string(
                &self.groups[group].path,
            )));
        }
        self.groups[group].deps.insert(on);
        Ok(())
    }

    /// The entity group for `graph` at `path`, shared by every field that jumps there
    /// (unless sharing would make it depend on itself).
    fn entity_group(&mut self, graph: GraphId, path: &[PathElement], owner: GroupId) -> GroupId {
        let block = self.blocks.saturating_sub(1);
        let key = (block, graph, path.to_vec());
        if let Some(&existing) = self.entity_groups.get(&key)
            && !self.depends_on(owner, existing)
        {
            return existing;
        }
        let group = self.new_group(graph, path.to_vec(), true);
        self.entity_groups.insert(key, group);
        group
    }

    // ----- walking the operation ------------------------------------------------

    fn plan_root(&mut self, operation: &NormalizedOperation) -> Result<(), PlanError> {
        let mut root_fields = Vec::new();
        flatten_root(&operation.selections, &mut root_fields);
        let mut root_groups: Vec<GroupId> = Vec::new();
        if operation.kind == OperationKind::Query {
            self.blocks = 1;
        }
        for field in root_fields {
            if field.is_typename() || field.is_schema_introspection() {
                continue;
            }
            let candidates: Vec<GraphId> = self
                .resolvers(&operation.root_type, &field.name)
                .map(|f| f.graph)
                .collect();
            if candidates.is_empty() {
                return Err(PlanError::NoRootGraph(field.name.to_string()));
            }
            let group = match operation.kind {
                // Reads: one fetch per subgraph; a shared root field goes where a fetch
                // already is.
                OperationKind::Query | OperationKind::Subscription => {
                    match root_groups
                        .iter()
                        .copied()
                        .find(|g| candidates.contains(&self.groups[*g].graph))
                    {
                        Some(g) => g,
                        None => {
                            let g = self.new_group(candidates[0], Vec::new(), false);
                            root_groups.push(g);
                            g
                        }
                    }
                }
                // Writes run in order: consecutive fields for one subgraph share a
                // fetch, any other field starts a new block.
                OperationKind::Mutation => match root_groups.last() {
                    Some(&g) if candidates.contains(&self.groups[g].graph) => g,
                    _ => {
                        self.blocks += 1;
                        let g = self.new_group(candidates[0], Vec::new(), false);
                        root_groups.push(g);
                        g
                    }
                },
            };
            let ctx = Ctx {
                group,
                node: self.groups[group].root,
                path: Vec::new(),
                parent_type: operation.root_type.clone(),
                provides: None,
            };
            let base = field.ty.inner_named_type().clone();
            self.plan_field(
                &ctx,
                &field.response_key,
                &field.name,
                &field.arguments,
                &base,
                Some(&field.selections),
                &mut BTreeSet::new(),
            )?;
        }
        Ok(())
    }

    fn plan_selections(
        &mut self,
        ctx: &Ctx<'s>,
        selections: &Selections,
        placed: &mut BTreeSet<GroupId>,
    ) -> Result<(), PlanError> {
        for item in &selections.items {
            match item {
                Selection::Field(field) if field.is_typename() => {
                    if self.is_abstract(&ctx.parent_type) {
                        self.ensure_typename(ctx.node)?;
                    }
                    placed.insert(ctx.group);
                }
                Selection::Field(field) => {
                    let base = field.ty.inner_named_type().clone();
                    self.plan_field(
                        ctx,
                        &field.response_key,
                        &field.name,
                        &field.arguments,
                        &base,
                        Some(&field.selections),
                        placed,
                    )?;
                }
                Selection::Fragment(fragment) => self.plan_fragment(ctx, fragment, placed)?,
            }
        }
        Ok(())
    }

    fn plan_fragment(
        &mut self,
        ctx: &Ctx<'s>,
        fragment: &operation::Fragment,
        placed: &mut BTreeSet<GroupId>,
    ) -> Result<(), PlanError> {
        let condition = &fragment.type_condition;
        let parent = &ctx.parent_type;
        // A condition that always holds here adds nothing.
        if condition == parent || self.possible_types(condition).contains(parent) {
            return self.plan_selections(ctx, &fragment.selections, placed);
        }
        let graph = self.groups[ctx.group].graph;
        let parent_possible = self.possible_types(parent);
        let narrowed: Vec<Name> = if self.is_abstract(condition)
            && self.supergraph.subgraph_type_exists(condition, graph)
        {
            vec![condition.clone()]
        } else {
            // Split into the object types this subgraph can return here.
            self.possible_types(condition)
                .into_iter()
                .filter(|t| parent_possible.contains(t))
                .filter(|t| self.supergraph.subgraph_type_exists(t, graph))
                .collect()
        };
        for type_name in narrowed {
            let node = self.arena.ensure_fragment(ctx.node, &type_name);
            let mut path = ctx.path.clone();
            path.push(PathElement::TypeCondition(type_name.clone()));
            let inner = Ctx {
                group: ctx.group,
                node,
                path,
                parent_type: type_name,
                provides: ctx.provides,
            };
            self.plan_selections(&inner, &fragment.selections, placed)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn plan_field(
        &mut self,
        ctx: &Ctx<'s>,
        response_key: &Name,
        field: &Name,
        arguments: &[Node<Argument>],
        field_type: &Name,
        selections: Option<&Selections>,
        placed: &mut BTreeSet<GroupId>,
    ) -> Result<(), PlanError> {
        let parent = ctx.parent_type.clone();
        let graph = self.groups[ctx.group].graph;
        let composite = self.is_composite(field_type);

        // 1. Resolved where the parent object comes from.
        if let Some(provides) = self.local(graph, &parent, field, ctx.provides) {
            let child =
                self.arena
                    .ensure_field(ctx.node, response_key, field, arguments, composite)?;
            placed.insert(ctx.group);
            if let Some(child) = child {
                self.descend(
                    ctx.group,
                    child,
                    ctx,
                    response_key,
                    field_type,
                    provides,
                    selections,
                )?;
            }
            return Ok(());
        }

        // 2. An abstract parent whose subgraph lacks the field on the interface:
        //    split per object type.
        if self.is_abstract(&parent) {
            for type_name in self.possible_types(&parent) {
                if !self.supergraph.subgraph_type_exists(&type_name, graph) {
                    continue;
                }
                let node = self.arena.ensure_fragment(ctx.node, &type_name);
                let mut path = ctx.path.clone();
                path.push(PathElement::TypeCondition(type_name.clone()));
                let inner = Ctx {
                    group: ctx.group,
                    node,
                    path,
                    parent_type: type_name,
                    provides: None,
                };
                self.plan_field(
                    &inner,
                    response_key,
                    field,
                    arguments,
                    field_type,
                    selections,
                    placed,
                )?;
            }
            return Ok(());
        }

        // 3. An entity jump to a subgraph that resolves it.
        let (target, key) = self.choose_target(ctx, &parent, field)?;
        let target_field = self.resolvers(&parent, field).find(|f| f.graph == target);
        let requires = target_field.and_then(|f| f.requires.as_ref());
        let target_provides = target_field
            .and_then(|f| f.provides.as_ref())
            .map(|p| p.selections());

        let group = self.entity_group(target, &ctx.path, ctx.group);
        let mut representation = rep_fields(key);
        let mut suppliers = BTreeSet::new();
        self.ensure_typename(ctx.node)?;
        suppliers.insert(ctx.group);
        let key_selections = self.field_set_selections(&parent, key)?;
        self.plan_selections(ctx, &key_selections, &mut suppliers)?;
        if let Some(requires) = requires {
            let required = self.field_set_selections(&parent, requires.selections())?;
            self.plan_selections(ctx, &required, &mut suppliers)?;
            merge_rep_fields(&mut representation, &rep_fields(requires.selections()));
        }
        for supplier in suppliers {
            self.add_dependency(group, supplier)?;
        }
        merge_rep_fields(
            self.groups[group]
                .representations
                .entry(parent.clone())
                .or_default(),
            &representation,
        );
        let entity_node = self.arena.ensure_fragment(self.groups[group].root, &parent);
        let child =
            self.arena
                .ensure_field(entity_node, response_key, field, arguments, composite)?;
        placed.insert(group);
        if let Some(child) = child {
            self.descend(
                group,
                child,
                ctx,
                response_key,
                field_type,
                target_provides,
                selections,
            )?;
        }
        Ok(())
    }

    /// Plans the sub-selection of a composite field placed in `group` at `child`.
    #[allow(clippy::too_many_arguments)]
    fn descend(
        &mut self,
        group: GroupId,
        child: NodeId,
        ctx: &Ctx<'s>,
        response_key: &Name,
        field_type: &Name,
        provides: Option<&'s [FieldSetSelection]>,
        selections: Option<&Selections>,
    ) -> Result<(), PlanError> {
        if self.is_abstract(field_type) {
            self.ensure_typename(child)?;
        }
        let Some(selections) = selections else {
            return Ok(());
        };
        let mut path = ctx.path.clone();
        path.push(PathElement::Key(response_key.clone()));
        let inner = Ctx {
            group,
            node: child,
            path,
            parent_type: field_type.clone(),
            provides,
        };
        // Fields below are placed relative to this field; which groups they land in
        // does not matter to the caller.
        self.plan_selections(&inner, selections, &mut BTreeSet::new())
    }

    fn ensure_typename(&mut self, node: NodeId) -> Result<(), PlanError> {
        let typename = name!("__typename");
        self.arena
            .ensure_field(node, &typename, &typename, &[], false)?;
        Ok(())
    }

    /// Picks the subgraph to jump to for `parent.field` and the key to jump with.
    fn choose_target(
        &self,
        ctx: &Ctx<'s>,
        parent: &Name,
        field: &Name,
    ) -> Result<(GraphId, &'s [FieldSetSelection]), PlanError> {
        let graph = self.groups[ctx.group].graph;
        let block = self.blocks.saturating_sub(1);
        let mut candidates: Vec<GraphId> = self.resolvers(parent, field).map(|f| f.graph).collect();
        if candidates.is_empty() {
            return Err(self.unreachable(parent, field, graph, "no subgraph resolves it"));
        }
        // Prefer a subgraph that already has a fetch here: the field rides along.
        candidates.sort_by_key(|c| {
            !self
                .entity_groups
                .contains_key(&(block, *c, ctx.path.clone()))
        });
        for candidate in &candidates {
            for key in self.supergraph.keys(parent, *candidate) {
                if !key.resolvable {
                    continue;
                }
                if self.obtainable(
                    graph,
                    parent,
                    key.fields.selections(),
                    ctx.provides,
                    MAX_KEY_HOPS,
                ) {
                    return Ok((*candidate, key.fields.selections()));
                }
            }
        }
        let names: Vec<String> = candidates.iter().map(|c| self.graph_name(*c)).collect();
        Err(self.unreachable(
            parent,
            field,
            graph,
            &format!(
                "it lives in [{}] and no resolvable @key of `{parent}` there can be built from what `{}` returns",
                names.join(", "),
                self.graph_name(graph)
            ),
        ))
    }

    fn unreachable(&self, parent: &Name, field: &Name, graph: GraphId, reason: &str) -> PlanError {
        PlanError::Unreachable {
            type_name: parent.to_string(),
            field: field.to_string(),
            from: self.graph_name(graph),
            reason: reason.to_string(),
        }
    }

    /// Whether `selections` on `parent` can be fetched starting from `graph`, directly
    /// or through at most `hops` entity jumps.
    fn obtainable(
        &self,
        graph: GraphId,
        parent: &Name,
        selections: &[FieldSetSelection],
        provides: Option<&'s [FieldSetSelection]>,
        hops: usize,
    ) -> bool {
        selections.iter().all(|selection| match selection {
            FieldSetSelection::Field(f) => {
                if let Some(sub_provides) = self.local(graph, parent, &f.name, provides) {
                    if f.selections.is_empty() {
                        return true;
                    }
                    let Ok(ty) = self.field_type(parent, &f.name) else {
                        return false;
                    };
                    return self.obtainable(
                        graph,
                        ty.inner_named_type(),
                        &f.selections,
                        sub_provides,
                        hops,
                    );
                }
                hops > 0
                    && self.resolvers(parent, &f.name).any(|other| {
                        self.supergraph.keys(parent, other.graph).iter().any(|k| {
                            k.resolvable
                                && self.obtainable(
                                    graph,
                                    parent,
                                    k.fields.selections(),
                                    provides,
                                    hops - 1,
                                )
                        })
                    })
            }
            FieldSetSelection::InlineFragment(fragment) => {
                let ty = fragment.type_condition.as_ref().unwrap_or(parent);
                self.obtainable(graph, ty, &fragment.selections, provides, hops)
            }
        })
    }

    /// A field set as operation selections, so it plans like client fields.
    fn field_set_selections(
        &self,
        parent: &Name,
        selections: &[FieldSetSelection],
    ) -> Result<Selections, PlanError> {
        let mut items = Vec::with_capacity(selections.len());
        for selection in selections {
            match selection {
                FieldSetSelection::Field(f) => {
                    let ty = self.field_type(parent, &f.name)?;
                    let nested = self.field_set_selections(ty.inner_named_type(), &f.selections)?;
                    items.push(Selection::Field(operation::Field {
                        response_key: f.name.clone(),
                        name: f.name.clone(),
                        arguments: f.arguments.clone(),
                        ty,
                        selections: nested,
                    }));
                }
                FieldSetSelection::InlineFragment(fragment) => {
                    let ty = fragment
                        .type_condition
                        .clone()
                        .unwrap_or_else(|| parent.clone());
                    let nested = self.field_set_selections(&ty, &fragment.selections)?;
                    items.push(Selection::Fragment(operation::Fragment {
                        type_condition: ty,
                        selections: nested,
                    }));
                }
            }
        }
        Ok(Selections { items })
    }

    // ----- from groups to waves and requests ------------------------------------

    fn into_plan(self, operation: &NormalizedOperation) -> QueryPlan {
        let mut levels = vec![0usize; self.groups.len()];
        // Groups are created after the groups they depend on, except entity groups
        // shared by later fields; iterate to a fixed point (acyclic, so it ends).
        let mut changed = true;
        while changed {
            changed = false;
            for (id, group) in self.groups.iter().enumerate() {
                let level = group.deps.iter().map(|d| levels[*d] + 1).max().unwrap_or(0);
                if level != levels[id] {
                    levels[id] = level;
                    changed = true;
                }
            }
        }
        let block_count = self.groups.iter().map(|g| g.block + 1).max().unwrap_or(0);
        let mut blocks: Vec<Block> = (0..block_count).map(|_| Block::default()).collect();
        let mut request_index = 0;
        for (block_index, block) in blocks.iter_mut().enumerate() {
            let max_level = self
                .groups
                .iter()
                .enumerate()
                .filter(|(_, g)| g.block == block_index)
                .map(|(id, _)| levels[id])
                .max()
                .unwrap_or(0);
            for level in 0..=max_level {
                let mut by_graph: IndexMap<GraphId, Vec<GroupId>> = IndexMap::new();
                for (id, group) in self.groups.iter().enumerate() {
                    if group.block == block_index && levels[id] == level {
                        by_graph.entry(group.graph).or_default().push(id);
                    }
                }
                let mut wave = Wave::default();
                for (graph, groups) in by_graph {
                    wave.requests
                        .push(self.request(operation, graph, &groups, request_index));
                    request_index += 1;
                }
                if !wave.requests.is_empty() {
                    block.waves.push(wave);
                }
            }
        }
        QueryPlan { blocks }
    }

    fn request(
        &self,
        operation: &NormalizedOperation,
        graph: GraphId,
        groups: &[GroupId],
        index: usize,
    ) -> SubgraphRequest {
        let subgraph = self.graph_name(graph);
        let mut variables = Vec::new();
        let mut body = String::new();
        let mut declarations = String::new();
        let kind = if self.groups[groups[0]].is_entity {
            // Equal selections share one `_entities` field and one representation list.
            let mut fetches: IndexMap<String, Vec<EntityTarget>> = IndexMap::new();
            for &id in groups {
                let group = &self.groups[id];
                let mut selection = String::new();
                self.arena.print(group.root, &mut selection, &mut variables);
                fetches.entry(selection).or_default().push(EntityTarget {
                    path: group.path.clone(),
                    representations: group.representations.clone(),
                });
            }
            let batched = fetches.len() > 1;
            let mut entity_fetches = Vec::with_capacity(fetches.len());
            body.push('{');
            for (i, (selection, targets)) in fetches.into_iter().enumerate() {
                let (response_key, variable) = if batched {
                    (format!("_e{i}"), format!("r{i}"))
                } else {
                    ("_entities".to_string(), "representations".to_string())
                };
                if i > 0 {
                    body.push(' ');
                }
                if batched {
                    let _ = write!(body, "{response_key}:");
                }
                let _ = write!(body, "_entities(representations:${variable}){selection}");
                let _ = write!(declarations, "${variable}:[_Any!]!,");
                entity_fetches.push(EntityFetch {
                    response_key,
                    variable,
                    targets,
                });
            }
            body.push('}');
            RequestKind::Entities(entity_fetches)
        } else {
            for &id in groups {
                self.arena
                    .print(self.groups[id].root, &mut body, &mut variables);
            }
            RequestKind::Root
        };
        for variable in &variables {
            if let Some(definition) = operation.variables.iter().find(|v| &v.name == variable) {
                let _ = write!(declarations, "${}:{},", variable, definition.ty);
            }
        }
        let keyword = match (self.groups[groups[0]].is_entity, operation.kind) {
            (false, OperationKind::Mutation) => "mutation",
            (false, OperationKind::Subscription) => "subscription",
            _ => "query",
        };
        let mut text = String::from(keyword);
        if let Some(name) = &operation.name {
            let _ = write!(text, " {name}__{}__{index}", sanitize(&subgraph));
        }
        if !declarations.is_empty() {
            declarations.pop();
            let _ = write!(text, "({declarations})");
        }
        text.push_str(&body);
        let mut prefix = Vec::with_capacity(text.len() + 32);
        prefix.extend_from_slice(b"{\"query\":");
        let _ = serde_json::to_writer(&mut prefix, &text);
        prefix.extend_from_slice(b",\"variables\":{");
        SubgraphRequest {
            graph,
            subgraph,
            operation: text,
            body_prefix: Bytes::from(prefix),
            forwarded_variables: variables,
            kind,
            is_mutation: keyword == "mutation",
        }
    }
}

/// Operation names allow only `[_A-Za-z0-9]`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn flatten_root<'o>(selections: &'o Selections, out: &mut Vec<&'o operation::Field>) {
    for item in &selections.items {
        match item {
            Selection::Field(f) => {
                if !out.iter().any(|o| o.response_key == f.response_key) {
                    out.push(f);
                }
            }
            Selection::Fragment(fragment) => flatten_root(&fragment.selections, out),
        }
    }
}

/// The provided sub-selection for `field` on `parent`, if `@provides` covers it.
fn find_provided<'s>(
    provides: &'s [FieldSetSelection],
    parent: &Name,
    field: &Name,
) -> Option<&'s [FieldSetSelection]> {
    for selection in provides {
        match selection {
            FieldSetSelection::Field(f) if &f.name == field => return Some(&f.selections),
            FieldSetSelection::InlineFragment(fragment)
                if fragment.type_condition.as_ref().is_none_or(|t| t == parent) =>
            {
                if let Some(found) = find_provided(&fragment.selections, parent, field) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

fn rep_fields(selections: &[FieldSetSelection]) -> Vec<RepField> {
    let mut out = Vec::new();
    for selection in selections {
        match selection {
            FieldSetSelection::Field(f) => merge_rep_fields(
                &mut out,
                &[RepField {
                    name: f.name.clone(),
                    children: rep_fields(&f.selections),
                }],
            ),
            FieldSetSelection::InlineFragment(fragment) => {
                merge_rep_fields(&mut out, &rep_fields(&fragment.selections))
            }
        }
    }
    out
}
