//! The cargo commands run by the xtask: lint, build, tests and doctests.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use anyhow::{Context, Result};

/// Cargo flags that choose packages or features. They are forwarded to every
/// cargo command (clippy, build, tests, doctests); other extra arguments go
/// only to the test runner, because nextest and libtest accept different ones.
const SELECTION_FLAGS_WITH_VALUE: &[&str] = &["-p", "--package", "--exclude", "-F", "--features"];
const SELECTION_FLAGS: &[&str] = &[
    "--workspace",
    "--all",
    "--all-features",
    "--no-default-features",
    "--release",
];

/// The test runner: nextest when installed (faster, one process per test), else libtest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestRunner {
    Nextest,
    CargoTest,
}

impl TestRunner {
    pub fn detect(cargo: &Cargo) -> Self {
        let nextest_works = cargo
            .command()
            .args(["nextest", "--version"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if nextest_works {
            TestRunner::Nextest
        } else {
            TestRunner::CargoTest
        }
    }
}

pub struct Cargo {
    program: OsString,
    target_dir: PathBuf,
}

impl Cargo {
    /// Uses the cargo that started the xtask (`$CARGO`) and a target dir that
    /// survives between CI runs on the same machine unless one is already set.
    pub fn from_env() -> Result<Self> {
        let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => home_dir()?.join(".cache/junction/target"),
        };
        Ok(Self {
            program,
            target_dir,
        })
    }

    pub fn target_dir(&self) -> &Path {
        &self.target_dir
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.env("CARGO_TARGET_DIR", &self.target_dir);
        // A cached target dir with incremental state from another commit has made rustc
        // 1.95 panic (an incremental-compilation ICE in diesel-async transaction bodies);
        // CI gains nothing from incremental builds, and the target dir stays smaller.
        command.env("CARGO_INCREMENTAL", "0");
        command
    }

    /// `cargo fmt --check` and `cargo clippy -D warnings`; both run so one CI
    /// log shows every problem. Returns the first non-zero exit code.
    pub fn lint(&self, extra_args: &[String]) -> Result<u8> {
        self.ensure_lint_components();
        let fmt = self.run(self.command().args(["fmt", "--all", "--", "--check"]))?;

        let mut clippy = self.command();
        clippy.args(["clippy", "--all-targets"]);
        clippy.args(Selection::parse(extra_args).to_args());
        clippy.args(["--", "-D", "warnings"]);
        let clippy = self.run(&mut clippy)?;
        Ok(if fmt != 0 { fmt } else { clippy })
    }

    /// Builds the test binaries before the services start, so a long build
    /// does not keep them running and the build time is reported on its own.
    /// nextest builds through `cargo test --no-run` too, so it reuses this build.
    pub fn build_tests(&self, extra_args: &[String]) -> Result<u8> {
        let mut build = self.command();
        build.args(["test", "--no-run"]);
        build.args(Selection::parse(extra_args).to_args());
        self.run(&mut build)
    }

    /// Runs the tests (and, with nextest, the doctests it skips) with the
    /// service environment. Returns the first non-zero exit code.
    pub fn run_tests(
        &self,
        runner: TestRunner,
        extra_args: &[String],
        env: &[(&'static str, String)],
    ) -> Result<u8> {
        let mut tests = self.command();
        match runner {
            TestRunner::Nextest => tests.args(["nextest", "run"]),
            TestRunner::CargoTest => tests.arg("test"),
        };
        let selection = Selection::parse(extra_args);
        if !selection.chooses_packages() {
            tests.arg("--workspace");
        }
        tests.arg("--no-fail-fast");
        let chooses_no_tests = extra_args.iter().any(|arg| arg.starts_with("--no-tests"));
        if runner == TestRunner::Nextest && !chooses_no_tests {
            // Like libtest: a package without tests is not a failure.
            tests.arg("--no-tests=warn");
        }
        tests.args(extra_args);
        tests.envs(env.iter().map(|(name, value)| (name, value)));
        let tests = self.run(&mut tests)?;

        if runner == TestRunner::CargoTest {
            // libtest already ran the doctests.
            return Ok(tests);
        }
        let Some(doc_selection) = self.libraries_only(selection) else {
            eprintln!("[xtask] no library among the chosen packages: no doctests to run");
            return Ok(tests);
        };
        let mut doctests = self.command();
        doctests.args(["test", "--doc"]);
        doctests.args(doc_selection.to_args());
        doctests.envs(env.iter().map(|(name, value)| (name, value)));
        let doctests = self.run(&mut doctests)?;
        Ok(if tests != 0 { tests } else { doctests })
    }

    /// Drops chosen packages without a library: `cargo test --doc` fails when
    /// none of its packages has one. `None` when no chosen package is left.
    fn libraries_only(&self, mut selection: Selection) -> Option<Selection> {
        if selection.packages.is_empty() {
            return Some(selection);
        }
        selection
            .packages
            .retain(|package| self.has_library(package));
        (!selection.packages.is_empty()).then_some(selection)
    }

    /// Whether a workspace package has a library target. When unsure (a spec
    /// cargo cannot resolve, a non-path package) it says yes and lets cargo decide.
    fn has_library(&self, package: &str) -> bool {
        let Ok(output) = self
            .command()
            .args(["pkgid", "-p", package])
            .stderr(Stdio::null())
            .output()
        else {
            return true;
        };
        // e.g. `path+file:///work/main/schema#junction-schema@0.1.0`
        let id = String::from_utf8_lossy(&output.stdout);
        let Some(dir) = id
            .trim()
            .strip_prefix("path+file://")
            .and_then(|rest| rest.split('#').next())
        else {
            return true;
        };
        let dir = Path::new(dir);
        dir.join("src/lib.rs").is_file()
            || std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|manifest| manifest.contains("[lib]"))
    }

    /// Adds rustfmt and clippy through rustup when they are missing; without
    /// rustup the lint commands themselves report what is missing.
    fn ensure_lint_components(&self) {
        let installed = |subcommand: &str| {
            self.command()
                .args([subcommand, "--version"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        };
        if installed("fmt") && installed("clippy") {
            return;
        }
        eprintln!("[xtask] $ rustup component add rustfmt clippy");
        let added = Command::new("rustup")
            .args(["component", "add", "rustfmt", "clippy"])
            .status();
        if !added.is_ok_and(|status| status.success()) {
            eprintln!("[xtask] could not add rustfmt/clippy with rustup");
        }
    }

    fn run(&self, command: &mut Command) -> Result<u8> {
        let shown = describe(command);
        eprintln!("[xtask] $ {shown}");
        let status = command
            .status()
            .with_context(|| format!("could not run `{shown}`"))?;
        Ok(exit_code(status))
    }
}

pub fn home_dir() -> Result<PathBuf> {
    match std::env::var_os("HOME") {
        Some(home) if !home.is_empty() => Ok(PathBuf::from(home)),
        _ => anyhow::bail!("HOME is not set; it is needed for the tool and target caches"),
    }
}

/// The package and feature choice found in the extra arguments.
#[derive(Debug, Default, PartialEq, Eq)]
struct Selection {
    /// From `-p`/`--package`; empty means the whole workspace.
    packages: Vec<String>,
    /// Other selection flags, already split into separate arguments.
    flags: Vec<String>,
}

impl Selection {
    /// Reads the selection flags before any `--` (after it come test-harness arguments).
    fn parse(extra_args: &[String]) -> Self {
        let mut selection = Self::default();
        let mut args = extra_args.iter().take_while(|arg| *arg != "--");
        while let Some(arg) = args.next() {
            if SELECTION_FLAGS.contains(&arg.as_str()) {
                selection.add(arg, None);
            } else if SELECTION_FLAGS_WITH_VALUE.contains(&arg.as_str()) {
                selection.add(arg, args.next());
            } else if let Some((flag, value)) = split_joined_flag(arg) {
                selection.add(flag, Some(&value.to_owned()));
            }
        }
        selection
    }

    fn add(&mut self, flag: &str, value: Option<&String>) {
        match (flag, value) {
            ("-p" | "--package", Some(package)) => self.packages.push(package.clone()),
            (_, value) => {
                self.flags.push(flag.to_owned());
                self.flags.extend(value.cloned());
            }
        }
    }

    fn chooses_packages(&self) -> bool {
        !self.packages.is_empty()
            || self
                .flags
                .iter()
                .any(|flag| flag == "--workspace" || flag == "--all")
    }

    /// Arguments for cargo: `--workspace` unless packages were chosen.
    fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if !self.chooses_packages() {
            args.push("--workspace".to_owned());
        }
        for package in &self.packages {
            args.extend(["-p".to_owned(), package.clone()]);
        }
        args.extend(self.flags.iter().cloned());
        args
    }
}

/// `--package=x` -> (`--package`, `x`); `-px` -> (`-p`, `x`).
fn split_joined_flag(arg: &str) -> Option<(&str, &str)> {
    SELECTION_FLAGS_WITH_VALUE.iter().find_map(|flag| {
        let rest = arg.strip_prefix(flag)?;
        let value = if flag.starts_with("--") {
            rest.strip_prefix('=')?
        } else {
            rest
        };
        (!value.is_empty()).then_some((*flag, value))
    })
}

/// The exit code to pass on: the child's own, or 128 + signal like a shell.
fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(0), _) => 0,
        // Exit codes above 255 are truncated by the OS anyway; keep failure a failure.
        (Some(code), _) => u8::try_from(code)
            .ok()
            .filter(|code| *code != 0)
            .unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(1),
        (None, None) => 1,
    }
}

fn describe(command: &Command) -> String {
    let mut shown = String::from("cargo");
    for arg in command.get_args() {
        shown.push(' ');
        shown.push_str(&arg.to_string_lossy());
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn no_arguments_select_the_workspace() {
        assert_eq!(Selection::parse(&[]).to_args(), args(&["--workspace"]));
    }

    #[test]
    fn package_flags_replace_workspace_and_drop_runner_args() {
        let extra = args(&[
            "-p",
            "junction-schema",
            "--features=x",
            "-E",
            "test(foo)",
            "--",
            "-p",
        ]);
        let selection = Selection::parse(&extra);
        assert_eq!(selection.packages, args(&["junction-schema"]));
        assert_eq!(
            selection.to_args(),
            args(&["-p", "junction-schema", "--features", "x"])
        );
        assert_eq!(
            Selection::parse(&args(&["-pjunction-schema"])).packages,
            args(&["junction-schema"])
        );
        assert!(!Selection::parse(&args(&["--", "-p", "x"])).chooses_packages());
    }

    #[test]
    fn exclude_keeps_workspace() {
        assert_eq!(
            Selection::parse(&args(&["--exclude", "xtask"])).to_args(),
            args(&["--workspace", "--exclude", "xtask"])
        );
    }
}
