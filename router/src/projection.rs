//! Projection: writes the client's JSON from the merged subgraph data in one pass.
//!
//! Built once per plan: for every position the client selected, the fields to write for
//! each possible runtime type, in the order the client asked, with fragments already
//! collected (GraphQL's CollectFields). At run time the writer walks the merged tree and
//! emits only what was asked, so key and `@requires` fields never leak.
//!
//! Null propagation happens while writing: a null in a non-null position unwinds to the
//! nearest nullable position, which truncates what it wrote and writes `null` instead.

use crate::json::{Node, NodeId, Store};
use crate::operation::{Field, NormalizedOperation, Selection, Selections};
use crate::plan::Renames;
use crate::response::{GraphQLError, PathSegment};
use apollo_compiler::ast::Type;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Schema};
use indexmap::IndexMap;
use serde_json_bytes::ByteString;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Object types each abstract type may resolve to, computed once per schema.
pub type PossibleTypes = HashMap<Name, Vec<Name>>;

/// Builds [`PossibleTypes`] for every interface and union of `schema`.
pub fn possible_types(schema: &Schema) -> PossibleTypes {
    let mut map = PossibleTypes::new();
    for (name, ty) in &schema.types {
        match ty {
            ExtendedType::Union(union) => {
                map.insert(
                    name.clone(),
                    union.members.iter().map(|m| m.name.clone()).collect(),
                );
            }
            ExtendedType::Interface(_) => {
                map.entry(name.clone()).or_default();
            }
            _ => {}
        }
    }
    for (name, ty) in &schema.types {
        if let ExtendedType::Object(object) = ty {
            for interface in &object.implements_interfaces {
                map.entry(interface.name.clone())
                    .or_default()
                    .push(name.clone());
            }
        }
    }
    map
}

/// What to write for one operation.
#[derive(Debug)]
pub struct Projection {
    root: ObjectShape,
}

#[derive(Debug)]
struct ObjectShape {
    /// For a concrete type, one entry; for an abstract type, one per possible type.
    by_type: Vec<(Name, Vec<FieldShape>)>,
    is_abstract: bool,
    static_type: Name,
}

#[derive(Debug)]
struct FieldShape {
    /// The client's response key (errors use it).
    key: ByteString,
    /// Where the field's data is (the client's key, or a subgraph alias).
    data_key: ByteString,
    /// The schema field name, for error messages.
    field_name: Name,
    /// `"key":` already escaped.
    key_json: Box<[u8]>,
    kind: FieldKind,
}

#[derive(Debug)]
enum FieldKind {
    Typename,
    /// `__schema` / `__type`: the introspection stage already shaped the value.
    Verbatim,
    Value(TypeShape),
}

#[derive(Debug)]
struct TypeShape {
    non_null: bool,
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    /// A scalar, or an enum with the values the client may see.
    Leaf(Option<Arc<HashSet<String>>>),
    Object(Box<ObjectShape>),
    List(Box<TypeShape>),
}

/// Returned while unwinding from a null in a non-null position.
struct NullBubble;

impl Projection {
    pub fn new(
        schema: &Valid<Schema>,
        possible: &PossibleTypes,
        operation: &NormalizedOperation,
        renames: &Renames,
    ) -> Self {
        let builder = Builder {
            schema,
            possible,
            renames,
        };
        let root = builder.object_shape(
            &operation.root_type,
            &[&operation.selections],
            /* root */ true,
            &[],
        );
        Projection { root }
    }

    /// Writes the `data` value from `root` in `store`.
    ///
    /// A null (or missing value) in a non-null position adds the spec's field error
    /// unless an error already explains it: one at or below the parent object in
    /// `errors`, or a failed fetch whose place (`explained`) contains this one.
    pub fn write(
        &self,
        store: &Store,
        root: NodeId,
        possible: &PossibleTypes,
        out: &mut Vec<u8>,
        errors: &mut Vec<GraphQLError>,
        explained: &[Vec<PathSegment>],
    ) {
        let preexisting = errors.len();
        let mut writer = Writer {
            store,
            possible,
            out,
            path: Vec::new(),
            errors,
            preexisting,
            explained,
        };
        let start = writer.out.len();
        if writer.object(root, &self.root).is_err() {
            writer.out.truncate(start);
            writer.out.extend_from_slice(b"null");
        }
    }
}

