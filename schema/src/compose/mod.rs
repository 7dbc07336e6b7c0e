//! Composition of federation subgraph SDLs into a supergraph SDL, as
//! `@apollo/composition` does it.
//!
//! Federation 2 subgraphs (`@link` to federation v2.0–v2.9, renamed or prefixed imports)
//! and Federation 1 subgraphs (upgraded first, `fed1.rs`). Implemented: `@key` (with
//! `resolvable`), `@shareable`, `@external`, `@requires`, `@provides`, `@override` (with
//! progressive `label`), `@inaccessible`, `@tag`, `@interfaceObject`, `extend type` /
//! `@extends`, custom root type names; the linked specs in `specs.rs` (access control,
//! demand control, `@context`); merging of objects, interfaces, unions, enums, input
//! objects and scalars with Apollo's rules and error codes; and the satisfiability check
//! (`SATISFIABILITY_ERROR`); `@composeDirective` (`composed_directives.rs`). Not yet:
//! `@fromContext` arguments (see `tests/composition/KNOWN_DISAGREEMENTS`).

mod composed_directives;
mod error;
mod extract;
mod fed1;
mod federation_spec;
mod merge;
mod metadata;
mod print;
mod satisfiability;
mod specs;
mod subgraph;

pub use error::{CompositionError, SourceLocation};

/// The schema a federation subgraph serves for `sdl`, with `_service` and `_entities`;
/// what a subgraph server (or a test double of one) executes operations against.
pub fn served_subgraph_schema(
    name: &str,
    sdl: &str,
) -> Result<apollo_compiler::validation::Valid<apollo_compiler::Schema>, Vec<CompositionError>> {
    Subgraph::served_schema(name, sdl)
}

use crate::supergraph::{Supergraph, SupergraphError};
use apollo_compiler::Name;
use composed_directives::ComposedDirectives;
use error::code;
pub use extract::subgraphs_of;
use metadata::Metadata;
use subgraph::Subgraph;

/// One subgraph to compose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubgraphInput {
    /// Unique name; becomes `@join__graph(name:)`.
    pub name: String,
    /// Where the router reaches it; becomes `@join__graph(url:)`.
    pub url: String,
    /// The subgraph's Federation 2 SDL (as served by `_service { sdl }`).
    pub sdl: String,
}

/// Composes `subgraphs` into a supergraph SDL, or reports every problem found.
///
/// The result does not depend on the order of `subgraphs` (they are sorted by name).
pub fn compose(subgraphs: &[SubgraphInput]) -> Result<String, Vec<CompositionError>> {
    let mut inputs: Vec<&SubgraphInput> = subgraphs.iter().collect();
    inputs.sort_by(|a, b| a.name.cmp(&b.name));
    check_names(&inputs)?;

    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    let upgrade_context = fed1::UpgradeContext::new(&inputs);
    for input in inputs {
        match Subgraph::parse(input, &upgrade_context) {
            Ok(subgraph) => parsed.push(subgraph),
            Err(subgraph_errors) => errors.extend(subgraph_errors),
        }
    }
    for subgraph in &mut parsed {
        let (meta, subgraph_errors) = Metadata::analyze(subgraph);
        subgraph.meta = meta;
        errors.extend(subgraph_errors);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let composed_directives = ComposedDirectives::resolve(&parsed)?;

    let graph_values = graph_enum_values(parsed.iter().map(|s| s.name.as_str()));
    let merged = merge::merge(&parsed, &graph_values, &composed_directives)?;
    let sdl = print::supergraph_sdl(&parsed, &graph_values, &merged, &composed_directives);
    // The supergraph model is the contract: what it refuses, composition must not produce.
    let supergraph = Supergraph::parse_composed(&sdl).map_err(|e| vec![supergraph_error(e)])?;
    let unsatisfiable = satisfiability::check(&supergraph);
    if !unsatisfiable.is_empty() {
        return Err(unsatisfiable);
    }
    Ok(sdl)
}

fn check_names(inputs: &[&SubgraphInput]) -> Result<(), Vec<CompositionError>> {
    let mut errors = Vec::new();
    if inputs.is_empty() {
        errors.push(CompositionError::new(
            code::NO_QUERIES,
            "No subgraphs to compose.",
        ));
    }
    for (i, input) in inputs.iter().enumerate() {
        if input.name.trim().is_empty() {
            errors.push(CompositionError::new(
                code::INVALID_SUBGRAPH_NAME,
                "A subgraph has an empty name.",
            ));
        } else if input.name == "_" {
            // Apollo reserves `_` for its own use.
            errors.push(CompositionError::new(
                code::INVALID_SUBGRAPH_NAME,
                "[_] Invalid name _ for a subgraph: this name is reserved",
            ));
        } else if i > 0 && inputs[i - 1].name == input.name {
            errors.push(CompositionError::new(
                code::INVALID_SUBGRAPH_NAME,
                format!("Subgraph name \"{}\" is used more than once.", input.name),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// `join__Graph` values: the subgraph name upper-cased, other characters as `_`, made unique.
fn graph_enum_values<'a>(names: impl Iterator<Item = &'a str>) -> Vec<Name> {
    let mut values: Vec<Name> = Vec::new();
    for name in names {
        let mut base: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        if base.starts_with(|c: char| c.is_ascii_digit()) {
            base.insert(0, '_');
        }
        if base.starts_with("__") {
            // `__` names are reserved for introspection.
            base.insert(0, 'G');
        }
        let mut candidate = base.clone();
        let mut suffix = 1;
        while values.iter().any(|v| v.as_str() == candidate) {
            candidate = format!("{base}_{suffix}");
            suffix += 1;
        }
        // Only ASCII letters, digits and `_`, not starting with a digit: a valid name.
        values.push(Name::new_unchecked(&candidate));
    }
    values
}

fn supergraph_error(error: SupergraphError) -> CompositionError {
    let error_code = match &error {
        SupergraphError::ReferencedInaccessible { .. } => code::REFERENCED_INACCESSIBLE,
        SupergraphError::RequiredInaccessible { .. } => code::REQUIRED_INACCESSIBLE,
        SupergraphError::QueryRootInaccessible { .. } => code::QUERY_ROOT_TYPE_INACCESSIBLE,
        SupergraphError::OnlyInaccessibleChildren { .. } => code::ONLY_INACCESSIBLE_CHILDREN,
        _ => code::INVALID_GRAPHQL,
    };
    CompositionError::new(
        error_code,
        format!("The composed supergraph is refused: {error}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_enum_values_are_valid_unique_names() {
        let values = graph_enum_values(["accounts", "a-b", "a_b", "2fa", "ü"].into_iter());
        let values: Vec<&str> = values.iter().map(|v| v.as_str()).collect();
        assert_eq!(values, ["ACCOUNTS", "A_B", "A_B_1", "_2FA", "_"]);
        let values = graph_enum_values(["--x"].into_iter());
        assert_eq!(values[0].as_str(), "G__X");
    }

    #[test]
    fn supergraph_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Supergraph>();
        assert_send_sync::<CompositionError>();
    }
}
