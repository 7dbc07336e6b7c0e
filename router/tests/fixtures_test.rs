//! Every fixture case through the router, compared with the reference response
//! (Apollo Gateway's, or a documented correction).
//!
//! `data` must match exactly, in the client's field order. Errors must match in number,
//! path and `extensions.code` (messages may be phrased differently). Where Junction
//! names an error code as Apollo Router does and Apollo Gateway uses a generic one, the
//! pair is listed in [`EQUIVALENT_CODES`]; no specification defines these codes.

mod common;

use common::{Harness, canonical, fixtures_dir};
use junction_testkit::Fixture;
use serde_json::Value;
use std::sync::Arc;

#[tokio::test]
async fn every_fixture_case_matches_the_reference() {
    let mut fixtures = Fixture::load_all(&fixtures_dir()).expect("fixtures load");
    assert!(!fixtures.is_empty());
    // FIXTURE=name[,name…] narrows the run while working on some fixtures.
    if let Ok(only) = std::env::var("FIXTURE") {
        let only: Vec<&str> = only.split(',').collect();
        fixtures.retain(|f| only.contains(&f.name.as_str()));
    }
    let mut failures = Vec::new();
    let mut checked = 0;
    for fixture in fixtures {
        if fixture.supergraph.is_none() {
            failures.push(format!(
                "{}: no supergraph.graphql (run refresh.mjs)",
                fixture.name
            ));
            continue;
        }
        let fixture = Arc::new(fixture);
        let harness = Harness::start(fixture.clone(), |_| {}).await;
        for case in &fixture.cases {
            let Some(want) = case.want() else {
                failures.push(format!(
                    "{}/{}: no expected response",
                    fixture.name, case.name
                ));
                continue;
            };
            let (_, body) = harness.post(&case.body()).await;
            let got: Value = match serde_json::from_str(&body) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!(
                        "{}/{}: not JSON ({e}): {body}",
                        fixture.name, case.name
                    ));
                    continue;
                }
            };
            checked += 1;
            if let Some(problem) = compare(&got, want) {
                failures.push(format!(
                    "{}/{}: {problem}\n    got:  {}\n    want: {}",
                    fixture.name,
                    case.name,
                    truncate(&canonical(&got)),
                    truncate(&canonical(want)),
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The differential half of composition: every fixture's supergraph composed by
/// `junction_schema::compose` instead of @apollo/composition must give the same query
/// plan and the same response, byte for byte, for every case.
#[tokio::test]
async fn our_composed_supergraph_plans_and_executes_like_apollos() {
    let fixtures = Fixture::load_all(&fixtures_dir()).expect("fixtures load");
    let mut failures = Vec::new();
    let mut checked = 0;
    for apollo in fixtures {
        if apollo.supergraph.is_none() {
            continue;
        }
        let mut ours = Fixture::load(&apollo.dir).expect("fixture loads");
        // With no supergraph the harness composes the subgraphs with our composer.
        ours.supergraph = None;
        let fixture = Arc::new(apollo);
        let apollo_router = Harness::start(fixture.clone(), |_| {}).await;
        let our_router = Harness::start(Arc::new(ours), |_| {}).await;
        for case in &fixture.cases {
            let body = case.body();
            let expose = [("junction-expose-query-plan", "true")];
            let (want_status, want) = apollo_router.post_with_headers(&body, &expose).await;
            let (got_status, got) = our_router.post_with_headers(&body, &expose).await;
            checked += 1;
            if (got_status, &got) != (want_status, &want) {
                failures.push(format!(
                    "{}/{}:\n    ours:   {got_status} {}\n    apollo: {want_status} {}",
                    fixture.name,
                    case.name,
                    truncate(&got),
                    truncate(&want)
                ));
            }
        }
    }
    assert!(checked > 100, "only {checked} cases ran");
    assert!(
        failures.is_empty(),
        "{} of {checked} cases plan or answer differently on our supergraph:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn truncate(s: &str) -> String {
    if s.len() > 600 {
        format!("{}…", &s[..600])
    } else {
        s.to_string()
    }
}

/// (Junction's code, Apollo Gateway's code) for the same failure.
const EQUIVALENT_CODES: &[(&str, &str)] = &[
    // A subgraph that is down or answers with an HTTP error status.
    ("SUBREQUEST_HTTP_ERROR", "INTERNAL_SERVER_ERROR"),
    // A subgraph body that is not a GraphQL response (not JSON, or neither data nor errors).
    ("SUBREQUEST_MALFORMED_RESPONSE", "INTERNAL_SERVER_ERROR"),
    // `operationName` names no operation of the document, or is missing but needed.
    ("GRAPHQL_UNKNOWN_OPERATION_NAME", "INVALID_GRAPHQL"),
];

fn same_code(got: &Value, want: &Value) -> bool {
    got == want
        || EQUIVALENT_CODES
            .iter()
            .any(|(ours, theirs)| got == ours && want == theirs)
}

fn compare(got: &Value, want: &Value) -> Option<String> {
    if canonical(&got["data"]) != canonical(&want["data"])
        || got.get("data").is_some() != want.get("data").is_some()
    {
        return Some("data differs".into());
    }
    let empty = Vec::new();
    let got_errors = got["errors"].as_array().unwrap_or(&empty);
    let want_errors = want["errors"].as_array().unwrap_or(&empty);
    if got_errors.len() != want_errors.len() {
        return Some(format!(
            "{} errors, want {}",
            got_errors.len(),
            want_errors.len()
        ));
    }
    for (g, w) in got_errors.iter().zip(want_errors) {
        if g["path"] != w["path"] {
            return Some(format!("error path {} want {}", g["path"], w["path"]));
        }
        if !same_code(&g["extensions"]["code"], &w["extensions"]["code"]) {
            return Some(format!(
                "error code {} want {}",
                g["extensions"]["code"], w["extensions"]["code"]
            ));
        }
    }
    None
}

/// The benchmark response must be byte-identical to the benchmark's expected file.
#[tokio::test]
async fn bench_response_is_byte_exact_with_seven_requests() {
    let fixture = Arc::new(Fixture::load(&fixtures_dir().join("bench")).unwrap());
    let harness = Harness::start(fixture.clone(), |_| {}).await;
    let case = &fixture.cases[0];
    let expected =
        std::fs::read_to_string(fixture.dir.join("cases/test_query.expected.json")).unwrap();
    let (status, body) = harness.post(&case.body()).await;
    assert_eq!(status, 200);
    assert_eq!(body.len(), expected.trim_end().len());
    assert!(
        body == expected.trim_end(),
        "response differs from expected.json"
    );
    let requests = harness.subgraphs.received();
    let mut per_subgraph: Vec<&str> = requests.iter().map(|r| r.subgraph.as_str()).collect();
    per_subgraph.sort_unstable();
    assert_eq!(
        per_subgraph,
        [
            "accounts",
            "accounts",
            "inventory",
            "inventory",
            "products",
            "products",
            "reviews"
        ]
    );
}
