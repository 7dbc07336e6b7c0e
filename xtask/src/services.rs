//! Private PostgreSQL, Redis, NATS JetStream and s3s-fs instances for the tests.
//!
//! Each one gets a free 127.0.0.1 port and a throwaway data dir under one
//! `/tmp/junction-test-*` dir, so they never clash with other instances (such
//! as a developer's own) and leave nothing behind. The `Reaper` stops them.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::install::{Tools, is_root};
use crate::reaper::{Reaper, temp_dir_candidate};

const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Another process may take the free port between our probe and the server's bind.
const START_ATTEMPTS: u32 = 3;
const TEST_DATABASE: &str = "junction_test";
const S3_ACCESS_KEY: &str = "junction";

/// What the tests need to reach the services, as the `TEST_*` variables they read.
pub struct Endpoints {
    postgres_port: u16,
    redis_port: u16,
    nats_port: u16,
    s3_port: u16,
    s3_secret_key: String,
}

impl Endpoints {
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "TEST_POSTGRES_URL",
                format!(
                    "postgres://postgres@127.0.0.1:{}/{TEST_DATABASE}",
                    self.postgres_port
                ),
            ),
            (
                "TEST_REDIS_URL",
                format!("redis://127.0.0.1:{}", self.redis_port),
            ),
            (
                "TEST_NATS_URL",
                format!("nats://127.0.0.1:{}", self.nats_port),
            ),
            (
                "TEST_S3_ENDPOINT",
                format!("http://127.0.0.1:{}", self.s3_port),
            ),
            ("TEST_S3_ACCESS_KEY", S3_ACCESS_KEY.to_owned()),
            ("TEST_S3_SECRET_KEY", self.s3_secret_key.clone()),
        ]
    }
}

/// The running services. Dropping this stops them and removes their dir.
pub struct RunningServices {
    pub endpoints: Endpoints,
    /// Kept so the processes stay our children (their pids cannot be reused).
    _processes: Vec<Child>,
    _reaper: Reaper,
}

/// Starts all four services; on any error the ones already started are stopped.
pub fn start_all(tools: &Tools) -> Result<RunningServices> {
    let dir = create_temp_dir()?;
    eprintln!("[xtask] service dir: {}", dir.display());
    let mut reaper = match Reaper::spawn(&dir) {
        Ok(reaper) => reaper,
        Err(error) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(error);
        }
    };
    // From here on, an early return drops `reaper`, which stops what was started.
    let mut launcher = Launcher {
        dir: &dir,
        reaper: &mut reaper,
        processes: Vec::new(),
    };
    let postgres_port = launcher.start_postgres(&tools.postgres_bin)?;
    let redis_port = launcher.start_redis(&tools.redis_server)?;
    let nats_port = launcher.start_nats(&tools.nats_server)?;
    let s3_secret_key = random_hex(16);
    let s3_port = launcher.start_s3(&tools.s3s_fs, &s3_secret_key)?;
    let processes = launcher.processes;
    eprintln!(
        "[xtask] services ready: postgres :{postgres_port}, redis :{redis_port}, nats :{nats_port}, s3s-fs :{s3_port}"
    );
    Ok(RunningServices {
        endpoints: Endpoints {
            postgres_port,
            redis_port,
            nats_port,
            s3_port,
            s3_secret_key,
        },
        _processes: processes,
        _reaper: reaper,
    })
}

fn create_temp_dir() -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    loop {
        let dir = temp_dir_candidate();
        match std::fs::create_dir(&dir) {
            Ok(()) => {
                // The postgres user must be able to reach its data dir inside.
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
                    .with_context(|| format!("could not chmod {}", dir.display()))?;
                return Ok(dir);
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => {
                return Err(error).with_context(|| format!("could not create {}", dir.display()));
            }
        }
    }
}

/// Random lowercase hex with `bytes` bytes of std's per-process random hash keys.
pub fn random_hex(bytes: usize) -> String {
    use std::hash::{BuildHasher, Hasher, RandomState};
    let mut hex = String::new();
    while hex.len() < bytes * 2 {
        // Each RandomState gets fresh keys seeded from the OS random source.
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.write_usize(hex.len());
        hex.push_str(&format!("{:016x}", hasher.finish()));
    }
    hex.truncate(bytes * 2);
    hex
}

enum Readiness {
    Ready,
    Exited(ExitStatus),
    TimedOut,
}

struct Launcher<'a> {
    dir: &'a Path,
    reaper: &'a mut Reaper,
    processes: Vec<Child>,
}

