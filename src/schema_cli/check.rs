//! `junction schema check`: the report a CI job prints for a proposed subgraph change.

use super::exit;
use super::supergraph_config::SupergraphConfig;
use anyhow::{Context, Result};
use junction_schema::check::{CheckReport, KnownOperation};
use junction_schema::diff::Criticality;
use junction_schema::{SubgraphInput, Supergraph};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    /// For people reading a terminal or a CI log.
    Text,
    /// For tools.
    Json,
    /// GitHub Actions workflow commands (annotations), plus the markdown summary written
    /// to `$GITHUB_STEP_SUMMARY` when it is set.
    Github,
    /// A markdown summary for a pull-request comment.
    Markdown,
}

pub struct CheckArgs {
    pub subgraph: String,
    pub schema: PathBuf,
    pub against: String,
    pub token: Option<String>,
    pub routing_url: Option<String>,
    pub operations: Vec<PathBuf>,
    pub format: Format,
}

/// What the check compares against: the subgraphs in service now.
pub struct Baseline {
    pub subgraphs: Vec<SubgraphInput>,
    pub operations: Vec<KnownOperation>,
}

pub async fn run(args: CheckArgs) -> i32 {
    match prepare(&args).await {
        Ok((baseline, proposed_sdl)) => report(&args, baseline, proposed_sdl),
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::COULD_NOT_RUN
        }
    }
}

/// The registry's subgraphs in service and its known operations (persisted and used).
async fn from_registry(
    url: &str,
    token: Option<String>,
) -> Result<(Vec<SubgraphInput>, Vec<KnownOperation>)> {
    let client = crate::registry_poll::RegistryClient::new(url.to_owned(), token)?;
    let data = client
        .call(
            "{ subgraphs { name routingUrl sdl } knownOperations { name body } }",
            serde_json::json!({}),
        )
        .await?;
    let text = |v: &serde_json::Value, key: &str| v[key].as_str().unwrap_or_default().to_owned();
    let subgraphs = data["subgraphs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| SubgraphInput {
            name: text(s, "name"),
            url: text(s, "routingUrl"),
            sdl: text(s, "sdl"),
        })
        .collect();
    let operations = data["knownOperations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| KnownOperation {
            name: text(o, "name"),
            body: text(o, "body"),
        })
        .collect();
    Ok((subgraphs, operations))
}

async fn prepare(args: &CheckArgs) -> Result<(Baseline, String)> {
    let proposed_sdl = std::fs::read_to_string(&args.schema)
        .with_context(|| format!("reading {}", args.schema.display()))?;
    let (subgraphs, mut operations) =
        if args.against.starts_with("http://") || args.against.starts_with("https://") {
            from_registry(&args.against, args.token.clone()).await?
        } else {
            let path = Path::new(&args.against);
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            if text.contains("specs.apollo.dev/join/") {
                // A supergraph SDL: its subgraphs are rebuilt from the join directives.
                let supergraph = Supergraph::parse(&text)
                    .with_context(|| format!("{} is not a usable supergraph", path.display()))?;
                (
                    junction_schema::compose::subgraphs_of(&supergraph),
                    Vec::new(),
                )
            } else {
                let config = SupergraphConfig::read(path)?;
                let base_dir = path.parent().unwrap_or(Path::new("."));
                (config.resolve(base_dir).await?, Vec::new())
            }
        };
    for path in &args.operations {
        operations.extend(read_operations(path)?);
    }
    Ok((
        Baseline {
            subgraphs,
            operations,
        },
        proposed_sdl,
    ))
}

fn report(args: &CheckArgs, baseline: Baseline, proposed_sdl: String) -> i32 {
    let current = match junction_schema::compose(&baseline.subgraphs) {
        Ok(sdl) => match Supergraph::parse(&sdl) {
            Ok(supergraph) => supergraph,
            Err(e) => {
                eprintln!("error: the current supergraph is unusable: {e}");
                return exit::COULD_NOT_RUN;
            }
        },
        Err(errors) => {
            eprint!(
                "{}",
                super::compose::render_errors(&errors, &baseline.subgraphs)
            );
            eprintln!("error: the current subgraphs do not compose; nothing to check against");
            return exit::COULD_NOT_RUN;
        }
    };
    let mut proposed = baseline.subgraphs.clone();
    match proposed.iter_mut().find(|s| s.name == args.subgraph) {
        Some(existing) => existing.sdl = proposed_sdl,
        None => {
            let Some(url) = args.routing_url.clone() else {
                eprintln!(
                    "error: `{}` is a new subgraph: pass --routing-url so it can be composed",
                    args.subgraph
                );
                return exit::COULD_NOT_RUN;
            };
            proposed.push(SubgraphInput {
                name: args.subgraph.clone(),
                url,
                sdl: proposed_sdl,
            });
        }
    }
    let report = junction_schema::check::check(Some(&current), &proposed, &baseline.operations);
    print_report(&report, &proposed, args);
    if report.passed() {
        exit::PASS
    } else {
        exit::FAILED
    }
}

/// An Apollo persisted-query manifest, or a GraphQL document (one known operation).
pub fn read_operations(path: &Path) -> Result<Vec<KnownOperation>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.trim_start().starts_with('{') {
        let manifest: junction_schema::persisted::Manifest =
            junction_schema::persisted::Manifest::parse(&text)
                .with_context(|| format!("{}: not a persisted-query manifest", path.display()))?;
        return Ok(manifest
            .operations
            .into_iter()
            .map(|op| KnownOperation {
                name: op.name.unwrap_or(op.id),
                body: op.body,
            })
            .collect());
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(vec![KnownOperation { name, body: text }])
}

