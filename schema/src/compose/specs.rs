//! The specs whose directives composition copies from subgraphs into the supergraph
//! (`@tag`, `@inaccessible`, the access-control directives, demand control, contexts), with
//! the rule that merges one element's applications from several subgraphs.

use apollo_compiler::ast::Value;
use apollo_compiler::{Name, Node, ast};

/// How the applications of a non-repeatable directive from several subgraphs merge when
/// their arguments differ (repeatable directives keep every distinct application).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strategy {
    /// The most common application wins.
    MostCommon,
    /// A list of alternatives of conjunctions (`[[a, b], [c]]` = a∧b ∨ c): all must hold.
    DnfConjunction,
    /// Integer arguments: the largest.
    Max,
    /// `@listSize`: largest `assumedSize`, union of the lists, `requireOneSlicingArgument`
    /// only if every subgraph requires it.
    ListSize,
}

#[derive(Debug)]
pub(crate) struct SpecDirective {
    /// Name in the spec (and in the federation spec that re-exports it).
    pub name: &'static str,
    /// Definition after the name; `{prefix}` stands for the spec's name (for its scalars).
    pub definition: &'static str,
    pub repeatable: bool,
    /// Copied to the supergraph where subgraphs apply it.
    pub composed: bool,
    pub strategy: Strategy,
}

#[derive(Debug)]
pub(crate) struct Spec {
    pub name: &'static str,
    pub version: &'static str,
    pub purpose: Option<&'static str>,
    pub directives: &'static [SpecDirective],
    /// Scalars, printed as `{name}__{scalar}`.
    pub scalars: &'static [&'static str],
}

impl Spec {
    pub fn url(&self) -> String {
        format!("https://specs.apollo.dev/{}/{}", self.name, self.version)
    }
}

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "tag",
        version: "v0.3",
        purpose: None,
        directives: &[SpecDirective {
            name: "tag",
            definition: "(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION | SCHEMA",
            repeatable: true,
            composed: true,
            strategy: Strategy::MostCommon,
        }],
        scalars: &[],
    },
    Spec {
        name: "inaccessible",
        version: "v0.2",
        purpose: Some("SECURITY"),
        directives: &[SpecDirective {
            name: "inaccessible",
            definition: " on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION",
            repeatable: false,
            composed: true,
            strategy: Strategy::MostCommon,
        }],
        scalars: &[],
    },
    Spec {
        name: "authenticated",
        version: "v0.1",
        purpose: Some("SECURITY"),
        directives: &[SpecDirective {
            name: "authenticated",
            definition: " on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
            repeatable: false,
            composed: true,
            strategy: Strategy::MostCommon,
        }],
        scalars: &[],
    },
    Spec {
        name: "requiresScopes",
        version: "v0.1",
        purpose: Some("SECURITY"),
        directives: &[SpecDirective {
            name: "requiresScopes",
            definition: "(scopes: [[{prefix}__Scope!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
            repeatable: false,
            composed: true,
            strategy: Strategy::DnfConjunction,
        }],
        scalars: &["Scope"],
    },
    Spec {
        name: "policy",
        version: "v0.1",
        purpose: Some("SECURITY"),
        directives: &[SpecDirective {
            name: "policy",
            definition: "(policies: [[{prefix}__Policy!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
            repeatable: false,
            composed: true,
            strategy: Strategy::DnfConjunction,
        }],
        scalars: &["Policy"],
    },
    Spec {
        name: "cost",
        version: "v0.1",
        purpose: None,
        directives: &[
            SpecDirective {
                name: "cost",
                definition: "(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR",
                repeatable: false,
                composed: true,
                strategy: Strategy::Max,
            },
            SpecDirective {
                name: "listSize",
                definition: "(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION",
                repeatable: false,
                composed: true,
                strategy: Strategy::ListSize,
            },
        ],
        scalars: &[],
    },
    Spec {
        name: "context",
        version: "v0.1",
        purpose: Some("SECURITY"),
        directives: &[
            SpecDirective {
                name: "context",
                definition: "(name: String!) repeatable on INTERFACE | OBJECT | UNION",
                repeatable: true,
                composed: true,
                strategy: Strategy::MostCommon,
            },
            SpecDirective {
                name: "fromContext",
                definition: "(field: {prefix}__ContextFieldValue) on ARGUMENT_DEFINITION",
                repeatable: false,
                composed: false,
                strategy: Strategy::MostCommon,
            },
        ],
        scalars: &["ContextFieldValue"],
    },
];

/// The spec and definition of a federation directive that composes into the supergraph.
pub(crate) fn composed(name: &str) -> Option<(&'static Spec, &'static SpecDirective)> {
    SPECS.iter().find_map(|spec| {
        spec.directives
            .iter()
            .find(|d| d.name == name && d.composed)
            .map(|d| (spec, d))
    })
}

/// `@requiresScopes`/`@policy` values: every alternative of one application combined with
/// every alternative of the others, subsumed alternatives dropped (a∧b is implied by a).
pub(crate) fn dnf_conjunction(values: &[Vec<Vec<String>>]) -> Vec<Vec<String>> {
    let mut normalized: Vec<Vec<Vec<String>>> = Vec::new();
    for value in values {
        let mut value: Vec<Vec<String>> = if value.is_empty() {
            vec![Vec::new()]
        } else {
            value.clone()
        };
        for conjunction in &mut value {
            conjunction.sort();
        }
        value.sort();
        if !normalized.contains(&value) {
            normalized.push(value);
        }
    }
    let Some((first, rest)) = normalized.split_first() else {
        return Vec::new();
    };
    let mut result = first.clone();
    for current in rest {
        let mut combined: Vec<Vec<String>> = Vec::new();
        for left in &result {
            for right in current {
                let mut candidate = left.clone();
                candidate.extend(right.iter().filter(|e| !left.contains(e)).cloned());
                candidate.sort();
                if !combined.contains(&candidate) {
                    combined.push(candidate);
                }
            }
        }
        // Shorter conjunctions first; drop those that include a kept one.
        combined.sort_by_key(Vec::len);
        let mut kept: Vec<Vec<String>> = Vec::new();
        for candidate in combined {
            if !kept.iter().any(|k| k.iter().all(|e| candidate.contains(e))) {
                kept.push(candidate);
            }
        }
        result = kept;
    }
    result
}