impl Launcher<'_> {
    fn start_postgres(&mut self, bin: &Path) -> Result<u16> {
        // PostgreSQL refuses to run as root, so root runs it as the `postgres` user.
        let run_as = if is_root() {
            Some(postgres_user()?)
        } else {
            None
        };
        let data = self.dir.join("postgres");
        let socket = self.dir.join("postgres-socket");
        for dir in [&data, &socket] {
            std::fs::create_dir(dir)
                .with_context(|| format!("could not create {}", dir.display()))?;
            if let Some((uid, gid)) = run_as {
                std::os::unix::fs::chown(dir, Some(uid), Some(gid)).with_context(|| {
                    format!("could not hand {} to the postgres user", dir.display())
                })?;
            }
        }
        let log = self.dir.join("postgres.log");
        let work_dir = self.dir.to_path_buf();
        let as_postgres = |program: &str| {
            let mut command = Command::new(bin.join(program));
            // The postgres user may not be allowed into our current dir (e.g. /root).
            command.current_dir(&work_dir);
            if let Some((uid, gid)) = run_as {
                command.uid(uid).gid(gid);
            }
            command
        };

        let mut initdb = as_postgres("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            // The C locale exists everywhere; the environment's locale may not be generated.
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"]);
        run_logged(&mut initdb, &log, "initdb")?;

        let port = self.start_on_free_port(
            "postgres",
            // SIGQUIT: immediate shutdown, like `pg_ctl -m immediate`; the data is throwaway.
            "QUIT",
            &log,
            |port| {
                let mut postgres = as_postgres("postgres");
                postgres
                    .arg("-D")
                    .arg(&data)
                    .args(["-p", &port.to_string(), "-k"])
                    .arg(&socket)
                    .args(["-c", "listen_addresses=127.0.0.1"])
                    .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
                    .args(["-c", "full_page_writes=off", "-c", "max_connections=300"]);
                postgres
            },
            |port| {
                // Through our own socket dir, so another server on the port cannot answer.
                Command::new(bin.join("pg_isready"))
                    .arg("-q")
                    .arg("-h")
                    .arg(&socket)
                    .args(["-p", &port.to_string(), "-t", "1"])
                    .status()
                    .is_ok_and(|status| status.success())
            },
        )?;

        let mut createdb = Command::new(bin.join("createdb"));
        createdb.arg("-h").arg(&socket).args([
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            TEST_DATABASE,
        ]);
        run_logged(&mut createdb, &log, "createdb")?;
        Ok(port)
    }

    fn start_redis(&mut self, redis_server: &Path) -> Result<u16> {
        let data = self.create_data_dir("redis")?;
        let log = self.dir.join("redis.log");
        self.start_on_free_port(
            "redis",
            "TERM",
            &log,
            |port| {
                let mut redis = Command::new(redis_server);
                redis
                    .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                    .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                    .arg("--dir")
                    .arg(&data);
                redis
            },
            |port| tcp_exchange(port, b"PING\r\n", b"+PONG"),
        )
    }

    fn start_nats(&mut self, nats_server: &Path) -> Result<u16> {
        let store = self.create_data_dir("nats")?;
        let log = self.dir.join("nats.log");
        self.start_on_free_port(
            "nats",
            "TERM",
            &log,
            |port| {
                let mut nats = Command::new(nats_server);
                nats.arg("-js").arg("-sd").arg(&store).args([
                    "-a",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                ]);
                nats
            },
            // The server greets every client with INFO once it accepts clients.
            |port| tcp_exchange(port, b"", b"INFO"),
        )
    }

    fn start_s3(&mut self, s3s_fs: &Path, secret_key: &str) -> Result<u16> {
        let root = self.create_data_dir("s3")?;
        let log = self.dir.join("s3s-fs.log");
        self.start_on_free_port(
            "s3s-fs",
            "TERM",
            &log,
            |port| {
                let mut s3 = Command::new(s3s_fs);
                s3.args(["--host", "127.0.0.1", "--port", &port.to_string()])
                    .args(["--access-key", S3_ACCESS_KEY, "--secret-key", secret_key])
                    .arg(&root);
                s3
            },
            |port| tcp_exchange(port, b"", b""),
        )
    }

    fn create_data_dir(&self, name: &str) -> Result<PathBuf> {
        let dir = self.dir.join(name);
        std::fs::create_dir(&dir).with_context(|| format!("could not create {}", dir.display()))?;
        Ok(dir)
    }

    /// Starts the command from `build` on a free port until `ready` says yes;
    /// retries on a new port when the server exits early (e.g. the port was taken).
    fn start_on_free_port(
        &mut self,
        name: &str,
        stop_signal: &str,
        log: &Path,
        build: impl Fn(u16) -> Command,
        ready: impl Fn(u16) -> bool,
    ) -> Result<u16> {
        for attempt in 1..=START_ATTEMPTS {
            let port = free_port()?;
            let mut command = build(port);
            let log_file = open_log(log)?;
            let log_file_too = log_file
                .try_clone()
                .with_context(|| format!("could not reuse {}", log.display()))?;
            let mut process = command
                .stdin(Stdio::null())
                .stdout(log_file)
                .stderr(log_file_too)
                // Its own group: the terminal's Ctrl-C must not reach it; the reaper stops it.
                .process_group(0)
                .spawn()
                .with_context(|| format!("could not start {name} ({:?})", command.get_program()))?;
            let pid = process.id();
            self.reaper.watch(pid, stop_signal, name)?;

            match wait_ready(&mut process, port, &ready)? {
                Readiness::Ready => {
                    self.processes.push(process);
                    return Ok(port);
                }
                Readiness::Exited(status) => {
                    self.reaper.forget(pid)?;
                    if attempt == START_ATTEMPTS {
                        bail!(
                            "{name} exited during startup ({status}); last lines of {}:\n{}",
                            log.display(),
                            log_tail(log)
                        );
                    }
                    eprintln!(
                        "[xtask] {name} exited during startup ({status}); retrying on a new port"
                    );
                }
                Readiness::TimedOut => {
                    self.processes.push(process);
                    bail!(
                        "{name} was not ready on port {port} after {}s; last lines of {}:\n{}",
                        READY_TIMEOUT.as_secs(),
                        log.display(),
                        log_tail(log)
                    );
                }
            }
        }
        bail!("{name} did not start after {START_ATTEMPTS} attempts")
    }
}

