//! Planning the four-subgraph benchmark query (graphql-gateways-benchmark).

use serde_json::Value;

fn plan_for(query: &str) -> Value {
    let supergraph = junction_router::load_supergraph(std::path::Path::new(
        "tests/fixtures/bench/supergraph.graphql",
    ))
    .expect("bench supergraph loads");
    let text = junction_router::explain(supergraph, query, None).expect("plans");
    serde_json::from_str(&text).unwrap()
}

fn fetches(node: &Value, out: &mut Vec<Value>) {
    if node["kind"] == "Fetch" {
        out.push(node.clone());
    }
    if let Some(children) = node["nodes"].as_array() {
        children.iter().for_each(|c| fetches(c, out));
    }
}

#[test]
fn bench_query_makes_seven_requests_in_four_waves() {
    let query = std::fs::read_to_string("tests/fixtures/bench/cases/test_query.graphql").unwrap();
    let plan = plan_for(&query);
    println!("{}", serde_json::to_string_pretty(&plan).unwrap());
    let root = &plan["node"];
    assert_eq!(root["kind"], "Sequence");
    let waves = root["nodes"].as_array().unwrap();
    let services: Vec<Vec<String>> = waves
        .iter()
        .map(|wave| {
            let mut found = Vec::new();
            fetches(wave, &mut found);
            let mut names: Vec<String> = found
                .iter()
                .map(|f| f["serviceName"].as_str().unwrap().to_string())
                .collect();
            names.sort();
            names
        })
        .collect();
    assert_eq!(
        services,
        vec![
            vec!["accounts", "products"],
            vec!["inventory", "reviews"],
            vec!["accounts", "products"],
            vec!["inventory"],
        ]
    );
}
