//! The planner: walks the normalised operation and assigns every field to a fetch
//! group: a root fetch, or an `_entities` fetch to some subgraph at some response path.
//!
//! A field goes into the group that fetched its parent object when that subgraph
//! resolves it (or it is `@provides`d there). Otherwise it jumps: an entity group for
//! the target subgraph at the same path, whose representations need the target's
//! `@key` fields and the field's `@requires` fields. Those are placed like any other
//! field in the parent's context (possibly jumping again), and the entity group depends
//! on every group that supplies them. Groups are keyed by (subgraph, path), so all
//! fields for one subgraph at one place share a fetch.
//!
//! Response keys: subgraph data merges into one tree keyed by the client's response
//! keys, so a key means one field at one path across all groups. The client's keys at
//! each path are registered before that path is planned; a key or `@requires` field the
//! router adds reuses a key only for the identical field, otherwise it gets a private
//! alias that the representation builder reads.
//!
//! Interfaces: a field on an interface jumps at the interface level when some subgraph
//! resolves it for the interface (an entity interface, or an `@interfaceObject`);
//! otherwise it is split per implementation the source subgraph knows. Objects from an
//! `@interfaceObject` subgraph carry the interface's name as `__typename`; their
//! concrete type, and anything under a type condition, comes from the interface's owner.
//!
//! Waves follow from dependency depth; requests to one subgraph in one wave are merged.

use super::selection::{Arena, KeyConflict, NodeId, RepField, merge_rep_fields};
use super::{
    Block, EntityFetch, EntityTarget, PathElement, QueryPlan, RepSpec, RequestKind,
    SubgraphRequest, Wave,
};
use crate::operation::{self, NormalizedOperation, OperationKind, Selection, Selections};
use apollo_compiler::ast::Type;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Node, executable::Argument, name};
use bytes::Bytes;
use indexmap::IndexMap;
use junction_schema::{FieldInGraph, GraphId, Selection as FieldSetSelection, Supergraph};
use std::collections::{BTreeSet, HashMap, HashSet};
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
    #[error("the operation nests entity jumps deeper than {0} levels")]
    TooDeep(usize),
    #[error("subscriptions are not supported yet")]
    Subscription,
}

impl From<KeyConflict> for PlanError {
    fn from(conflict: KeyConflict) -> Self {
        PlanError::KeyConflict(conflict.response_key.to_string())
    }
}

/// Which progressive-override labels are active for this plan.
pub trait OverrideLabels {
    fn is_active(&self, label: &str) -> bool;
}

/// No label is active: every overridden field stays where it came from.
pub struct NoLabels;

impl OverrideLabels for NoLabels {
    fn is_active(&self, _label: &str) -> bool {
        false
    }
}

impl OverrideLabels for HashSet<String> {
    fn is_active(&self, label: &str) -> bool {
        self.contains(label)
    }
}

/// Plans `operation` over `supergraph`.
pub fn build_plan(
    supergraph: &Supergraph,
    operation: &NormalizedOperation,
    labels: &dyn OverrideLabels,
) -> Result<QueryPlan, PlanError> {
    if operation.kind == OperationKind::Subscription {
        return Err(PlanError::Subscription);
    }
    let mut planner = Planner {
        supergraph,
        labels,
        arena: Arena::default(),
        groups: Vec::new(),
        entity_groups: HashMap::new(),
        blocks: 0,
        client_keys: HashMap::new(),
        jumping: Vec::new(),
        shapes: HashMap::new(),
        renames: super::Renames::new(),
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
    representations: IndexMap<Name, RepSpec>,
    deps: BTreeSet<GroupId>,
    block: usize,
}

/// Where planning currently is: the group that fetches the object at `path`, the
/// selection node for that object in the group, and the object's type.
#[derive(Clone)]
struct Ctx<'s> {
    group: GroupId,
    node: NodeId,
    /// The selection set `node` belongs to, above any fragments: fields placed under
    /// different type conditions here share one response shape in the subgraph.
    position: NodeId,
    path: Vec<PathElement>,
    parent_type: Name,
    /// Fields `@provides` makes resolvable here, for the group's subgraph.
    provides: Option<&'s [FieldSetSelection]>,
}

