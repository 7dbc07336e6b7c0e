//! Our schema diff against `@graphql-inspector/core` on the pairs in `tests/check/`:
//! the same change types, criticality and paths, except for the pairs listed in
//! `tests/check/DIFFERENCES`, where we differ on purpose (each with its reason). A listed
//! pair that agrees again fails the test, so the list stays true.

use apollo_compiler::Schema;
use junction_schema::diff::diff;
use std::collections::BTreeMap;
use std::path::Path;

type Triple = (String, String, Option<String>);

fn ours(dir: &Path) -> Vec<Triple> {
    let parse = |file: &str| {
        let mut text = std::fs::read_to_string(dir.join(file)).unwrap();
        // graphql-js has `@oneOf` built in; apollo-compiler 1.x does not yet.
        if text.contains("@oneOf") && !text.contains("directive @oneOf") {
            text.push_str("\ndirective @oneOf on INPUT_OBJECT\n");
        }
        Schema::parse_and_validate(text, file)
            .unwrap_or_else(|e| panic!("{}: {file}: {e}", dir.display()))
    };
    let mut changes: Vec<Triple> = diff(&parse("old.graphql"), &parse("new.graphql"))
        .into_iter()
        .map(|c| (c.kind.to_owned(), c.criticality.as_str().to_owned(), c.path))
        .collect();
    changes.sort();
    changes
}

fn inspector(dir: &Path) -> Vec<Triple> {
    let text = std::fs::read_to_string(dir.join("inspector.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut changes: Vec<Triple> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap().to_owned(),
                c["criticality"].as_str().unwrap().to_owned(),
                c["path"].as_str().map(str::to_owned),
            )
        })
        .collect();
    changes.sort();
    changes
}

#[test]
fn diff_agrees_with_graphql_inspector() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/check");
    let differences: BTreeMap<String, String> = std::fs::read_to_string(root.join("DIFFERENCES"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, reason) = l.split_once(':').expect("`pair: reason`");
            (name.trim().to_owned(), reason.trim().to_owned())
        })
        .collect();
    let mut pairs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("old.graphql").exists())
        .collect();
    pairs.sort();
    assert!(pairs.len() >= 40, "the corpus has {} pairs", pairs.len());
    let mut failures = Vec::new();
    for dir in &pairs {
        let name = dir.file_name().unwrap().to_str().unwrap();
        let (ours, theirs) = (ours(dir), inspector(dir));
        match (ours == theirs, differences.contains_key(name)) {
            (true, true) => {
                failures.push(format!("{name}: agrees now; remove it from DIFFERENCES"))
            }
            (false, false) => failures.push(format!(
                "{name}:\n  ours:      {ours:?}\n  inspector: {theirs:?}"
            )),
            _ => {}
        }
    }
    for name in differences.keys() {
        if !pairs.iter().any(|p| p.ends_with(name)) {
            failures.push(format!("{name}: listed in DIFFERENCES but no such pair"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
