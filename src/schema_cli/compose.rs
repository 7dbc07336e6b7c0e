//! `junction schema compose`.

use super::exit;
use super::supergraph_config::SupergraphConfig;
use junction_schema::{CompositionError, SubgraphInput};
use std::fmt::Write as _;
use std::path::Path;

pub async fn run(config_path: &Path, output: Option<&Path>) -> i32 {
    let inputs = match load_inputs(config_path).await {
        Ok(inputs) => inputs,
        Err(e) => {
            eprintln!("error: {e:#}");
            return exit::COULD_NOT_RUN;
        }
    };
    match junction_schema::compose(&inputs) {
        Ok(sdl) => {
            let written = match output {
                Some(path) => std::fs::write(path, &sdl)
                    .map_err(|e| format!("writing {}: {e}", path.display())),
                None => {
                    print!("{sdl}");
                    Ok(())
                }
            };
            match written {
                Ok(()) => exit::PASS,
                Err(e) => {
                    eprintln!("error: {e}");
                    exit::COULD_NOT_RUN
                }
            }
        }
        Err(errors) => {
            eprint!("{}", render_errors(&errors, &inputs));
            eprintln!(
                "error: composition failed with {} error(s); no supergraph written",
                errors.len()
            );
            exit::FAILED
        }
    }
}

pub async fn load_inputs(config_path: &Path) -> anyhow::Result<Vec<SubgraphInput>> {
    let config = SupergraphConfig::read(config_path)?;
    let base_dir = config_path.parent().unwrap_or(Path::new("."));
    config.resolve(base_dir).await
}

/// Each error with its code, message and the source lines it points at, the way a
/// compiler prints them:
///
/// ```text
/// error[INVALID_FIELD_SHARING]: Non-shareable field "Product.name" is resolved from …
///   --> products:7:3
///    |
///  7 |   name: String
///    |   ^
/// ```
pub fn render_errors(errors: &[CompositionError], inputs: &[SubgraphInput]) -> String {
    let mut out = String::new();
    for error in errors {
        let _ = writeln!(out, "error[{}]: {}", error.code, error.message);
        for location in &error.locations {
            let _ = writeln!(
                out,
                "  --> {}:{}:{}",
                location.subgraph, location.line, location.column
            );
            let line = inputs
                .iter()
                .find(|i| i.name == location.subgraph)
                .and_then(|i| i.sdl.lines().nth(location.line.saturating_sub(1)));
            if let Some(line) = line {
                let number = location.line.to_string();
                let pad = " ".repeat(number.len());
                let _ = writeln!(out, " {pad} |");
                let _ = writeln!(out, " {number} | {line}");
                let caret = " ".repeat(location.column.saturating_sub(1));
                let _ = writeln!(out, " {pad} | {caret}^");
            }
        }
        out.push('\n');
    }
    out
}
