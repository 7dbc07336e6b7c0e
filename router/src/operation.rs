//! Operation stage: parse and validate a document against the API schema, pick the
//! operation, and normalise it into the tree the planner and the projection walk.
//!
//! Normalising inlines named fragments and resolves `@skip`/`@include`. Conditions that
//! use variables are resolved with the request's values, which is why a plan is cached
//! per (document, operation, values of the condition variables).

use crate::response::{GraphQLError, Location, codes};
use apollo_compiler::ast::{self, OperationType, Type, Value as AstValue};
use apollo_compiler::diagnostic::ToCliReport;
use apollo_compiler::executable::{self, ExecutableDocument};
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Node, Schema};
use std::collections::HashSet;

/// Parses and validates `query`. Errors carry locations and a code saying whether the
/// text did not parse or did not validate.
pub fn compile(
    schema: &Valid<Schema>,
    query: &str,
) -> Result<Valid<ExecutableDocument>, Vec<GraphQLError>> {
    ExecutableDocument::parse_and_validate(schema, query, "operation.graphql").map_err(|e| {
        let parse_failed = e
            .errors
            .iter()
            .any(|d| d.error.to_string().starts_with("syntax error"));
        let code = if parse_failed {
            codes::PARSING_ERROR
        } else {
            codes::VALIDATION_ERROR
        };
        let ast = ast::Document::parse(query, "operation.graphql").ok();
        e.errors
            .iter()
            .filter(|d| !is_spurious_missing_subselection(d.error, ast.as_ref()))
            .map(|d| {
                let compat = d.unstable_to_json_compat();
                let mut error = GraphQLError::new(compat.message).with_code(code);
                error.locations = compat
                    .locations
                    .iter()
                    .map(|l| Location {
                        line: l.line,
                        column: l.column,
                    })
                    .collect();
                error
            })
            .collect()
    })
}

/// apollo-compiler drops unknown fields while building the document, so a field whose
/// selection held only unknown fields also gets "must have a selection of subfields".
/// graphql-js reports only the unknown fields; so do we. Runs on the error path only.
fn is_spurious_missing_subselection(
    error: &apollo_compiler::validation::DiagnosticData,
    ast: Option<&ast::Document>,
) -> bool {
    if error.unstable_error_name() != Some("MissingSubselection") {
        return false;
    }
    let (Some(ast), Some(location)) = (ast, error.location()) else {
        return false;
    };
    fn has_selection_at(selections: &[ast::Selection], offset: usize) -> bool {
        selections.iter().any(|s| match s {
            ast::Selection::Field(f) => {
                (f.location().is_some_and(|l| l.offset() == offset) && !f.selection_set.is_empty())
                    || has_selection_at(&f.selection_set, offset)
            }
            ast::Selection::InlineFragment(f) => has_selection_at(&f.selection_set, offset),
            ast::Selection::FragmentSpread(_) => false,
        })
    }
    ast.definitions.iter().any(|d| match d {
        ast::Definition::OperationDefinition(op) => {
            has_selection_at(&op.selection_set, location.offset())
        }
        ast::Definition::FragmentDefinition(f) => {
            has_selection_at(&f.selection_set, location.offset())
        }
        _ => false,
    })
}

/// The variables that appear in `@skip(if:)` / `@include(if:)` anywhere the operation
/// reaches, in a stable order. Their values select the plan.
pub fn condition_variables(
    document: &ExecutableDocument,
    operation: &executable::Operation,
) -> Vec<Name> {
    let mut found = Vec::new();
    let mut seen_fragments = HashSet::new();
    collect_condition_variables(
        document,
        &operation.selection_set,
        &mut found,
        &mut seen_fragments,
    );
    found
}

fn collect_condition_variables(
    document: &ExecutableDocument,
    set: &executable::SelectionSet,
    found: &mut Vec<Name>,
    seen_fragments: &mut HashSet<Name>,
) {
    for selection in &set.selections {
        let (directives, child) = match selection {
            executable::Selection::Field(f) => (&f.directives, Some(&f.selection_set)),
            executable::Selection::InlineFragment(f) => (&f.directives, Some(&f.selection_set)),
            executable::Selection::FragmentSpread(s) => {
                let child = if seen_fragments.insert(s.fragment_name.clone()) {
                    document
                        .fragments
                        .get(&s.fragment_name)
                        .map(|f| &f.selection_set)
                } else {
                    None
                };
                (&s.directives, child)
            }
        };
        for directive in directives.iter() {
            if (directive.name == "skip" || directive.name == "include")
                && let Some(AstValue::Variable(var)) =
                    directive.specified_argument_by_name("if").map(|v| &**v)
                && !found.contains(var)
            {
                found.push(var.clone());
            }
        }
        if let Some(child) = child {
            collect_condition_variables(document, child, found, seen_fragments);
        }
    }
}

