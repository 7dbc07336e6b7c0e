//! Differential test of composition against @apollo/composition.
//!
//! Two corpora: the router's fixtures (`router/tests/fixtures/<set>/`, whose
//! `supergraph.graphql` @apollo/composition wrote) and the composition sets
//! (`schema/tests/composition/<set>/`, with `expected.json` and, when the set composes,
//! `supergraph.graphql`, written by `schema/tests/reference/compose.mjs`).
//!
//! A set agrees with the reference when both fail with the same error codes, or both
//! compose and the supergraphs are the same definition by definition (types and directive
//! definitions in the reference's order, the schema's links in any order; fields, values and
//! directive applications in the reference's order). `CORPUS=name` runs the sets whose name ends
//! with `name`, known disagreements included.

use apollo_compiler::Schema;
use apollo_compiler::ast::Definition;
use junction_schema::{SubgraphInput, Supergraph, compose};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

enum Expected {
    Supergraph(String),
    Errors(BTreeSet<String>),
}

struct Set {
    name: String,
    subgraphs: Vec<SubgraphInput>,
    expected: Expected,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn read_subgraphs(dir: &Path, url_of: impl Fn(&str) -> String) -> Vec<SubgraphInput> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir.join("subgraphs"))
        .expect("subgraphs dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "graphql"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .to_string();
            SubgraphInput {
                url: url_of(&name),
                sdl: fs::read_to_string(&path).expect("subgraph sdl"),
                name,
            }
        })
        .collect()
}

fn set_dirs(corpus: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(corpus) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("subgraphs").is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn fixture_url(name: &str) -> String {
    format!("http://{name}.fixture.invalid/graphql")
}

/// Every set of both corpora, filtered by `CORPUS`.
fn sets() -> Vec<Set> {
    let only = std::env::var("CORPUS").ok();
    let mut sets = Vec::new();
    for dir in set_dirs(&root().join("../router/tests/fixtures")) {
        let supergraph = fs::read_to_string(dir.join("supergraph.graphql")).expect("supergraph");
        // The pinned benchmark supergraph has its own URLs: reuse them.
        let parsed = Supergraph::parse(&supergraph).expect("fixture supergraph loads");
        let url_of = |name: &str| {
            parsed
                .graph_by_name(name)
                .map(|g| g.url.clone())
                .unwrap_or_else(|| fixture_url(name))
        };
        sets.push(Set {
            name: format!("router/{}", dir.file_name().unwrap().to_string_lossy()),
            subgraphs: read_subgraphs(&dir, url_of),
            expected: Expected::Supergraph(supergraph),
        });
    }
    for dir in set_dirs(&root().join("tests/composition")) {
        let expected: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.join("expected.json")).expect("expected"))
                .expect("expected.json is JSON");
        let expected = if expected["composes"] == true {
            Expected::Supergraph(
                fs::read_to_string(dir.join("supergraph.graphql")).expect("supergraph"),
            )
        } else {
            Expected::Errors(
                expected["errors"]
                    .as_array()
                    .expect("errors")
                    .iter()
                    .map(|e| e["code"].as_str().expect("code").to_string())
                    .collect(),
            )
        };
        sets.push(Set {
            name: format!("composition/{}", dir.file_name().unwrap().to_string_lossy()),
            subgraphs: read_subgraphs(&dir, fixture_url),
            expected,
        });
    }
    sets.retain(|s| only.as_deref().is_none_or(|o| s.name.ends_with(o)));
    sets
}

/// A supergraph as comparable text: each top-level definition printed alone, keyed by kind
/// and name; the schema definition's `@link`s as a set.
fn definitions(sdl: &str) -> BTreeMap<String, String> {
    let document = apollo_compiler::ast::Document::parse(sdl, "supergraph.graphql")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = BTreeMap::new();
    for definition in &document.definitions {
        match definition {
            Definition::SchemaDefinition(schema) => {
                for directive in &schema.directives {
                    out.insert(format!("schema {directive}"), String::new());
                }
                for operation in &schema.root_operations {
                    out.insert(
                        format!("schema {}: {}", operation.0, operation.1),
                        String::new(),
                    );
                }
            }
            other => {
                let key = match other.name() {
                    Some(name) => format!("{} {name}", kind(other)),
                    None => format!("{} ?", kind(other)),
                };
                out.insert(key, other.to_string());
            }
        }
    }
    out
}

fn kind(definition: &Definition) -> &'static str {
    match definition {
        Definition::DirectiveDefinition(_) => "directive",
        Definition::ScalarTypeDefinition(_) => "scalar",
        Definition::ObjectTypeDefinition(_) => "type",
        Definition::InterfaceTypeDefinition(_) => "interface",
        Definition::UnionTypeDefinition(_) => "union",
        Definition::EnumTypeDefinition(_) => "enum",
        Definition::InputObjectTypeDefinition(_) => "input",
        _ => "extension",
    }
}

/// The top-level definitions' names in document order (introspection lists types in
/// this order, so it is part of what a client sees).
fn definition_order(sdl: &str) -> Vec<String> {
    let document = apollo_compiler::ast::Document::parse(sdl, "supergraph.graphql")
        .unwrap_or_else(|e| panic!("{e}"));
    document
        .definitions
        .iter()
        .filter_map(|d| d.name().map(|n| format!("{} {n}", kind(d))))
        .collect()
}

