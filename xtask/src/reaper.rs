//! Stops the services and removes their temp dir, even when the xtask is killed.
//!
//! Why a separate process: std has no signal handling (and we keep the xtask
//! free of libc), so Ctrl-C, SIGTERM or SIGKILL end the xtask without running
//! any `Drop`. So before it starts a service, the xtask starts itself again as
//! `xtask __reap DIR`, in its own process group (the terminal's Ctrl-C goes to
//! the foreground group only, so it does not reach the reaper), with a pipe on
//! its stdin. For every service the xtask writes `watch PID SIGNAL NAME`.
//!
//! The pipe closes when the xtask ends in any way: the `Reaper` guard is
//! dropped (normal end, error, panic) or the kernel closes it (Ctrl-C, SIGTERM,
//! SIGKILL). On end-of-file the reaper sends each service its stop signal,
//! waits for its process group to be gone (SIGKILL after a grace period) and
//! removes DIR. Normal and abnormal endings run this same code. Services also
//! run in their own process groups, so Ctrl-C does not hit them half-way, and
//! std opens pipes close-on-exec, so no service holds the pipe open.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Temp dirs the reaper may remove start with this; a guard against bad arguments.
pub const TEMP_DIR_PREFIX: &str = "junction-test-";

const GRACE_PERIOD: Duration = Duration::from_secs(10);
const KILL_WAIT: Duration = Duration::from_secs(5);

/// The xtask's handle on the reaper process. Dropping it stops the services.
pub struct Reaper {
    process: Child,
    /// `None` once dropped; closing it is what starts the cleanup.
    pipe: Option<ChildStdin>,
}

impl Reaper {
    pub fn spawn(dir: &Path) -> Result<Self> {
        use std::os::unix::process::CommandExt;
        // /proc/self/exe still runs this very binary if a build replaced the file meanwhile.
        let mut process = Command::new("/proc/self/exe")
            .arg0("xtask")
            .arg("__reap")
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()
            .context("could not start the cleanup process")?;
        let pipe = process.stdin.take();
        Ok(Self { process, pipe })
    }

    /// Hands a started service to the reaper. `signal` is its graceful stop signal.
    pub fn watch(&mut self, pid: u32, signal: &str, name: &str) -> Result<()> {
        self.send(&format!("watch {pid} {signal} {name}"))
    }

    /// The service exited and was reaped by us: its pid may be reused, so do not signal it.
    pub fn forget(&mut self, pid: u32) -> Result<()> {
        self.send(&format!("forget {pid}"))
    }

    fn send(&mut self, line: &str) -> Result<()> {
        let pipe = self
            .pipe
            .as_mut()
            .context("the cleanup process is closed")?;
        writeln!(pipe, "{line}")
            .and_then(|()| pipe.flush())
            .context("the cleanup process is gone")
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        // Closing the pipe starts the cleanup; wait so the machine is clean when we exit.
        drop(self.pipe.take());
        if let Err(error) = self.process.wait() {
            eprintln!("[xtask] could not wait for the cleanup process: {error}");
        }
    }
}

struct Watched {
    pid: u32,
    signal: String,
    name: String,
}

/// The body of `xtask __reap DIR`: collect services until the pipe closes, then clean up.
pub fn run(dir: &Path) -> Result<()> {
    let is_ours = dir
        .file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with(TEMP_DIR_PREFIX));
    if !is_ours {
        bail!(
            "refusing to clean up {}: not an xtask temp dir",
            dir.display()
        );
    }

    let mut watched: Vec<Watched> = Vec::new();
    // Any read error means the xtask is gone, the same as end-of-file.
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next().and_then(|pid| pid.parse().ok())) {
            (Some("watch"), Some(pid)) => watched.push(Watched {
                pid,
                signal: words.next().unwrap_or("TERM").to_owned(),
                name: words.next().unwrap_or("service").to_owned(),
            }),
            (Some("forget"), Some(pid)) => watched.retain(|service| service.pid != pid),
            _ => say(&format!("cleanup: ignoring unknown message {line:?}")),
        }
    }

    stop_all(&watched);
    remove_dir(dir);
    Ok(())
}

fn stop_all(watched: &[Watched]) {
    for service in watched.iter().rev() {
        send_signal(&service.signal, &service.pid.to_string());
    }
    let deadline = Instant::now() + GRACE_PERIOD;
    while watched.iter().any(|service| group_alive(service.pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for service in watched.iter().filter(|service| group_alive(service.pid)) {
        say(&format!(
            "cleanup: {} (pid {}) ignored SIG{}; killing its process group",
            service.name, service.pid, service.signal
        ));
        send_signal("KILL", &format!("-{}", service.pid));
    }
    let deadline = Instant::now() + KILL_WAIT;
    while watched.iter().any(|service| group_alive(service.pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if !watched.is_empty() {
        let names: Vec<&str> = watched
            .iter()
            .map(|service| service.name.as_str())
            .collect();
        say(&format!("[xtask] stopped {}", names.join(", ")));
    }
}

fn remove_dir(dir: &Path) {
    // A process that was just killed may still be writing into the dir; retry briefly.
    let mut attempts = 0;
    loop {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => break,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => break,
            Err(error) if attempts >= 5 => {
                say(&format!(
                    "cleanup: could not remove {}: {error}",
                    dir.display()
                ));
                break;
            }
            Err(_) => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

/// `target` is a pid or, with a leading `-`, a process group. The shell's
/// builtin `kill` is used because the procps `kill` binary is not in every
/// minimal image. Failures (already gone) are expected and ignored.
fn send_signal(signal: &str, target: &str) {
    let _ = Command::new("sh")
        .args(["-c", r#"kill -s "$0" -- "$1""#, signal, target])
        .stderr(Stdio::null())
        .status();
}

/// Whether any live (non-zombie) process is in process group `pgid`. Zombies
/// count as gone: the xtask, their parent, reaps them only after we finish.
fn group_alive(pgid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.filter_map(|entry| entry.ok()).any(|entry| {
        let is_pid = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.bytes().all(|byte| byte.is_ascii_digit()));
        is_pid
            && std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|stat| parse_stat(&stat))
                .is_some_and(|(state, group)| group == pgid && state != 'Z')
    })
}

/// State and process group from `/proc/PID/stat`: `PID (COMM) STATE PPID PGRP ...`.
/// COMM may contain spaces and parentheses, so parse after the last `)`.
fn parse_stat(stat: &str) -> Option<(char, u32)> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _parent = fields.next()?;
    let group = fields.next()?.parse().ok()?;
    Some((state, group))
}

/// stderr may be a closed terminal by the time the reaper runs; never panic on it.
fn say(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// The path a new temp dir gets: `/tmp/junction-test-<random>`.
pub fn temp_dir_candidate() -> PathBuf {
    std::env::temp_dir().join(format!(
        "{TEMP_DIR_PREFIX}{}",
        crate::services::random_hex(8)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_command_names() {
        let stat = "4242 (my (odd) cmd) S 1 4240 4240 0 -1 4194560 0 0";
        assert_eq!(parse_stat(stat), Some(('S', 4240)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn refuses_foreign_dirs() {
        assert!(run(Path::new("/tmp/not-ours")).is_err());
    }
}