/// A field to place: from the client's operation, or a key / `@requires` field the
/// router needs (`internal`), which may be aliased to avoid the client's keys.
struct FieldRequest<'q> {
    response_key: Name,
    name: Name,
    arguments: &'q [Node<Argument>],
    /// The field's named type (lists and non-null stripped).
    field_type: Name,
    /// The client's sub-selection (internal fields pass their nested field sets apart).
    selections: Option<&'q Selections>,
    internal: bool,
}

/// Where a field landed: its response key, and the context below it (composite fields).
struct Placed<'s> {
    response_key: Name,
    below: Option<Ctx<'s>>,
}

/// How to reach an entity in another subgraph.
struct Target<'s> {
    graph: GraphId,
    key: &'s [FieldSetSelection],
    /// The type the jump is made on: the parent, or an interface it implements.
    entity_type: Name,
    /// `__typename` to send when the target sees the entity as `@interfaceObject`.
    rep_typename: Option<Name>,
    field: Option<&'s FieldInGraph>,
}

struct Planner<'s> {
    supergraph: &'s Supergraph,
    labels: &'s dyn OverrideLabels,
    arena: Arena,
    groups: Vec<Group>,
    entity_groups: HashMap<(usize, GraphId, Vec<PathElement>), GroupId>,
    blocks: usize,
    /// The client's response keys per path: key → (field name, arguments).
    client_keys: HashMap<Vec<PathElement>, KeysAtPath>,
    /// Jumps being planned (path, type, field), to refuse a jump that needs itself.
    jumping: Vec<(Vec<PathElement>, Name, Name)>,
    /// Subgraph type of each response key placed per (group, selection set).
    shapes: HashMap<(GroupId, NodeId, Name), Type>,
    /// Client fields sent under another name because their type in the subgraph
    /// conflicts with a same-named field beside them.
    renames: super::Renames,
}

/// The client's fields at one path: response key → (field name, arguments).
type KeysAtPath = HashMap<Name, (Name, Vec<Node<Argument>>)>;