/// Whether the operation reads, writes or subscribes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    Query,
    Mutation,
    Subscription,
}

impl From<OperationType> for OperationKind {
    fn from(t: OperationType) -> Self {
        match t {
            OperationType::Query => OperationKind::Query,
            OperationType::Mutation => OperationKind::Mutation,
            OperationType::Subscription => OperationKind::Subscription,
        }
    }
}

/// An operation with fragments inlined and conditions resolved.
#[derive(Debug, Clone)]
pub struct NormalizedOperation {
    pub kind: OperationKind,
    pub name: Option<Name>,
    pub root_type: Name,
    pub variables: Vec<Node<executable::VariableDefinition>>,
    pub selections: Selections,
}

/// The selections made on one parent type.
#[derive(Debug, Clone, Default)]
pub struct Selections {
    pub items: Vec<Selection>,
}

#[derive(Debug, Clone)]
pub enum Selection {
    Field(Field),
    /// An inline fragment or an inlined named fragment; always has a type condition
    /// (the enclosing type when the source had none).
    Fragment(Fragment),
}

#[derive(Debug, Clone)]
pub struct Field {
    pub response_key: Name,
    pub name: Name,
    pub arguments: Vec<Node<executable::Argument>>,
    /// The field's type as the API schema declares it.
    pub ty: Type,
    /// Empty for leaf fields.
    pub selections: Selections,
}

#[derive(Debug, Clone)]
pub struct Fragment {
    pub type_condition: Name,
    pub selections: Selections,
}

impl Field {
    pub fn is_typename(&self) -> bool {
        self.name == "__typename"
    }

    pub fn is_schema_introspection(&self) -> bool {
        self.name == "__schema" || self.name == "__type"
    }
}

/// How deeply fields nest (`{ a { b } }` is 2); fragments add no level.
pub fn depth(selections: &Selections) -> usize {
    selections
        .items
        .iter()
        .map(|item| match item {
            Selection::Field(f) => 1 + depth(&f.selections),
            Selection::Fragment(f) => depth(&f.selections),
        })
        .max()
        .unwrap_or(0)
}

/// Values of the condition variables for one request, in the order
/// [`condition_variables`] returned them.
pub fn condition_values(
    names: &[Name],
    variables: &serde_json_bytes::Map<serde_json_bytes::ByteString, serde_json_bytes::Value>,
) -> Vec<bool> {
    names
        .iter()
        .map(|n| {
            matches!(
                variables.get(n.as_str()),
                Some(serde_json_bytes::Value::Bool(true))
            )
        })
        .collect()
}

/// Normalises `operation`; `conditions` pairs with `condition_names`.
pub fn normalize(
    document: &Valid<ExecutableDocument>,
    operation: &executable::Operation,
    condition_names: &[Name],
    conditions: &[bool],
) -> NormalizedOperation {
    let resolver = Conditions {
        names: condition_names,
        values: conditions,
    };
    NormalizedOperation {
        kind: operation.operation_type.into(),
        name: operation.name.clone(),
        root_type: operation.selection_set.ty.clone(),
        variables: operation.variables.clone(),
        selections: normalize_set(document, &operation.selection_set, &resolver, 0),
    }
}

struct Conditions<'a> {
    names: &'a [Name],
    values: &'a [bool],
}

impl Conditions<'_> {
    fn value(&self, v: &AstValue) -> bool {
        match v {
            AstValue::Boolean(b) => *b,
            AstValue::Variable(name) => self
                .names
                .iter()
                .position(|n| n == name)
                .and_then(|i| self.values.get(i).copied())
                .unwrap_or(false),
            _ => false,
        }
    }

    /// Per the spec: excluded if `@skip(if: true)` or `@include(if: false)`.
    fn included(&self, directives: &executable::DirectiveList) -> bool {
        for directive in directives.iter() {
            let Some(arg) = directive.specified_argument_by_name("if") else {
                continue;
            };
            if directive.name == "skip" && self.value(arg) {
                return false;
            }
            if directive.name == "include" && !self.value(arg) {
                return false;
            }
        }
        true
    }
}