struct Builder<'a> {
    schema: &'a Valid<Schema>,
    possible: &'a PossibleTypes,
    renames: &'a Renames,
}

impl Builder<'_> {
    fn possible_types(&self, type_name: &Name) -> Vec<Name> {
        match self.schema.types.get(type_name) {
            Some(ExtendedType::Object(_)) => vec![type_name.clone()],
            Some(ExtendedType::Interface(_)) | Some(ExtendedType::Union(_)) => {
                self.possible.get(type_name).cloned().unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }

    fn enum_values(&self, name: &Name) -> Option<Arc<HashSet<String>>> {
        match self.schema.types.get(name) {
            Some(ExtendedType::Enum(e)) => {
                Some(Arc::new(e.values.keys().map(|v| v.to_string()).collect()))
            }
            _ => None,
        }
    }

    fn applies(&self, condition: &Name, runtime: &Name) -> bool {
        condition == runtime
            || self
                .possible
                .get(condition)
                .is_some_and(|types| types.contains(runtime))
    }

    /// `sets` are all the selection sets merged at this position (same response key
    /// selected several times, possibly through fragments).
    /// `path`: the data keys leading here (where the planner's renames apply).
    fn object_shape(
        &self,
        static_type: &Name,
        sets: &[&Selections],
        root: bool,
        path: &[Name],
    ) -> ObjectShape {
        let is_abstract = !matches!(
            self.schema.types.get(static_type),
            Some(ExtendedType::Object(_))
        );
        let mut runtimes = self.possible_types(static_type);
        if is_abstract {
            // Objects from an @interfaceObject subgraph may still carry the interface's
            // own name when no concrete type was needed.
            runtimes.push(static_type.clone());
        }
        let by_type = runtimes
            .into_iter()
            .map(|runtime| {
                let mut collected: IndexMap<Name, Vec<&Field>> = IndexMap::new();
                for set in sets {
                    self.collect(set, &runtime, &mut collected);
                }
                let fields = collected
                    .into_iter()
                    .map(|(key, fields)| self.field_shape(key, &fields, root, &runtime, path))
                    .collect();
                (runtime, fields)
            })
            .collect();
        ObjectShape {
            by_type,
            is_abstract,
            static_type: static_type.clone(),
        }
    }

    fn collect<'s>(
        &self,
        set: &'s Selections,
        runtime: &Name,
        out: &mut IndexMap<Name, Vec<&'s Field>>,
    ) {
        for item in &set.items {
            match item {
                Selection::Field(field) => out
                    .entry(field.response_key.clone())
                    .or_default()
                    .push(field),
                Selection::Fragment(fragment) => {
                    if self.applies(&fragment.type_condition, runtime) {
                        self.collect(&fragment.selections, runtime, out);
                    }
                }
            }
        }
    }

    fn field_shape(
        &self,
        key: Name,
        fields: &[&Field],
        root: bool,
        runtime: &Name,
        path: &[Name],
    ) -> FieldShape {
        let first = fields[0];
        let mut key_json = Vec::with_capacity(key.len() + 3);
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut key_json, key.as_str());
        key_json.push(b':');
        let data_key = self
            .renames
            .get(&(path.to_vec(), runtime.clone(), key.clone()))
            .cloned()
            .unwrap_or_else(|| key.clone());
        let kind = if first.is_typename() {
            FieldKind::Typename
        } else if root && first.is_schema_introspection() {
            FieldKind::Verbatim
        } else {
            let sets: Vec<&Selections> = fields.iter().map(|f| &f.selections).collect();
            let mut below = path.to_vec();
            below.push(data_key.clone());
            FieldKind::Value(self.type_shape(&first.ty, &sets, &below))
        };
        FieldShape {
            field_name: first.name.clone(),
            key: ByteString::from(key.as_str()),
            data_key: ByteString::from(data_key.as_str()),
            key_json: key_json.into_boxed_slice(),
            kind,
        }
    }

    fn type_shape(&self, ty: &Type, sets: &[&Selections], path: &[Name]) -> TypeShape {
        match ty {
            Type::Named(name) | Type::NonNullNamed(name) => TypeShape {
                non_null: ty.is_non_null(),
                inner: if self.schema.types.get(name).is_some_and(|t| {
                    matches!(
                        t,
                        ExtendedType::Object(_)
                            | ExtendedType::Interface(_)
                            | ExtendedType::Union(_)
                    )
                }) {
                    Inner::Object(Box::new(self.object_shape(name, sets, false, path)))
                } else {
                    Inner::Leaf(self.enum_values(name))
                },
            },
            Type::List(inner) | Type::NonNullList(inner) => TypeShape {
                non_null: ty.is_non_null(),
                inner: Inner::List(Box::new(self.type_shape(inner, sets, path))),
            },
        }
    }
}