/// How far `obtainable` looks for a chain of entity jumps to build a key.
const MAX_KEY_HOPS: usize = 2;
/// Nested jumps beyond this are refused rather than risking the stack.
const MAX_JUMP_DEPTH: usize = 64;

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

    /// Object types `graph` can return where `abstract_type` is expected.
    fn possible_in_graph(&self, abstract_type: &Name, graph: GraphId) -> Vec<Name> {
        match self.schema_type(abstract_type) {
            Some(ExtendedType::Union(_)) => self
                .supergraph
                .union_members_in(abstract_type, graph)
                .to_vec(),
            Some(ExtendedType::Interface(_)) => self
                .supergraph
                .implementations_in(abstract_type, graph)
                .to_vec(),
            Some(ExtendedType::Object(_)) => vec![abstract_type.clone()],
            _ => Vec::new(),
        }
    }

    fn interfaces_of(&self, object: &Name) -> Vec<Name> {
        match self.schema_type(object) {
            Some(ExtendedType::Object(o)) => o
                .implements_interfaces
                .iter()
                .map(|i| i.name.clone())
                .collect(),
            _ => Vec::new(),
        }
    }

    fn graph_name(&self, graph: GraphId) -> String {
        self.supergraph
            .graph(graph)
            .map(|g| g.name.clone())
            .unwrap_or_else(|| graph.to_string())
    }

    /// The graphs that resolve `parent.field` for this plan: a progressive override
    /// moves the field to the overriding graph while its label is active.
    fn resolvers(&self, parent: &str, field: &str) -> impl Iterator<Item = &'s FieldInGraph> {
        let labels = self.labels;
        self.supergraph
            .field_graphs(parent, field)
            .iter()
            .filter(move |f| match &f.override_label {
                None => true,
                Some(label) => labels.is_active(label) == f.override_from.is_some(),
            })
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
        if field == "__typename" {
            // An @interfaceObject subgraph does not know the concrete type.
            let unknown =
                self.is_abstract(parent) && self.supergraph.is_interface_object(parent, graph);
            return (!unknown).then_some(None);
        }
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

    // ----- response keys --------------------------------------------------------

    /// Records the client's response keys selected at `path` (through fragments that
    /// do not narrow the type), so fields the router adds can avoid them.
    fn register_client_keys(
        &mut self,
        path: &[PathElement],
        parent: &Name,
        selections: &Selections,
    ) {
        let mut found = Vec::new();
        self.collect_client_keys(parent, selections, &mut found);
        let keys = self.client_keys.entry(path.to_vec()).or_default();
        for (key, name, arguments) in found {
            keys.entry(key).or_insert((name, arguments));
        }
    }

    fn collect_client_keys(
        &self,
        parent: &Name,
        selections: &Selections,
        found: &mut Vec<(Name, Name, Vec<Node<Argument>>)>,
    ) {
        for item in &selections.items {
            match item {
                Selection::Field(f) if !f.is_typename() => {
                    found.push((f.response_key.clone(), f.name.clone(), f.arguments.clone()))
                }
                Selection::Field(_) => {}
                Selection::Fragment(fragment) => {
                    let condition = &fragment.type_condition;
                    if condition == parent || self.possible_types(condition).contains(parent) {
                        self.collect_client_keys(parent, &fragment.selections, found);
                    }
                }
            }
        }
    }

    /// Places a field in `node`: the client's own key, or for a router-added field
    /// the field name unless the client (or another field) uses it at this path.
    fn place(
        &mut self,
        ctx: &Ctx<'s>,
        node: NodeId,
        request: &FieldRequest<'_>,
        composite: bool,
    ) -> Result<(Name, Option<NodeId>), PlanError> {
        if !request.internal {
            let key = self.shape_safe_key(ctx, request)?;
            let child =
                self.arena
                    .ensure_field(node, &key, &request.name, request.arguments, composite)?;
            return Ok((key, child));
        }
        let path = &ctx.path;
        let same_field = |keys: Option<&KeysAtPath>, key: &Name| match keys.and_then(|k| k.get(key))
        {
            None => true,
            Some((name, arguments)) => {
                name == &request.name && arguments.as_slice() == request.arguments
            }
        };
        let keys = self.client_keys.get(path);
        let mut candidate = request.name.clone();
        let mut attempt = 0;
        loop {
            if same_field(keys, &candidate)
                && let Ok(child) = self.arena.ensure_field(
                    node,
                    &candidate,
                    &request.name,
                    request.arguments,
                    composite,
                )
            {
                return Ok((candidate, child));
            }
            // Names starting with `_j` and a digit are never a field of ours; the loop
            // ends because each attempt is a fresh name.
            candidate = Name::new(&format!("_j{attempt}_{}", request.name))
                .map_err(|_| PlanError::KeyConflict(request.name.to_string()))?;
            attempt += 1;
            if attempt > 64 {
                return Err(PlanError::KeyConflict(request.name.to_string()));
            }
        }
    }

    /// The key to send a client field under: its own, unless a field with the same key
    /// under another type condition of this selection has a type of another shape in
    /// the subgraph (the GraphQL spec forbids that in one selection set). Then an alias,
    /// recorded so the projection reads it back under the client's key.
    fn shape_safe_key(
        &mut self,
        ctx: &Ctx<'s>,
        request: &FieldRequest<'_>,
    ) -> Result<Name, PlanError> {
        let graph = self.groups[ctx.group].graph;
        let Ok(declared) = self.field_type(&ctx.parent_type, &request.name) else {
            return Ok(request.response_key.clone());
        };
        let ty = self
            .resolvers(&ctx.parent_type, &request.name)
            .find(|f| f.graph == graph)
            .and_then(|f| f.subgraph_type.clone())
            .unwrap_or(declared);
        let mut key = request.response_key.clone();
        let mut attempt = 0;
        loop {
            let slot = (ctx.group, ctx.position, key.clone());
            match self.shapes.get(&slot) {
                None => {
                    self.shapes.insert(slot, ty);
                    break;
                }
                Some(existing) if self.same_shape(existing, &ty) => break,
                Some(_) => {
                    key = Name::new(&format!("{}__alias_{attempt}", request.response_key))
                        .map_err(|_| PlanError::KeyConflict(request.response_key.to_string()))?;
                    attempt += 1;
                }
            }
        }
        if key != request.response_key {
            self.renames.insert(
                (
                    data_path(&ctx.path),
                    ctx.parent_type.clone(),
                    request.response_key.clone(),
                ),
                key.clone(),
            );
        }
        Ok(key)
    }

    /// GraphQL's SameResponseShape for two field types: the same list and non-null
    /// wrapping, and the same leaf type (object types may differ).
    fn same_shape(&self, a: &Type, b: &Type) -> bool {
        match (a, b) {
            (Type::NonNullNamed(x), Type::NonNullNamed(y)) | (Type::Named(x), Type::Named(y)) => {
                x == y || (self.is_composite(x) && self.is_composite(y))
            }
            (Type::NonNullList(x), Type::NonNullList(y)) | (Type::List(x), Type::List(y)) => {
                self.same_shape(x, y)
            }
            _ => false,
        }
    }

    // ----- walking the operation ------------------------------------------------

    fn plan_root(&mut self, operation: &NormalizedOperation) -> Result<(), PlanError> {
        let mut root_fields = Vec::new();
        flatten_root(&operation.selections, &mut root_fields);
        self.register_client_keys(&[], &operation.root_type, &operation.selections);
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
                position: self.groups[group].root,
                path: Vec::new(),
                parent_type: operation.root_type.clone(),
                provides: None,
            };
            let request = FieldRequest {
                response_key: field.response_key.clone(),
                name: field.name.clone(),
                arguments: &field.arguments,
                field_type: field.ty.inner_named_type().clone(),
                selections: Some(&field.selections),
                internal: false,
            };
            self.plan_field(&ctx, &request, &mut BTreeSet::new())?;
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
                Selection::Field(field) => {
                    let request = FieldRequest {
                        response_key: field.response_key.clone(),
                        name: field.name.clone(),
                        arguments: &field.arguments,
                        field_type: field.ty.inner_named_type().clone(),
                        selections: Some(&field.selections),
                        internal: false,
                    };
                    self.plan_field(ctx, &request, placed)?;
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
        // Objects from an @interfaceObject subgraph have no concrete type there: narrow
        // in the subgraph that owns the interface.
        if self.is_abstract(parent) && self.supergraph.is_interface_object(parent, graph) {
            let typename = name!("__typename");
            let target = self.choose_target(ctx, parent, &typename)?;
            let inner = self.jump(ctx, &target, placed)?;
            return self.plan_fragment(&inner, fragment, placed);
        }
        let in_graph = self.possible_in_graph(parent, graph);
        let narrowed: Vec<Name> = if self.is_abstract(condition)
            && self.supergraph.subgraph_type_exists(condition, graph)
        {
            vec![condition.clone()]
        } else {
            // Split into the object types this subgraph can return here.
            self.possible_types(condition)
                .into_iter()
                .filter(|t| in_graph.contains(t))
                .collect()
        };
        for type_name in narrowed {
            let inner = self.narrow(ctx, &type_name, ctx.provides);
            self.register_client_keys(&inner.path, &inner.parent_type, &fragment.selections);
            self.plan_selections(&inner, &fragment.selections, placed)?;
        }
        Ok(())
    }

    /// Places one field; returns where it landed (several places when an abstract
    /// parent had to be split per object type).
    fn plan_field(
        &mut self,
        ctx: &Ctx<'s>,
        request: &FieldRequest<'_>,
        placed: &mut BTreeSet<GroupId>,
    ) -> Result<Vec<Placed<'s>>, PlanError> {
        let parent = ctx.parent_type.clone();
        let graph = self.groups[ctx.group].graph;

        // 1. Resolved where the parent object comes from.
        if let Some(provides) = self.local(graph, &parent, &request.name, ctx.provides) {
            if request.name == "__typename" {
                // The projection writes __typename; abstract positions need it fetched.
                if self.is_abstract(&parent) {
                    self.ensure_typename(ctx.node)?;
                }
                placed.insert(ctx.group);
                return Ok(vec![Placed {
                    response_key: request.name.clone(),
                    below: None,
                }]);
            }
            let (key, child) = self.place(
                ctx,
                ctx.node,
                request,
                self.is_composite(&request.field_type),
            )?;
            placed.insert(ctx.group);
            let subgraph_type = self.subgraph_type(graph, &parent, &request.name);
            let below = match child {
                Some(child) => Some(self.descend(
                    ctx.group,
                    child,
                    ctx,
                    &key,
                    request,
                    provides,
                    subgraph_type,
                )?),
                None => None,
            };
            return Ok(vec![Placed {
                response_key: key,
                below,
            }]);
        }

        // 2. An abstract parent: jump at the interface level when some subgraph
        //    resolves the field for the interface itself, else split per object type.
        if self.is_abstract(&parent) {
            if let Ok(target) = self.choose_target(ctx, &parent, &request.name) {
                return self.plan_jump(ctx, request, &target, placed);
            }
            let mut all = Vec::new();
            for type_name in self.possible_in_graph(&parent, graph) {
                let inner = self.narrow(ctx, &type_name, None);
                all.extend(self.plan_field(&inner, request, placed)?);
            }
            return Ok(all);
        }

        // 3. An entity jump to a subgraph that resolves it.
        let target = self.choose_target(ctx, &parent, &request.name)?;
        self.plan_jump(ctx, request, &target, placed)
    }

    fn plan_jump(
        &mut self,
        ctx: &Ctx<'s>,
        request: &FieldRequest<'_>,
        target: &Target<'s>,
        placed: &mut BTreeSet<GroupId>,
    ) -> Result<Vec<Placed<'s>>, PlanError> {
        let mark = (
            ctx.path.clone(),
            target.entity_type.clone(),
            request.name.clone(),
        );
        if self.jumping.contains(&mark) {
            return Err(self.unreachable(
                &ctx.parent_type,
                &request.name,
                self.groups[ctx.group].graph,
                "reaching it needs itself (no usable @key chain)",
            ));
        }
        if self.jumping.len() >= MAX_JUMP_DEPTH {
            return Err(PlanError::TooDeep(MAX_JUMP_DEPTH));
        }
        self.jumping.push(mark);
        let result = self.plan_jump_inner(ctx, request, target, placed);
        self.jumping.pop();
        result
    }

    fn plan_jump_inner(
        &mut self,
        ctx: &Ctx<'s>,
        request: &FieldRequest<'_>,
        target: &Target<'s>,
        placed: &mut BTreeSet<GroupId>,
    ) -> Result<Vec<Placed<'s>>, PlanError> {
        let inner = self.jump(ctx, target, placed)?;
        let provides = target
            .field
            .and_then(|f| f.provides.as_ref())
            .map(|p| p.selections());
        if request.name == "__typename" {
            self.ensure_typename(inner.node)?;
            return Ok(vec![Placed {
                response_key: request.name.clone(),
                below: None,
            }]);
        }
        let (key, child) = self.place(
            &inner,
            inner.node,
            request,
            self.is_composite(&request.field_type),
        )?;
        let subgraph_type = target
            .field
            .and_then(|f| f.subgraph_type.as_ref())
            .map(|t| t.inner_named_type().clone());
        let below = match child {
            Some(child) => Some(self.descend(
                inner.group,
                child,
                &inner,
                &key,
                request,
                provides,
                subgraph_type,
            )?),
            None => None,
        };
        Ok(vec![Placed {
            response_key: key,
            below,
        }])
    }

    /// Makes the entity jump to `target` from the object at `ctx`: the entity group,
    /// its representations (key and `@requires` fields placed in the parent's
    /// context) and dependencies. Returns the context inside the entity fetch.
    fn jump(
        &mut self,
        ctx: &Ctx<'s>,
        target: &Target<'s>,
        placed: &mut BTreeSet<GroupId>,
    ) -> Result<Ctx<'s>, PlanError> {
        let group = self.entity_group(target.graph, &ctx.path, ctx.group);
        let mut suppliers = BTreeSet::new();
        suppliers.insert(ctx.group);
        self.ensure_typename(ctx.node)?;
        let mut fields = self.ensure_internal(ctx, target.key, &mut suppliers)?;
        if let Some(requires) = target.field.and_then(|f| f.requires.as_ref()) {
            let required = self.ensure_internal(ctx, requires.selections(), &mut suppliers)?;
            merge_rep_fields(&mut fields, &required);
        }
        for supplier in suppliers {
            self.add_dependency(group, supplier)?;
        }
        let spec = self.groups[group]
            .representations
            .entry(target.entity_type.clone())
            .or_insert_with(|| RepSpec {
                typename: target.rep_typename.clone(),
                fields: Vec::new(),
            });
        merge_rep_fields(&mut spec.fields, &fields);
        placed.insert(group);
        let node = self
            .arena
            .ensure_fragment(self.groups[group].root, &target.entity_type);
        // Leaving an @interfaceObject position for a subgraph that knows the real types:
        // bring the concrete type back, type conditions and the projection need it.
        let source = self.groups[ctx.group].graph;
        if self.is_abstract(&ctx.parent_type)
            && self
                .supergraph
                .is_interface_object(&ctx.parent_type, source)
            && target.rep_typename.is_none()
        {
            self.ensure_typename(node)?;
        }
        Ok(Ctx {
            group,
            node,
            position: self.groups[group].root,
            path: ctx.path.clone(),
            parent_type: target.entity_type.clone(),
            provides: None,
        })
    }

    /// Places a key or `@requires` field set in `ctx`; returns the representation
    /// fields (with the response keys they landed under).
    fn ensure_internal(
        &mut self,
        ctx: &Ctx<'s>,
        selections: &'s [FieldSetSelection],
        suppliers: &mut BTreeSet<GroupId>,
    ) -> Result<Vec<RepField>, PlanError> {
        let mut out = Vec::new();
        for selection in selections {
            match selection {
                FieldSetSelection::Field(f) => {
                    let ty = self.field_type(&ctx.parent_type, &f.name)?;
                    let request = FieldRequest {
                        response_key: f.name.clone(),
                        name: f.name.clone(),
                        arguments: &f.arguments,
                        field_type: ty.inner_named_type().clone(),
                        selections: None,
                        internal: true,
                    };
                    let landed = self.plan_field(ctx, &request, suppliers)?;
                    let Some(first) = landed.into_iter().next() else {
                        continue;
                    };
                    let children = match (&first.below, f.selections.is_empty()) {
                        (Some(below), false) => {
                            self.ensure_internal(below, &f.selections, suppliers)?
                        }
                        _ => Vec::new(),
                    };
                    merge_rep_fields(
                        &mut out,
                        &[RepField {
                            name: f.name.clone(),
                            source: first.response_key,
                            children,
                        }],
                    );
                }
                FieldSetSelection::InlineFragment(fragment) => {
                    let inner = match &fragment.type_condition {
                        Some(condition) if condition != &ctx.parent_type => {
                            self.narrow(ctx, condition, ctx.provides)
                        }
                        _ => ctx.clone(),
                    };
                    let fields = self.ensure_internal(&inner, &fragment.selections, suppliers)?;
                    merge_rep_fields(&mut out, &fields);
                }
            }
        }
        Ok(out)
    }

    /// Plans below a composite field placed in `group` at `child`; returns the
    /// context there. Below it, the field's type is its type in that subgraph
    /// (`subgraph_type`, when it differs from the supergraph's).
    #[allow(clippy::too_many_arguments)]
    fn descend(
        &mut self,
        group: GroupId,
        child: NodeId,
        ctx: &Ctx<'s>,
        response_key: &Name,
        request: &FieldRequest<'_>,
        provides: Option<&'s [FieldSetSelection]>,
        subgraph_type: Option<Name>,
    ) -> Result<Ctx<'s>, PlanError> {
        // The projection picks fields by runtime type wherever the client's type is
        // abstract, even when the subgraph's is an object type.
        if self.is_abstract(&request.field_type) {
            self.ensure_typename(child)?;
        }
        let parent_type = subgraph_type.unwrap_or_else(|| request.field_type.clone());
        let mut path = ctx.path.clone();
        path.push(PathElement::Key(response_key.clone()));
        let inner = Ctx {
            group,
            node: child,
            position: child,
            path,
            parent_type,
            provides,
        };
        if let Some(selections) = request.selections {
            self.register_client_keys(&inner.path, &request.field_type, selections);
            // Fields below are placed relative to this field; which groups they land in
            // does not matter to the caller.
            self.plan_selections(&inner, selections, &mut BTreeSet::new())?;
        }
        Ok(inner)
    }

    /// The field's named type in `graph`, when it differs from the supergraph's.
    fn subgraph_type(&self, graph: GraphId, parent: &Name, field: &Name) -> Option<Name> {
        self.resolvers(parent, field)
            .find(|f| f.graph == graph)
            .and_then(|f| f.subgraph_type.as_ref())
            .map(|t| t.inner_named_type().clone())
    }

    /// The context under `... on type_name` in the same group.
    fn narrow(
        &mut self,
        ctx: &Ctx<'s>,
        type_name: &Name,
        provides: Option<&'s [FieldSetSelection]>,
    ) -> Ctx<'s> {
        let node = self.arena.ensure_fragment(ctx.node, type_name);
        let mut path = ctx.path.clone();
        path.push(PathElement::TypeCondition(type_name.clone()));
        Ctx {
            group: ctx.group,
            node,
            position: ctx.position,
            path,
            parent_type: type_name.clone(),
            provides,
        }
    }

    fn ensure_typename(&mut self, node: NodeId) -> Result<(), PlanError> {
        let typename = name!("__typename");
        self.arena
            .ensure_field(node, &typename, &typename, &[], false)?;
        Ok(())
    }

    /// Picks the subgraph and key to jump with for `parent.field`: among the subgraphs
    /// that resolve it (for `parent`, or for an interface of it seen as
    /// `@interfaceObject`), a key the current subgraph returns directly first, one
    /// reachable through other jumps otherwise. A key never contains the field itself.
    fn choose_target(
        &self,
        ctx: &Ctx<'s>,
        parent: &Name,
        field: &Name,
    ) -> Result<Target<'s>, PlanError> {
        let graph = self.groups[ctx.group].graph;
        let block = self.blocks.saturating_sub(1);
        // (graph, entity type, typename override, the field in that graph)
        let mut candidates: Vec<(GraphId, Name, Option<Name>, Option<&'s FieldInGraph>)> =
            Vec::new();
        if field == "__typename" {
            // The concrete type comes from a subgraph that has the real interface.
            for t in self.supergraph.type_graphs(parent) {
                if !t.is_interface_object && t.graph != graph {
                    candidates.push((t.graph, parent.clone(), None, None));
                }
            }
        } else {
            for resolver in self.resolvers(parent, field) {
                let typename = self
                    .supergraph
                    .is_interface_object(parent, resolver.graph)
                    .then(|| parent.clone());
                candidates.push((resolver.graph, parent.clone(), typename, Some(resolver)));
            }
            if candidates.is_empty() {
                // A field an @interfaceObject subgraph adds to every implementation.
                for interface in self.interfaces_of(parent) {
                    for resolver in self.resolvers(&interface, field) {
                        if self
                            .supergraph
                            .is_interface_object(&interface, resolver.graph)
                        {
                            candidates.push((
                                resolver.graph,
                                interface.clone(),
                                Some(interface.clone()),
                                Some(resolver),
                            ));
                        }
                    }
                }
            }
        }
        if candidates.is_empty() {
            return Err(self.unreachable(parent, field, graph, "no subgraph resolves it"));
        }
        // Prefer a subgraph that already has a fetch here: the field rides along.
        candidates.sort_by_key(|(c, ..)| {
            !self
                .entity_groups
                .contains_key(&(block, *c, ctx.path.clone()))
        });
        let usable = |key: &junction_schema::Key| {
            key.resolvable && !key.fields.top_level_fields().any(|f| f == field)
        };
        for hops in [0, MAX_KEY_HOPS] {
            for (candidate, entity_type, rep_typename, resolver) in &candidates {
                for key in self.supergraph.keys(entity_type, *candidate) {
                    if usable(key)
                        && self.obtainable(
                            graph,
                            parent,
                            key.fields.selections(),
                            ctx.provides,
                            hops,
                            field,
                        )
                    {
                        return Ok(Target {
                            graph: *candidate,
                            key: key.fields.selections(),
                            entity_type: entity_type.clone(),
                            rep_typename: rep_typename.clone(),
                            field: *resolver,
                        });
                    }
                }
            }
        }
        let names: Vec<String> = candidates
            .iter()
            .map(|(c, ..)| self.graph_name(*c))
            .collect();
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
    /// or through at most `hops` entity jumps, without needing `excluded` (the field
    /// the key is for).
    fn obtainable(
        &self,
        graph: GraphId,
        parent: &Name,
        selections: &[FieldSetSelection],
        provides: Option<&'s [FieldSetSelection]>,
        hops: usize,
        excluded: &Name,
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
                        excluded,
                    );
                }
                hops > 0
                    && &f.name != excluded
                    && self.resolvers(parent, &f.name).any(|other| {
                        self.supergraph.keys(parent, other.graph).iter().any(|k| {
                            k.resolvable
                                && !k.fields.top_level_fields().any(|n| n == &f.name)
                                && self.obtainable(
                                    graph,
                                    parent,
                                    k.fields.selections(),
                                    provides,
                                    hops - 1,
                                    &f.name,
                                )
                        })
                    })
            }
            FieldSetSelection::InlineFragment(fragment) => {
                let ty = fragment.type_condition.as_ref().unwrap_or(parent);
                self.obtainable(graph, ty, &fragment.selections, provides, hops, excluded)
            }
        })
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
        QueryPlan {
            blocks,
            renames: self.renames,
        }
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
            let mut root_keys = Vec::new();
            for &id in groups {
                self.arena
                    .print(self.groups[id].root, &mut body, &mut variables);
                root_keys.extend(self.arena.response_keys(self.groups[id].root));
            }
            RequestKind::Root(root_keys)
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
/// The response keys of a path (type conditions dropped), as the projection walks it.
fn data_path(path: &[PathElement]) -> Vec<Name> {
    path.iter()
        .filter_map(|e| match e {
            PathElement::Key(k) => Some(k.clone()),
            PathElement::TypeCondition(_) => None,
        })
        .collect()
}

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
