//! Finds the service programs and installs the missing ones (apt, cargo install).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cargo::{Cargo, home_dir};

/// s3s-fs 0.14.1 is the newest release that builds on rustc 1.95.
const S3S_FS_VERSION: &str = "0.14.1";

/// Absolute paths of the programs the test services need.
pub struct Tools {
    /// `/usr/lib/postgresql/<version>/bin`: Debian keeps the server programs off PATH.
    pub postgres_bin: PathBuf,
    pub redis_server: PathBuf,
    pub nats_server: PathBuf,
    pub s3s_fs: PathBuf,
}

/// Installs only what is missing and returns where everything is.
pub fn ensure_tools(cargo: &Cargo) -> Result<Tools> {
    let mut missing_packages = Vec::new();
    if find_postgres_bin().is_none() {
        missing_packages.push("postgresql");
    }
    if find_program("redis-server").is_none() {
        missing_packages.push("redis-server");
    }
    if find_program("nats-server").is_none() {
        missing_packages.push("nats-server");
    }
    if !missing_packages.is_empty() {
        apt_install(&missing_packages)?;
    }

    let s3s_fs = home_dir()?.join(".cache/junction/tools/bin/s3s-fs");
    if !s3s_fs.exists() {
        install_s3s_fs(cargo, &s3s_fs)?;
    }

    Ok(Tools {
        postgres_bin: find_postgres_bin().context(
            "PostgreSQL is still missing: no /usr/lib/postgresql/<version>/bin/postgres",
        )?,
        redis_server: find_program("redis-server").context("redis-server is still missing")?,
        nats_server: find_program("nats-server").context("nats-server is still missing")?,
        s3s_fs,
    })
}

/// The bin dir of the newest PostgreSQL under /usr/lib/postgresql that has both
/// `postgres` and `initdb`.
fn find_postgres_bin() -> Option<PathBuf> {
    let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    versions
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            let complete = bin.join("postgres").is_file() && bin.join("initdb").is_file();
            complete.then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
}

/// Like `command -v`, but also looks in the sbin dirs, which a non-root PATH
/// often lacks while Debian puts `nats-server` there.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            [
                "/usr/local/sbin",
                "/usr/local/bin",
                "/usr/sbin",
                "/usr/bin",
                "/sbin",
                "/bin",
            ]
            .map(PathBuf::from),
        )
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

pub fn is_root() -> bool {
    // `id -u` is in coreutils, so it exists wherever apt does.
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

/// `apt-get install`, with `apt-get update` only when the first try fails
/// (fresh images ship without package lists; updating costs time otherwise).
pub fn apt_install(packages: &[&str]) -> Result<()> {
    eprintln!("[xtask] installing with apt: {}", packages.join(" "));
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend_from_slice(packages);
    if apt_get(&install)? {
        return Ok(());
    }
    eprintln!("[xtask] apt-get install failed; running apt-get update and trying again");
    if !apt_get(&["update", "-q"])? {
        bail!("`apt-get update` failed");
    }
    if !apt_get(&install)? {
        bail!("`apt-get install {}` failed", packages.join(" "));
    }
    Ok(())
}

/// Runs apt-get as root: directly, or through sudo when that exists.
fn apt_get(args: &[&str]) -> Result<bool> {
    let mut command = if is_root() {
        Command::new("apt-get")
    } else if let Some(sudo) = find_program("sudo") {
        // sudo drops most of the environment, so pass DEBIAN_FRONTEND through env.
        let mut command = Command::new(sudo);
        command.args(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        command
    } else {
        bail!(
            "apt-get needs root and sudo is not installed: run `apt-get {}` as root",
            args.join(" ")
        );
    };
    command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    eprintln!("[xtask] $ apt-get {}", args.join(" "));
    let status = command.status().context("could not run apt-get")?;
    Ok(status.success())
}

fn install_s3s_fs(cargo: &Cargo, binary: &Path) -> Result<()> {
    // <root>/bin/s3s-fs -> <root>
    let root = binary
        .parent()
        .and_then(Path::parent)
        .context("tool path has no root dir")?;
    eprintln!(
        "[xtask] installing s3s-fs {S3S_FS_VERSION} into {}",
        root.display()
    );
    let mut install = cargo.command();
    install
        .args([
            "install",
            &format!("s3s-fs@{S3S_FS_VERSION}"),
            "--features",
            "binary",
            "--locked",
            "--root",
        ])
        .arg(root)
        // A throwaway build dir: the tool's artifacts would only bloat the shared target dir.
        .env_remove("CARGO_TARGET_DIR");
    let status = install.status().context("could not run cargo install")?;
    if !status.success() || !binary.exists() {
        bail!("`cargo install s3s-fs@{S3S_FS_VERSION}` failed ({status})");
    }
    Ok(())
}
