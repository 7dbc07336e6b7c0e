//! The CI check of a proposed subgraph change: does it compose, what does it change in
//! the API schema, and which known operations does it break.
//!
//! A breaking change that none of the given operations touches is reported as
//! safe-by-usage, the way GraphOS judges changes against recorded traffic. With no
//! operations at all there is no usage to go by, and breaking changes fail the check.

use crate::compose::{CompositionError, SubgraphInput, compose};
use crate::diff::{Change, Criticality, diff};
use crate::supergraph::Supergraph;
use apollo_compiler::executable::{Selection, SelectionSet};
use apollo_compiler::{ExecutableDocument, Schema};
use std::collections::HashSet;

/// An operation clients are known to send: from a persisted-query manifest or from the
/// usage routers reported.
#[derive(Debug, Clone)]
pub struct KnownOperation {
    /// How the report names it: the manifest id or operation name.
    pub name: String,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct CheckedChange {
    pub change: Change,
    /// Known operations that use what changed.
    pub affected_operations: Vec<String>,
    /// Breaking by the rules, but no known operation uses what changed.
    pub safe_by_usage: bool,
}

#[derive(Debug, Clone)]
pub struct OperationFailure {
    pub operation: String,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub composition_errors: Vec<CompositionError>,
    pub changes: Vec<CheckedChange>,
    pub operations_checked: usize,
    /// Known operations that no longer validate against the new API schema.
    pub operation_failures: Vec<OperationFailure>,
    /// The supergraph the change composes to (when it does).
    pub supergraph: Option<String>,
}

impl CheckReport {
    pub fn passed(&self) -> bool {
        self.composition_errors.is_empty()
            && self.operation_failures.is_empty()
            && !self
                .changes
                .iter()
                .any(|c| c.change.criticality == Criticality::Breaking && !c.safe_by_usage)
    }