/// Merges the distinct applications of a non-repeatable directive.
pub(crate) fn merge_applications(
    name: &Name,
    strategy: Strategy,
    applications: &[(Node<ast::Directive>, usize)],
) -> Node<ast::Directive> {
    let most_common = || {
        let mut best = &applications[0];
        for candidate in applications {
            if candidate.1 > best.1 {
                best = candidate;
            }
        }
        best.0.clone()
    };
    if applications.len() == 1 {
        return applications[0].0.clone();
    }
    let directives: Vec<&ast::Directive> = applications.iter().map(|(d, _)| &**d).collect();
    let arguments: Vec<(&'static str, Value)> = match strategy {
        Strategy::MostCommon => return most_common(),
        Strategy::DnfConjunction => {
            let Some(argument) = directives[0].arguments.first().map(|a| a.name.clone()) else {
                return most_common();
            };
            let values: Vec<Vec<Vec<String>>> = directives
                .iter()
                .map(|d| {
                    d.specified_argument_by_name(&argument)
                        .map(|v| nested_strings(v))
                        .unwrap_or_default()
                })
                .collect();
            let merged = dnf_conjunction(&values);
            let value = Value::List(
                merged
                    .into_iter()
                    .map(|c| {
                        Node::new(Value::List(
                            c.into_iter().map(|s| Node::new(Value::String(s))).collect(),
                        ))
                    })
                    .collect(),
            );
            return directive_with(name, vec![(argument, value)]);
        }
        Strategy::Max => {
            let max = directives
                .iter()
                .filter_map(|d| d.specified_argument_by_name("weight"))
                .filter_map(|v| v.to_i32())
                .max()
                .unwrap_or(0);
            vec![("weight", Value::Int(max.into()))]
        }
        Strategy::ListSize => {
            let mut out = Vec::new();
            let assumed = directives
                .iter()
                .filter_map(|d| d.specified_argument_by_name("assumedSize"))
                .filter_map(|v| v.to_i32())
                .max();
            if let Some(assumed) = assumed {
                out.push(("assumedSize", Value::Int(assumed.into())));
            }
            for list in ["slicingArguments", "sizedFields"] {
                let mut union: Vec<String> = Vec::new();
                let mut any = false;
                for d in &directives {
                    if let Some(Value::List(items)) =
                        d.specified_argument_by_name(list).map(|v| &**v)
                    {
                        any = true;
                        for item in items {
                            if let Some(s) = item.as_str()
                                && !union.iter().any(|u| u == s)
                            {
                                union.push(s.to_string());
                            }
                        }
                    }
                }
                if any {
                    out.push((
                        list,
                        Value::List(
                            union
                                .into_iter()
                                .map(|s| Node::new(Value::String(s)))
                                .collect(),
                        ),
                    ));
                }
            }
            let require_one = directives.iter().all(|d| {
                d.specified_argument_by_name("requireOneSlicingArgument")
                    .and_then(|v| v.to_bool())
                    .unwrap_or(true)
            });
            out.push(("requireOneSlicingArgument", Value::Boolean(require_one)));
            out
        }
    };
    directive_with(
        name,
        arguments
            .into_iter()
            .map(|(n, v)| (Name::new_unchecked(n), v))
            .collect(),
    )
}

fn directive_with(name: &Name, arguments: Vec<(Name, Value)>) -> Node<ast::Directive> {
    Node::new(ast::Directive {
        name: name.clone(),
        arguments: arguments
            .into_iter()
            .map(|(name, value)| {
                Node::new(ast::Argument {
                    name,
                    value: Node::new(value),
                })
            })
            .collect(),
    })
}

fn nested_strings(value: &Value) -> Vec<Vec<String>> {
    let Value::List(outer) = value else {
        return Vec::new();
    };
    outer
        .iter()
        .map(|inner| match &**inner {
            Value::List(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            other => other
                .as_str()
                .map(|s| vec![s.to_string()])
                .unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dnf(values: &[&[&[&str]]]) -> Vec<Vec<String>> {
        let values: Vec<Vec<Vec<String>>> = values
            .iter()
            .map(|v| {
                v.iter()
                    .map(|c| c.iter().map(|s| s.to_string()).collect())
                    .collect()
            })
            .collect();
        dnf_conjunction(&values)
    }

    #[test]
    fn dnf_conjunction_requires_every_application() {
        // (a ∨ b) ∧ c = a∧c ∨ b∧c
        assert_eq!(
            dnf(&[&[&["a"], &["b"]], &[&["c"]]]),
            [vec!["a", "c"], vec!["b", "c"]]
        );
        // (a) ∧ (a ∨ b): a∧b is subsumed by a.
        assert_eq!(dnf(&[&[&["a"]], &[&["a"], &["b"]]]), [vec!["a"]]);
        // Identical applications collapse.
        assert_eq!(dnf(&[&[&["x", "y"]], &[&["y", "x"]]]), [vec!["x", "y"]]);
    }
}
