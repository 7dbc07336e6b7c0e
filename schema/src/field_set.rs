//! Field sets (`@key(fields:)`, `@requires`, `@provides`, `join__FieldSet`) in a form the
//! router can walk without re-parsing.

use apollo_compiler::ast;
use apollo_compiler::executable;
use apollo_compiler::validation::{DiagnosticList, Valid};
use apollo_compiler::{Name, Node, Schema};

/// A parsed field set, with the text it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSet {
    source: String,
    selections: Vec<Selection>,
}

/// One selection of a field set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Field(FieldSelection),
    InlineFragment(InlineFragmentSelection),
}

/// `name(args) { nested }`; `selections` is empty for leaf fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSelection {
    pub name: Name,
    pub arguments: Vec<Node<ast::Argument>>,
    pub selections: Vec<Selection>,
}

/// `... on Type { nested }` (allowed in `@requires`/`@provides` on abstract types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineFragmentSelection {
    pub type_condition: Option<Name>,
    pub selections: Vec<Selection>,
}

impl FieldSet {
    /// The field set as written, e.g. `"price weight"`.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The top-level selections.
    pub fn selections(&self) -> &[Selection] {
        &self.selections
    }

    /// Names of the top-level fields (inline fragments excluded).
    pub fn top_level_fields(&self) -> impl Iterator<Item = &Name> {
        self.selections.iter().filter_map(|s| match s {
            Selection::Field(f) => Some(&f.name),
            Selection::InlineFragment(_) => None,
        })
    }

    /// Parses and validates `source` against `parent_type` of `schema`.
    pub(crate) fn parse(
        schema: &Valid<Schema>,
        parent_type: &Name,
        source: &str,
    ) -> Result<FieldSet, String> {
        let parsed = parse_executable(schema, parent_type, source)?;
        Ok(FieldSet {
            source: source.to_string(),
            selections: convert(&parsed.selection_set),
        })
    }
}

/// Parses and validates a field set into apollo-compiler's typed form.
pub(crate) fn parse_executable(
    schema: &Valid<Schema>,
    parent_type: &Name,
    source: &str,
) -> Result<Valid<executable::FieldSet>, String> {
    executable::FieldSet::parse_and_validate(schema, parent_type.clone(), source, "field set")
        .map_err(|e| diagnostics_summary(&e.errors))
}

fn convert(set: &executable::SelectionSet) -> Vec<Selection> {
    set.selections
        .iter()
        .filter_map(|selection| match selection {
            executable::Selection::Field(field) => Some(Selection::Field(FieldSelection {
                name: field.name.clone(),
                arguments: field.arguments.clone(),
                selections: convert(&field.selection_set),
            })),
            executable::Selection::InlineFragment(fragment) => {
                Some(Selection::InlineFragment(InlineFragmentSelection {
                    type_condition: fragment.type_condition.clone(),
                    selections: convert(&fragment.selection_set),
                }))
            }
            // Validation rejects fragment spreads in a field set (no fragments can exist).
            executable::Selection::FragmentSpread(_) => None,
        })
        .collect()
}

/// One line per diagnostic, without the source excerpts of the CLI report.
pub(crate) fn diagnostics_summary(list: &DiagnosticList) -> String {
    list.iter()
        .map(|d| match d.line_column_range() {
            Some(range) => format!(
                "{} (line {}, column {})",
                d.error, range.start.line, range.start.column
            ),
            None => d.error.to_string(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use apollo_compiler::name;

    #[test]
    fn parses_nested_selections() {
        let schema = Schema::parse_and_validate(
            "type Query { t: T } type T { id: ID! org: Org } type Org { id: ID! }",
            "s.graphql",
        )
        .expect("valid schema");
        let set = FieldSet::parse(&schema, &name!("T"), "id org { id }").expect("valid set");
        assert_eq!(set.as_str(), "id org { id }");
        let names: Vec<_> = set.top_level_fields().map(|n| n.as_str()).collect();
        assert_eq!(names, ["id", "org"]);
        let Selection::Field(org) = &set.selections()[1] else {
            panic!("expected a field selection");
        };
        assert_eq!(org.selections.len(), 1);
        let err = FieldSet::parse(&schema, &name!("T"), "nope").expect_err("unknown field");
        assert!(err.contains("nope"), "{err}");
    }
}