    /// The report as JSON, the shape `junction schema check --format json` prints and
    /// the registry returns.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        json!({
            "passed": self.passed(),
            "compositionErrors": self.composition_errors.iter().map(|e| json!({
                "code": e.code,
                "message": e.message,
                "locations": e.locations.iter().map(|l| json!({
                    "subgraph": l.subgraph, "line": l.line, "column": l.column,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "changes": self.changes.iter().map(|c| json!({
                "type": c.change.kind,
                "criticality": c.change.criticality.as_str(),
                "path": c.change.path,
                "message": c.change.message,
                "safeByUsage": c.safe_by_usage,
                "affectedOperations": c.affected_operations,
            })).collect::<Vec<_>>(),
            "operations": {
                "checked": self.operations_checked,
                "failures": self.operation_failures.iter().map(|f| json!({
                    "operation": f.operation, "message": f.message,
                })).collect::<Vec<_>>(),
            },
        })
    }

    /// Breaking changes that fail the check.
    pub fn blocking_changes(&self) -> impl Iterator<Item = &CheckedChange> {
        self.changes
            .iter()
            .filter(|c| c.change.criticality == Criticality::Breaking && !c.safe_by_usage)
    }
}

/// Checks `proposed` (the full subgraph list with the change applied) against the
/// supergraph in service now (`current`, absent before the first publish).
pub fn check(
    current: Option<&Supergraph>,
    proposed: &[SubgraphInput],
    operations: &[KnownOperation],
) -> CheckReport {
    let mut report = CheckReport::default();
    let sdl = match compose(proposed) {
        Ok(sdl) => sdl,
        Err(errors) => {
            report.composition_errors = errors;
            return report;
        }
    };
    let new = match Supergraph::parse(&sdl) {
        Ok(new) => new,
        Err(e) => {
            report.composition_errors = vec![CompositionError {
                code: "INVALID_SUPERGRAPH",
                message: e.to_string(),
                locations: Vec::new(),
            }];
            return report;
        }
    };
    report.supergraph = Some(sdl);
    let new_api = new.api_schema();

    // What each operation uses, judged against the schema it was written for.
    let usage_schema = current.map(|c| c.api_schema()).unwrap_or(new_api);
    let mut usages = Vec::with_capacity(operations.len());
    for operation in operations {
        if let Err(errors) =
            ExecutableDocument::parse_and_validate(new_api, &operation.body, "operation.graphql")
        {
            let message = errors
                .errors
                .iter()
                .map(|e| e.error.to_string())
                .collect::<Vec<_>>()
                .join("; ");
            report.operation_failures.push(OperationFailure {
                operation: operation.name.clone(),
                message,
            });
        }
        usages.push(used_coordinates(usage_schema, &operation.body));
    }
    report.operations_checked = operations.len();

    let changes = match current {
        Some(current) => diff(current.api_schema(), new_api),
        None => Vec::new(),
    };
    report.changes = changes
        .into_iter()
        .map(|change| {
            let target = change_target(&change);
            let affected_operations: Vec<String> = operations
                .iter()
                .zip(&usages)
                .filter(|(_, used)| match &target {
                    Some(target) => used.as_ref().is_none_or(|u| u.contains(target)),
                    None => true,
                })
                .map(|(op, _)| op.name.clone())
                .collect();
            let safe_by_usage = change.criticality == Criticality::Breaking
                && !operations.is_empty()
                && affected_operations.is_empty();
            CheckedChange {
                change,
                affected_operations,
                safe_by_usage,
            }
        })
        .collect();
    report
}

/// The coordinate an operation must use to be affected: `Type.field` for fields and
/// their arguments, the type for input fields, enum values, members and interfaces,
/// `@name` for directives. `None`: every operation (a root type changed).
fn change_target(change: &Change) -> Option<String> {
    let path = change.path.as_deref()?;
    let segments: Vec<&str> = path.split('.').collect();
    if path.starts_with('@') {
        return Some(segments[0].to_owned());
    }
    let kind = change.kind;
    let keep = if kind.starts_with("DIRECTIVE_USAGE_") {
        // `Type.field.directive`: what the directive is on.
        match segments.len() {
            0..=2 => 1,
            _ => 2,
        }
    } else if kind.starts_with("FIELD_") {
        2
    } else {
        1
    };
    Some(segments[..keep.min(segments.len())].join("."))
}

/// Every type (`Type`), field (`Type.field`) and directive (`@name`) an operation uses;
/// `None` when it does not even parse against `schema` (it is then assumed to use
/// everything).
fn used_coordinates(
    schema: &apollo_compiler::validation::Valid<Schema>,
    body: &str,
) -> Option<HashSet<String>> {
    let document =
        ExecutableDocument::parse_and_validate(schema, body, "operation.graphql").ok()?;
    let mut used = HashSet::new();
    for operation in document.operations.iter() {
        for variable in &operation.variables {
            input_type_usage(schema, variable.ty.inner_named_type(), &mut used);
        }
        for directive in &operation.directives {
            used.insert(format!("@{}", directive.name));
        }
        selection_set_usage(schema, &operation.selection_set, &mut used);
    }
    for fragment in document.fragments.values() {
        for directive in &fragment.directives {
            used.insert(format!("@{}", directive.name));
        }
        selection_set_usage(schema, &fragment.selection_set, &mut used);
    }
    Some(used)
}

fn selection_set_usage(schema: &Schema, set: &SelectionSet, used: &mut HashSet<String>) {
    used.insert(set.ty.to_string());
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => {
                used.insert(format!("{}.{}", set.ty, field.name));
                for directive in &field.directives {
                    used.insert(format!("@{}", directive.name));
                }
                for argument in &field.definition.arguments {
                    input_type_usage(schema, argument.ty.inner_named_type(), used);
                }
                used.insert(field.ty().inner_named_type().to_string());
                selection_set_usage(schema, &field.selection_set, used);
            }
            Selection::FragmentSpread(spread) => {
                for directive in &spread.directives {
                    used.insert(format!("@{}", directive.name));
                }
            }
            Selection::InlineFragment(inline) => {
                for directive in &inline.directives {
                    used.insert(format!("@{}", directive.name));
                }
                selection_set_usage(schema, &inline.selection_set, used);
            }
        }
    }
}

/// An input type and everything reachable from it: a client may send any of it.
fn input_type_usage(schema: &Schema, name: &str, used: &mut HashSet<String>) {
    if !used.insert(name.to_owned()) {
        return;
    }
    if let Some(apollo_compiler::schema::ExtendedType::InputObject(input)) = schema.types.get(name)
    {
        for field in input.fields.values() {
            input_type_usage(schema, field.ty.inner_named_type(), used);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(kind: &'static str, path: &str) -> Change {
        Change {
            kind,
            criticality: Criticality::Breaking,
            path: Some(path.to_owned()),
            message: String::new(),
        }
    }

    #[test]
    fn changes_target_the_coordinate_operations_use() {
        let target = |kind, path| change_target(&change(kind, path)).unwrap();
        assert_eq!(target("FIELD_REMOVED", "User.name"), "User.name");
        assert_eq!(
            target("FIELD_ARGUMENT_ADDED", "Query.users.first"),
            "Query.users"
        );
        assert_eq!(
            target("INPUT_FIELD_ADDED", "UserFilter.email"),
            "UserFilter"
        );
        assert_eq!(target("ENUM_VALUE_REMOVED", "Role.GUEST"), "Role");
        assert_eq!(
            target("UNION_MEMBER_REMOVED", "SearchResult"),
            "SearchResult"
        );
        assert_eq!(target("DIRECTIVE_ARGUMENT_REMOVED", "@tag.name"), "@tag");
        assert_eq!(
            target("DIRECTIVE_USAGE_INPUT_OBJECT_ADDED", "UserBy.oneOf"),
            "UserBy"
        );
        assert_eq!(
            target("DIRECTIVE_USAGE_FIELD_DEFINITION_ADDED", "User.name.x"),
            "User.name"
        );
    }
}
