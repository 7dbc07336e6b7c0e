//! Developer and CI tasks for the Junction workspace.
//!
//! `cargo xtask test` is the one command that runs every test: it installs the
//! real backing services when they are missing, starts private instances of
//! them on free ports, runs lint, build and tests against them, and always
//! stops them again.

mod bench;
mod cargo;
mod install;
mod reaper;
mod services;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::cargo::{Cargo, TestRunner};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Junction developer and CI tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install missing services, lint, build, start private services and run all tests.
    Test {
        /// Skip `cargo fmt --check` and `cargo clippy`.
        #[arg(long)]
        no_lint: bool,
        /// Extra arguments for the test runner, e.g. `-- -p junction-schema`.
        /// Package selection (`-p`, `--exclude`, features) also restricts clippy, the build and doctests.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        cargo_args: Vec<String>,
    },
    /// Run `cargo fmt --all -- --check` and `cargo clippy --all-targets -- -D warnings`.
    Lint {
        /// Package selection for clippy, e.g. `-- -p junction-schema` (default: the whole workspace).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        cargo_args: Vec<String>,
    },
    /// Start private test services, print `export TEST_...` lines and wait for Ctrl-C.
    Services,
    /// The federation load benchmark: Junction against Hive Gateway and Apollo Gateway.
    Bench {
        /// Seconds measured per connection count.
        #[arg(long, default_value_t = 30)]
        duration: u64,
        /// Seconds of warm-up before each measurement.
        #[arg(long, default_value_t = 5)]
        warmup: u64,
        /// Connection counts to measure.
        #[arg(long, value_delimiter = ',', default_value = "16,50")]
        connections: Vec<u32>,
        /// Skip the Node.js reference gateways.
        #[arg(long)]
        only_junction: bool,
    },
    /// Internal: the cleanup process started by `test` and `services` (see reaper.rs).
    #[command(name = "__reap", hide = true)]
    Reap { dir: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Test {
            no_lint,
            cargo_args,
        } => run_tests(!no_lint, &cargo_args),
        Command::Lint { cargo_args } => run_lint(&cargo_args),
        Command::Services => run_services(),
        Command::Bench {
            duration,
            warmup,
            connections,
            only_junction,
        } => bench::run(&bench::Options {
            duration_secs: duration,
            warmup_secs: warmup,
            connections,
            only_junction,
        }),
        Command::Reap { dir } => reaper::run(&dir).map(|()| 0),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("[xtask] error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints how long a phase took; the CI log shows where the time goes.
fn report_phase(name: &str, started: Instant) {
    eprintln!(
        "[xtask] phase {name}: {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

fn run_tests(lint: bool, cargo_args: &[String]) -> Result<u8> {
    let cargo = Cargo::from_env()?;
    eprintln!("[xtask] CARGO_TARGET_DIR={}", cargo.target_dir().display());

    let started = Instant::now();
    let tools = install::ensure_tools(&cargo)?;
    report_phase("install", started);

    if lint {
        let started = Instant::now();
        let code = cargo.lint(cargo_args)?;
        report_phase("lint", started);
        if code != 0 {
            return Ok(code);
        }
    }

    let started = Instant::now();
    let runner = TestRunner::detect(&cargo);
    let code = cargo.build_tests(cargo_args)?;
    report_phase("build", started);
    if code != 0 {
        return Ok(code);
    }

    let started = Instant::now();
    let running = services::start_all(&tools)?;
    report_phase("services", started);

    let started = Instant::now();
    let code = cargo.run_tests(runner, cargo_args, &running.endpoints.env_vars());
    report_phase("tests", started);

    // Stop the services before reporting, so the exit happens with a clean machine.
    let started = Instant::now();
    drop(running);
    report_phase("stop services", started);
    code
}

fn run_lint(cargo_args: &[String]) -> Result<u8> {
    let cargo = Cargo::from_env()?;
    let started = Instant::now();
    let code = cargo.lint(cargo_args)?;
    report_phase("lint", started);
    Ok(code)
}

fn run_services() -> Result<u8> {
    let cargo = Cargo::from_env()?;
    let started = Instant::now();
    let tools = install::ensure_tools(&cargo)?;
    report_phase("install", started);

    let started = Instant::now();
    let running = services::start_all(&tools)?;
    report_phase("services", started);

    for (name, value) in running.endpoints.env_vars() {
        println!("export {name}={value}");
    }
    eprintln!("[xtask] services are running; press Ctrl-C to stop them");
    // `running` stays alive until the process ends. Ctrl-C ends this process with the default SIGINT action; the reaper then
    // notices the closed pipe and stops the services (see reaper.rs).
    loop {
        std::thread::park();
    }
}