/// Fragment cycles are rejected by validation; the depth guard only protects against a
/// validation bug turning into a stack overflow.
const MAX_FRAGMENT_DEPTH: usize = 512;

fn normalize_set(
    document: &Valid<ExecutableDocument>,
    set: &executable::SelectionSet,
    conditions: &Conditions<'_>,
    depth: usize,
) -> Selections {
    let mut items = Vec::with_capacity(set.selections.len());
    if depth > MAX_FRAGMENT_DEPTH {
        return Selections { items };
    }
    for selection in &set.selections {
        match selection {
            executable::Selection::Field(field) => {
                if !conditions.included(&field.directives) {
                    continue;
                }
                items.push(Selection::Field(Field {
                    response_key: field.response_key().clone(),
                    name: field.name.clone(),
                    arguments: field.arguments.clone(),
                    ty: field.definition.ty.clone(),
                    selections: normalize_set(document, &field.selection_set, conditions, depth),
                }));
            }
            executable::Selection::InlineFragment(fragment) => {
                if !conditions.included(&fragment.directives) {
                    continue;
                }
                items.push(Selection::Fragment(Fragment {
                    type_condition: fragment
                        .type_condition
                        .clone()
                        .unwrap_or_else(|| set.ty.clone()),
                    selections: normalize_set(
                        document,
                        &fragment.selection_set,
                        conditions,
                        depth + 1,
                    ),
                }));
            }
            executable::Selection::FragmentSpread(spread) => {
                if !conditions.included(&spread.directives) {
                    continue;
                }
                let Some(fragment) = document.fragments.get(&spread.fragment_name) else {
                    continue;
                };
                items.push(Selection::Fragment(Fragment {
                    type_condition: fragment.type_condition().clone(),
                    selections: normalize_set(
                        document,
                        &fragment.selection_set,
                        conditions,
                        depth + 1,
                    ),
                }));
            }
        }
    }
    Selections { items }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDL: &str = r#"
        type Query { a: A, list: [A!]! }
        interface Named { name: String }
        type A implements Named { name: String, b: Int, nested: A }
    "#;

    fn schema() -> Valid<Schema> {
        Schema::parse_and_validate(SDL, "schema.graphql").unwrap()
    }

    #[test]
    fn parse_error_has_code_and_location() {
        let errors = compile(&schema(), "{ a { name }").unwrap_err();
        assert_eq!(errors[0].code(), Some(codes::PARSING_ERROR));
        assert_eq!(errors[0].locations.len(), 1);
    }

    #[test]
    fn validation_error_has_code_and_location() {
        let errors = compile(&schema(), "{ a { nope } }").unwrap_err();
        assert_eq!(
            errors.len(),
            1,
            "only the unknown field is reported: {errors:?}"
        );
        assert_eq!(errors[0].code(), Some(codes::VALIDATION_ERROR));
        assert!(errors[0].message.contains("nope"), "{}", errors[0].message);
        assert_eq!(errors[0].locations, vec![Location { line: 1, column: 7 }]);
    }

    #[test]
    fn a_really_missing_selection_is_still_reported() {
        let errors = compile(&schema(), "{ a }").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].message.contains("must have a selection"),
            "{errors:?}"
        );
    }

    #[test]
    fn normalizes_fragments_and_conditions() {
        let schema = schema();
        let doc = compile(
            &schema,
            r#"query Q($s: Boolean!, $i: Boolean = true) {
                a { ...F name @skip(if: $s) b @include(if: $i) ... on Named @skip(if: true) { name } }
            }
            fragment F on A { nested { b } }"#,
        )
        .unwrap();
        let op = doc.operations.get(Some("Q")).unwrap();
        let names = condition_variables(&doc, op);
        assert_eq!(
            names.iter().map(Name::as_str).collect::<Vec<_>>(),
            ["s", "i"]
        );
        let normalized = normalize(&doc, op, &names, &[true, true]);
        let Selection::Field(a) = &normalized.selections.items[0] else {
            panic!("expected field")
        };
        let kinds: Vec<String> = a
            .selections
            .items
            .iter()
            .map(|s| match s {
                Selection::Field(f) => f.response_key.to_string(),
                Selection::Fragment(f) => format!("...{}", f.type_condition),
            })
            .collect();
        assert_eq!(kinds, ["...A", "b"]);
        let normalized = normalize(&doc, op, &names, &[false, false]);
        let Selection::Field(a) = &normalized.selections.items[0] else {
            panic!("expected field")
        };
        assert_eq!(a.selections.items.len(), 2, "fragment and name");
    }
}