fn print_report(report: &CheckReport, proposed: &[SubgraphInput], args: &CheckArgs) {
    match args.format {
        Format::Text => print!("{}", text(report, proposed, &args.subgraph)),
        Format::Json => println!("{}", report.to_json()),
        Format::Markdown => print!("{}", markdown(report, &args.subgraph)),
        Format::Github => {
            print!("{}", github_annotations(report, &args.schema));
            let summary = markdown(report, &args.subgraph);
            match std::env::var_os("GITHUB_STEP_SUMMARY") {
                Some(path) => {
                    use std::io::Write as _;
                    let written = std::fs::OpenOptions::new()
                        .append(true)
                        .create(true)
                        .open(&path)
                        .and_then(|mut f| f.write_all(summary.as_bytes()));
                    if let Err(e) = written {
                        eprintln!("warning: cannot write $GITHUB_STEP_SUMMARY: {e}");
                    }
                }
                None => print!("{summary}"),
            }
        }
    }
}

fn verdict(report: &CheckReport) -> &'static str {
    if report.passed() { "passed" } else { "failed" }
}

fn label(change: &junction_schema::check::CheckedChange) -> String {
    if change.safe_by_usage {
        "safe by usage".to_owned()
    } else {
        change.change.criticality.to_string()
    }
}

fn text(report: &CheckReport, proposed: &[SubgraphInput], subgraph: &str) -> String {
    let mut out = String::new();
    if !report.composition_errors.is_empty() {
        let _ = writeln!(
            out,
            "Composition: {} error(s)\n",
            report.composition_errors.len()
        );
        out.push_str(&super::compose::render_errors(
            &report.composition_errors,
            proposed,
        ));
    } else {
        let _ = writeln!(out, "Composition: ok");
    }
    if report.composition_errors.is_empty() {
        let _ = writeln!(out, "\nSchema changes: {}", report.changes.len());
        for change in &report.changes {
            let _ = write!(
                out,
                "  [{}] {} {}: {}",
                label(change),
                change.change.kind,
                change.change.path.as_deref().unwrap_or("schema"),
                change.change.message
            );
            if !change.affected_operations.is_empty()
                && change.change.criticality != Criticality::Safe
            {
                let _ = write!(out, " (used by {})", change.affected_operations.join(", "));
            }
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "\nOperations: {} checked, {} broken",
            report.operations_checked,
            report.operation_failures.len()
        );
        for failure in &report.operation_failures {
            let _ = writeln!(out, "  {}: {}", failure.operation, failure.message);
        }
    }
    let _ = writeln!(out, "\nCheck of subgraph `{subgraph}` {}", verdict(report));
    out
}

fn markdown(report: &CheckReport, subgraph: &str) -> String {
    let mut out = String::new();
    let icon = if report.passed() { "✅" } else { "❌" };
    let _ = writeln!(
        out,
        "### {icon} Schema check of `{subgraph}` {}\n",
        verdict(report)
    );
    if !report.composition_errors.is_empty() {
        let _ = writeln!(out, "**Composition failed**\n");
        for error in &report.composition_errors {
            let _ = writeln!(out, "- `{}` {}", error.code, error.message);
        }
        return out;
    }
    let count = |c: Criticality| {
        report
            .changes
            .iter()
            .filter(|x| x.change.criticality == c && !x.safe_by_usage)
            .count()
    };
    let _ = writeln!(
        out,
        "{} breaking, {} dangerous, {} safe, {} safe by usage; {} operation(s) checked, {} broken\n",
        count(Criticality::Breaking),
        count(Criticality::Dangerous),
        count(Criticality::Safe),
        report.changes.iter().filter(|c| c.safe_by_usage).count(),
        report.operations_checked,
        report.operation_failures.len()
    );
    if !report.changes.is_empty() {
        let _ = writeln!(
            out,
            "| | Change | Coordinate | Used by |\n|---|---|---|---|"
        );
        for change in &report.changes {
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {} |",
                label(change),
                change.change.message.replace('|', "\\|"),
                change.change.path.as_deref().unwrap_or("schema"),
                change.affected_operations.join(", ")
            );
        }
        out.push('\n');
    }
    for failure in &report.operation_failures {
        let _ = writeln!(
            out,
            "- Operation `{}` no longer validates: {}",
            failure.operation, failure.message
        );
    }
    out
}

/// `::error`/`::warning` workflow commands, on the proposed schema file.
fn github_annotations(report: &CheckReport, schema: &Path) -> String {
    let file = schema.display();
    let escape = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let mut out = String::new();
    for error in &report.composition_errors {
        let line = error.locations.first().map(|l| l.line).unwrap_or(1);
        let _ = writeln!(
            out,
            "::error file={file},line={line},title=Composition {}::{}",
            error.code,
            escape(&error.message)
        );
    }
    for change in &report.changes {
        let level = match change.change.criticality {
            Criticality::Breaking if !change.safe_by_usage => "error",
            Criticality::Breaking | Criticality::Dangerous => "warning",
            Criticality::Safe => "notice",
        };
        let _ = writeln!(
            out,
            "::{level} file={file},title={} change::{}",
            label(change),
            escape(&change.change.message)
        );
    }
    for failure in &report.operation_failures {
        let _ = writeln!(
            out,
            "::error file={file},title=Operation {} broken::{}",
            failure.operation,
            escape(&failure.message)
        );
    }
    out
}