/// What differs between the two supergraphs, empty when they agree.
fn supergraph_differences(expected: &str, actual: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (expected_order, actual_order) = (definition_order(expected), definition_order(actual));
    if let Some((want, got)) = expected_order
        .iter()
        .zip(&actual_order)
        .find(|(want, got)| want != got)
    {
        out.push(format!(
            "definition order differs: the reference has {want} where we have {got}"
        ));
    }
    let expected = definitions(expected);
    let actual = definitions(actual);
    for (key, text) in &expected {
        match actual.get(key) {
            None => out.push(format!("missing {key}")),
            Some(ours) if ours != text => out.push(format!(
                "differs {key}\n  reference: {text}\n  ours:      {ours}"
            )),
            Some(_) => {}
        }
    }
    for key in actual.keys() {
        if !expected.contains_key(key) {
            out.push(format!("extra {key}"));
        }
    }
    out
}

fn check(set: &Set) -> Result<(), String> {
    let result = compose(&set.subgraphs);
    match (&set.expected, result) {
        (Expected::Supergraph(expected), Ok(actual)) => {
            Schema::parse_and_validate(&actual, "ours.graphql")
                .map_err(|e| format!("our supergraph is invalid GraphQL: {e}"))?;
            let differences = supergraph_differences(expected, &actual);
            if differences.is_empty() {
                Ok(())
            } else {
                Err(differences.join("\n"))
            }
        }
        (Expected::Supergraph(_), Err(errors)) => Err(format!(
            "the reference composes, we fail:\n{}",
            errors
                .iter()
                .map(|e| format!("  {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        )),
        (Expected::Errors(codes), Ok(_)) => {
            Err(format!("the reference fails with {codes:?}, we compose"))
        }
        (Expected::Errors(codes), Err(errors)) => {
            let ours: BTreeSet<String> = errors.iter().map(|e| e.code.to_string()).collect();
            if &ours == codes {
                Ok(())
            } else {
                Err(format!(
                    "error codes differ: reference {codes:?}, ours {ours:?}\n{}",
                    errors
                        .iter()
                        .map(|e| format!("  {e}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                ))
            }
        }
    }
}

/// Sets we know we still disagree on (`tests/composition/KNOWN_DISAGREEMENTS`, one name per
/// line, `#` comments): the list may only shrink. A listed set that now agrees fails the
/// test too, so the list stays exact.
fn known_disagreements() -> BTreeSet<String> {
    let text = fs::read_to_string(root().join("tests/composition/KNOWN_DISAGREEMENTS"))
        .unwrap_or_default();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn composition_agrees_with_apollo_composition() {
    let sets = sets();
    assert!(!sets.is_empty(), "no corpus sets found");
    // With `CORPUS` set, every selected set must agree: that shows the known differences.
    let known = if std::env::var("CORPUS").is_ok() {
        BTreeSet::new()
    } else {
        known_disagreements()
    };
    let mut failures = Vec::new();
    let mut now_agree = Vec::new();
    for set in &sets {
        match check(set) {
            Err(why) if !known.contains(&set.name) => {
                failures.push(format!("--- {}\n{why}", set.name))
            }
            Ok(()) if known.contains(&set.name) => now_agree.push(set.name.clone()),
            _ => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} sets disagree with @apollo/composition:\n{}",
        failures.len(),
        sets.len(),
        failures.join("\n")
    );
    assert!(
        now_agree.is_empty(),
        "these sets now agree: remove them from KNOWN_DISAGREEMENTS: {now_agree:?}"
    );
}

/// Extraction: the subgraphs rebuilt from each reference supergraph's join directives
/// compose back into the same supergraph. This is what `schema check --against
/// supergraph.graphql` relies on.
#[test]
fn extracted_subgraphs_recompose_into_the_same_supergraph() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for set in sets() {
        let Expected::Supergraph(expected) = &set.expected else {
            continue;
        };
        // Supergraphs the router model refuses (features it does not serve) are skipped.
        let Ok(supergraph) = Supergraph::parse(expected) else {
            continue;
        };
        checked += 1;
        let extracted = junction_schema::compose::subgraphs_of(&supergraph);
        match compose(&extracted) {
            Ok(recomposed) => {
                let differences = supergraph_differences(expected, &recomposed);
                if !differences.is_empty() {
                    failures.push(format!("--- {}\n{}", set.name, differences.join("\n")));
                }
            }
            Err(errors) => failures.push(format!(
                "--- {}: does not recompose:\n{}\n{}",
                set.name,
                errors
                    .iter()
                    .map(|e| format!("  {e}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                extracted
                    .iter()
                    .map(|s| format!("# {}\n{}", s.name, s.sdl))
                    .collect::<Vec<_>>()
                    .join("\n")
            )),
        }
    }
    assert!(checked > 50, "only {checked} supergraphs");
    assert!(
        failures.is_empty(),
        "{} of {checked} supergraphs do not round-trip:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