#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Writes JSON while tracking the response path, for errors.
struct Writer<'o, 'p> {
    store: &'o Store,
    possible: &'o PossibleTypes,
    out: &'o mut Vec<u8>,
    path: Vec<Step<'p>>,
    errors: &'o mut Vec<GraphQLError>,
    /// Errors before projection started (from subgraphs and fetches).
    preexisting: usize,
    explained: &'o [Vec<PathSegment>],
}

impl<'p> Writer<'_, 'p> {
    fn object(&mut self, object: NodeId, shape: &'p ObjectShape) -> Result<(), NullBubble> {
        let (runtime, fields) = if shape.is_abstract {
            let possible = self.possible;
            let typename = self
                .store
                .typename(object, &|t: &str| possible.contains_key(t));
            match typename.and_then(|t| shape.by_type.iter().find(|(n, _)| n == t)) {
                Some(entry) => entry,
                // An object whose type the client cannot see: treat as null.
                None => return Err(NullBubble),
            }
        } else {
            match shape.by_type.first() {
                Some(entry) => entry,
                None => return Err(NullBubble),
            }
        };
        self.out.push(b'{');
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.out.extend_from_slice(&field.key_json);
            match &field.kind {
                FieldKind::Typename => write_str(self.out, runtime.as_str()),
                FieldKind::Verbatim => match self.store.get(object, field.data_key.as_str()) {
                    Some(value) => self.store.write(value, self.out),
                    None => self.out.extend_from_slice(b"null"),
                },
                FieldKind::Value(ty) => {
                    self.path.push(Step::Key(field.key.as_str()));
                    let value = self.store.get(object, field.data_key.as_str());
                    let result = self.value(value, ty, runtime, &field.field_name);
                    self.path.pop();
                    result?;
                }
            }
        }
        self.out.push(b'}');
        Ok(())
    }

    /// `parent` and `field` name the schema field this value belongs to.
    fn value(
        &mut self,
        value: Option<NodeId>,
        ty: &'p TypeShape,
        parent: &Name,
        field: &Name,
    ) -> Result<(), NullBubble> {
        let start = self.out.len();
        let node = value.map(|v| self.store.node(v));
        let result = match (value, node) {
            (None, _) | (_, Some(Node::Null)) => {
                if ty.non_null {
                    self.null_violation(parent, field);
                }
                Err(NullBubble)
            }
            (Some(value), Some(node)) => match (&ty.inner, node) {
                (Inner::Leaf(Some(allowed)), _) => match self.store.plain_str(value) {
                    Some(v) if allowed.contains(v) => {
                        self.store.write(value, self.out);
                        Ok(())
                    }
                    // A value the client's schema does not have (an @inaccessible one).
                    _ => {
                        self.field_error(format!(
                            "Invalid value found for field {parent}.{field}."
                        ));
                        Err(NullBubble)
                    }
                },
                (Inner::Leaf(None), _) => {
                    self.store.write(value, self.out);
                    Ok(())
                }
                (Inner::Object(shape), Node::Object { .. }) => {
                    if shape.is_abstract {
                        let possible = self.possible;
                        let typename = self
                            .store
                            .typename(value, &|t: &str| possible.contains_key(t));
                        if let Some(typename) = typename
                            && !shape.by_type.iter().any(|(n, _)| n == typename)
                        {
                            // A type the client cannot see (e.g. @inaccessible).
                            let at = match self.path.last() {
                                Some(Step::Index(i)) => format!(
                                    "array element of type {} at index {i}",
                                    shape.static_type
                                ),
                                _ => format!("field {parent}.{field}"),
                            };
                            self.field_error(format!(
                                "Invalid __typename found for object at {at}."
                            ));
                            return self.null_or_bubble(start, ty);
                        }
                    }
                    self.object(value, shape)
                }
                (Inner::List(item), Node::Array { .. }) => self.list(value, item, parent, field),
                // A shape the schema does not allow (subgraph returned garbage): null.
                _ => Err(NullBubble),
            },
            (Some(_), None) => Err(NullBubble),
        };
        match result {
            Ok(()) => Ok(()),
            Err(_) => self.null_or_bubble(start, ty),
        }
    }

    /// Writes `null` in place of what was written since `start`, or bubbles when the
    /// position is non-null.
    fn null_or_bubble(&mut self, start: usize, ty: &TypeShape) -> Result<(), NullBubble> {
        if ty.non_null {
            return Err(NullBubble);
        }
        self.out.truncate(start);
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn current_path(&self) -> Vec<PathSegment> {
        self.path
            .iter()
            .map(|s| match s {
                Step::Key(k) => PathSegment::Key(ByteString::from(*k)),
                Step::Index(i) => PathSegment::Index(*i),
            })
            .collect()
    }

    fn field_error(&mut self, message: String) {
        let path = self.current_path();
        self.errors.push(GraphQLError::new(message).with_path(path));
    }

    fn list(
        &mut self,
        list: NodeId,
        item_ty: &'p TypeShape,
        parent: &Name,
        field: &Name,
    ) -> Result<(), NullBubble> {
        self.out.push(b'[');
        for (i, &item) in self.store.items(list).iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.path.push(Step::Index(i));
            let result = self.value(Some(item), item_ty, parent, field);
            self.path.pop();
            result?;
        }
        self.out.push(b']');
        Ok(())
    }

    fn null_violation(&mut self, parent: &Name, field: &Name) {
        let path = self.current_path();
        if self.explained.iter().any(|place| path.starts_with(place)) {
            return;
        }
        // An error at or below the parent object (a root field: at or below the field)
        // already explains a missing value here: the subgraph nulled it, or the entity
        // holding it failed.
        let scope = if path.len() > 1 {
            &path[..path.len() - 1]
        } else {
            &path[..]
        };
        let explained = self.errors[..self.preexisting]
            .iter()
            .any(|e| e.path.as_deref().is_some_and(|p| p.starts_with(scope)));
        if !explained {
            self.errors.push(
                GraphQLError::new(format!(
                    "Cannot return null for non-nullable field {parent}.{field}."
                ))
                .with_path(path),
            );
        }
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(out, s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation::{compile, condition_variables, normalize};

    const SDL: &str = r#"
        type Query { me: User, users: [User!]!, node(id: ID!): Node, strict: User! }
        interface Node { id: ID! }
        type User implements Node { id: ID!, name: String, email: String!, friends: [User!] }
        type Post implements Node { id: ID!, title: String }
    "#;

    fn project(query: &str, data: &str) -> String {
        let schema = Schema::parse_and_validate(SDL, "s.graphql").unwrap();
        let doc = compile(&schema, query).unwrap();
        let op = doc.operations.get(None).unwrap();
        let names = condition_variables(&doc, op);
        let normalized = normalize(&doc, op, &names, &vec![false; names.len()]);
        let possible = possible_types(&schema);
        let projection = Projection::new(&schema, &possible, &normalized, &Renames::new());
        let mut out = Vec::new();
        let mut errors = Vec::new();
        write(&projection, &possible, data, &mut out, &mut errors, &[]);
        String::from_utf8(out).unwrap()
    }

    fn write(
        projection: &Projection,
        possible: &PossibleTypes,
        data: &str,
        out: &mut Vec<u8>,
        errors: &mut Vec<GraphQLError>,
        explained: &[Vec<PathSegment>],
    ) {
        let mut store = Store::new();
        let root = store.parse(bytes::Bytes::from(data.to_string())).unwrap();
        projection.write(&store, root, possible, out, errors, explained);
    }

    #[test]
    fn writes_requested_fields_in_order_with_aliases() {
        // Subgraph data is keyed by response keys: the router sends the client's aliases.
        let out = project(
            "{ me { n: name id __typename } }",
            r#"{"me":{"id":"1","n":"Ada","email":"x@y","__typename":"User"}}"#,
        );
        assert_eq!(out, r#"{"me":{"n":"Ada","id":"1","__typename":"User"}}"#);
    }

    #[test]
    fn drops_fields_not_asked_for() {
        let out = project("{ me { id } }", r#"{"me":{"id":"1","name":"secret"}}"#);
        assert_eq!(out, r#"{"me":{"id":"1"}}"#);
    }

    #[test]
    fn null_in_non_null_bubbles_to_nearest_nullable() {
        // email is String!: the user becomes null, the list item is User! so the list
        // becomes null, and users is [User!]! so data becomes null.
        let out = project(
            "{ users { id email } }",
            r#"{"users":[{"id":"1","email":null}]}"#,
        );
        assert_eq!(out, "null");
        let out = project("{ me { id email } }", r#"{"me":{"id":"1"}}"#);
        assert_eq!(out, r#"{"me":null}"#);
        let out = project(
            "{ me { friends { email } } }",
            r#"{"me":{"friends":[{"email":"a"},{"email":null}]}}"#,
        );
        assert_eq!(out, r#"{"me":{"friends":null}}"#);
    }

    #[test]
    fn abstract_types_pick_fields_by_typename() {
        let out = project(
            "{ node(id: 1) { id ... on User { name } ... on Post { title } __typename } }",
            r#"{"node":{"__typename":"Post","id":"p","title":"T","name":"no"}}"#,
        );
        assert_eq!(
            out,
            r#"{"node":{"id":"p","title":"T","__typename":"Post"}}"#
        );
    }

    #[test]
    fn merges_repeated_fields_from_fragments() {
        let out = project(
            "{ me { ... on User { friends { id } } friends { name } } }",
            r#"{"me":{"friends":[{"id":"2","name":"B"}]}}"#,
        );
        assert_eq!(out, r#"{"me":{"friends":[{"id":"2","name":"B"}]}}"#);
    }

    #[test]
    fn wrong_shapes_become_null() {
        let out = project("{ me { id name } }", r#"{"me":[1,2]}"#);
        assert_eq!(out, r#"{"me":null}"#);
        let out = project("{ strict { id } }", r#"{"strict":"oops"}"#);
        assert_eq!(out, "null");
    }

    #[test]
    fn null_violations_are_reported_once_with_their_path() {
        let schema = Schema::parse_and_validate(SDL, "s.graphql").unwrap();
        let doc = compile(&schema, "{ me { friends { email } } }").unwrap();
        let op = doc.operations.get(None).unwrap();
        let normalized = normalize(&doc, op, &[], &[]);
        let possible = possible_types(&schema);
        let projection = Projection::new(&schema, &possible, &normalized, &Renames::new());
        let value = r#"{"me":{"friends":[{"email":"a"},{"email":null}]}}"#;
        let mut out = Vec::new();
        let mut errors = Vec::new();
        write(&projection, &possible, value, &mut out, &mut errors, &[]);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].message,
            "Cannot return null for non-nullable field User.email."
        );
        assert_eq!(
            serde_json::to_string(&errors[0].path).unwrap(),
            r#"["me","friends",1,"email"]"#
        );
        // A subgraph error at the same path already explains it.
        let mut errors = vec![GraphQLError::new("boom").with_path(vec![
            PathSegment::Key("me".into()),
            PathSegment::Key("friends".into()),
            PathSegment::Index(1),
            PathSegment::Key("email".into()),
        ])];
        write(
            &projection,
            &possible,
            value,
            &mut Vec::new(),
            &mut errors,
            &[],
        );
        assert_eq!(errors.len(), 1);
        // Missing because the fetch for `me` failed: that error explains it.
        let missing = r#"{"me":{"friends":[{}]}}"#;
        let mut errors = Vec::new();
        let failed_fetch = vec![vec![PathSegment::Key("me".into())]];
        write(
            &projection,
            &possible,
            missing,
            &mut Vec::new(),
            &mut errors,
            &failed_fetch,
        );
        assert!(errors.is_empty());
    }

    #[test]
    fn root_typename() {
        let out = project("{ __typename }", r#"{}"#);
        assert_eq!(out, r#"{"__typename":"Query"}"#);
    }
}