fn wait_ready(process: &mut Child, port: u16, ready: &impl Fn(u16) -> bool) -> Result<Readiness> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = process
            .try_wait()
            .context("could not check a service process")?
        {
            return Ok(Readiness::Exited(status));
        }
        if ready(port) {
            // Still ours? If our server failed to bind, another one could have answered.
            if let Some(status) = process
                .try_wait()
                .context("could not check a service process")?
            {
                return Ok(Readiness::Exited(status));
            }
            return Ok(Readiness::Ready);
        }
        if Instant::now() >= deadline {
            return Ok(Readiness::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A port that is free right now: bind port 0 and let the kernel choose.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("could not bind a free port")?;
    Ok(listener
        .local_addr()
        .context("could not read the bound port")?
        .port())
}

/// Connects, sends `request` and checks that the answer starts with `expected`.
fn tcp_exchange(port: u16, request: &[u8], expected: &[u8]) -> bool {
    let timeout = Duration::from_secs(1);
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, timeout) else {
        return false;
    };
    if stream.set_read_timeout(Some(timeout)).is_err()
        || stream.set_write_timeout(Some(timeout)).is_err()
    {
        return false;
    }
    if !request.is_empty() && stream.write_all(request).is_err() {
        return false;
    }
    let mut answer = vec![0; expected.len()];
    stream.read_exact(&mut answer).is_ok() && answer == expected
}

/// uid and gid of the `postgres` user (created by Debian's postgresql-common).
fn postgres_user() -> Result<(u32, u32)> {
    let id = |flag: &str| -> Result<u32> {
        let output = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .context("could not run `id`")?;
        if !output.status.success() {
            bail!(
                "running as root, but there is no `postgres` user to run PostgreSQL as \
                 (PostgreSQL refuses to run as root; `apt-get install postgresql` creates it)"
            );
        }
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .context("`id` printed something that is not a number")
    };
    Ok((id("-u")?, id("-g")?))
}

fn open_log(log: &Path) -> Result<File> {
    File::options()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("could not open {}", log.display()))
}

/// Runs a one-off setup command with its output in `log`.
fn run_logged(command: &mut Command, log: &Path, what: &str) -> Result<()> {
    let log_file = open_log(log)?;
    let log_file_too = log_file
        .try_clone()
        .context("could not reuse the log file")?;
    let status = command
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_file_too)
        .status()
        .with_context(|| format!("could not run {what}"))?;
    if !status.success() {
        bail!(
            "{what} failed ({status}); last lines of {}:\n{}",
            log.display(),
            log_tail(log)
        );
    }
    Ok(())
}

fn log_tail(log: &Path) -> String {
    const LINES: usize = 20;
    match std::fs::read(log) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(LINES)..].join("\n")
        }
        Err(error) => format!("(could not read the log: {error})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_hex_has_the_asked_length_and_differs() {
        let first = random_hex(16);
        assert_eq!(first.len(), 32);
        assert!(first.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_ne!(first, random_hex(16));
    }

    #[test]
    fn free_port_is_not_zero() {
        assert!(free_port().is_ok_and(|port| port != 0));
    }
}
