//! The real `junction dev` on random 127.0.0.1 ports, for the end-to-end tests.

#![allow(dead_code)] // each test binary uses part of this module

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_junction");
/// Every test platform makes this account an admin (see [`Platform::admin_token`]).
pub const OWNER_EMAIL: &str = "owner@example.com";
const OWNER_PASSWORD: &str = "shop-owner-1";

/// A running `junction dev`; killed on drop if the test did not stop it.
pub struct Platform {
    child: Child,
    pub endpoint: String,
    /// Each subgraph's GraphQL URL, from the banner.
    pub subgraphs: Vec<(String, String)>,
    /// What it printed up to "Press Ctrl-C to stop.".
    pub banner: Vec<String>,
    pub http: reqwest::Client,
}

impl Platform {
    pub fn start(data_dir: &Path, env: &[(String, String)]) -> Platform {
        Platform::start_with(data_dir, &[], env)
    }

    /// `junction dev` with extra arguments (`--seed`).
    pub fn start_with(data_dir: &Path, args: &[&str], env: &[(String, String)]) -> Platform {
        let mut command = Command::new(BIN);
        command
            .args(["dev", "--listen", "127.0.0.1:0"])
            .args(args)
            .arg("--data-dir")
            .arg(data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        clear_junction_env(&mut command);
        command.env("JUNCTION_LOG", "warn");
        command.env(
            "JUNCTION_SUBGRAPHS__ACCOUNTS__SETTINGS__ADMIN_EMAILS",
            format!("[{OWNER_EMAIL}]"),
        );
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("junction starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        // The banner names the endpoint; read until it appears (or the process dies).
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut subgraphs = Vec::new();
            let mut banner = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                banner.push(line.clone());
                let line = line.trim();
                if let Some(rest) = line.strip_prefix("subgraph ") {
                    let mut words = rest.split_whitespace();
                    if let (Some(name), Some(url)) = (words.next(), words.next()) {
                        subgraphs.push((name.to_string(), url.to_string()));
                    }
                }
                if line.starts_with("Press Ctrl-C") {
                    let _ = tx.send((subgraphs.clone(), banner.clone()));
                }
                if let Some(rest) = line.strip_prefix("GraphQL endpoint: ") {
                    subgraphs.push((
                        "router".into(),
                        rest.split_whitespace().next().unwrap_or("").to_string(),
                    ));
                }
            }
        });
        let (mut subgraphs, banner) = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(found) => found,
            Err(_) => {
                let _ = child.kill();
                panic!("junction dev did not print its banner within 120 s");
            }
        };
        let position = subgraphs
            .iter()
            .position(|(name, _)| name == "router")
            .expect("the banner names the endpoint");
        let endpoint = subgraphs.remove(position).1;
        Platform {
            child,
            endpoint,
            subgraphs,
            banner,
            http: reqwest::Client::new(),
        }
    }

    pub async fn post(&self, body: Value) -> (u16, Value) {
        self.post_with(body, &[]).await
    }

    /// POSTs `body` with extra request headers.
    pub async fn post_with(&self, body: Value, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut request = self.http.post(&self.endpoint).json(&body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("router answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        (status, value)
    }

    pub async fn query(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self
            .post(json!({ "query": query, "variables": variables }))
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// `query` with `authorization: <bearer>`; panics on errors.
    pub async fn query_as(&self, bearer: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self
            .post_with(
                json!({ "query": query, "variables": variables }),
                &[("authorization", bearer)],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "{query}: {body}");
        body["data"].clone()
    }

    /// `Bearer <token>` of the shop owner (an admin), registered on first use.
    pub async fn admin_token(&self) -> String {
        let login = "mutation($email: String!, $password: String!) {
            login(email: $email, password: $password) { accessToken }
        }";
        let (_, body) = self
            .post(json!({ "query": login, "variables": { "email": OWNER_EMAIL, "password": OWNER_PASSWORD } }))
            .await;
        let token = match body["data"]["login"]["accessToken"].as_str() {
            Some(token) => token.to_owned(),
            None => {
                let register =
                    "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }";
                let data = self
                    .query(
                        register,
                        json!({ "input": { "email": OWNER_EMAIL, "password": OWNER_PASSWORD, "name": "Owner" } }),
                    )
                    .await;
                data["register"]["accessToken"]
                    .as_str()
                    .expect("register returns a token")
                    .to_owned()
            }
        };
        format!("Bearer {token}")
    }

    /// SIGTERM, then the exit status (must be a clean exit).
    pub fn stop(mut self) {
        terminate(&mut self.child, "junction dev");
    }
}

/// SIGTERM, then waits for a clean exit.
fn terminate(child: &mut Child, name: &str) {
    let pid = child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "{name} exited with {status}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn clear_junction_env(command: &mut Command) {
    for (key, _) in std::env::vars() {
        if key.starts_with("JUNCTION_") {
            command.env_remove(key);
        }
    }
}

/// `junction dev`'s environment for the real services `cargo xtask test` started: a fresh
/// PostgreSQL database, NATS with a stream prefix of its own, Redis, and an S3 bucket of
/// its own. `None` when the services are skipped (`JUNCTION_TEST_SKIP_SERVICES=1`).
pub struct RealBackends {
    pub env: Vec<(String, String)>,
    pub nats: String,
    pub stream_prefix: String,
}

pub async fn real_backends() -> Option<RealBackends> {
    use junction_kit::testing::service_url;
    let (Some(pg), Some(nats), Some(redis), Some(s3)) = (
        service_url("TEST_POSTGRES_URL"),
        service_url("TEST_NATS_URL"),
        service_url("TEST_REDIS_URL"),
        service_url("TEST_S3_ENDPOINT"),
    ) else {
        return None;
    };
    let database_url = fresh_database(&pg).await;
    let prefix = format!("E{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let bucket = junction_kit::testing::unique_name("e2e").replace('_', "-");
    let env = [
        ("JUNCTION_DATABASE__URL", database_url),
        ("JUNCTION_EVENTS__URL", nats.clone()),
        ("JUNCTION_EVENTS__STREAM_PREFIX", prefix.clone()),
        ("JUNCTION_CACHE__URL", redis),
        ("JUNCTION_BLOBS__S3__ENDPOINT", s3),
        ("JUNCTION_BLOBS__S3__BUCKET", bucket),
        (
            "JUNCTION_BLOBS__S3__ACCESS_KEY_ID",
            std::env::var("TEST_S3_ACCESS_KEY").unwrap_or_default(),
        ),
        (
            "JUNCTION_BLOBS__S3__SECRET_ACCESS_KEY",
            std::env::var("TEST_S3_SECRET_KEY").unwrap_or_default(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Some(RealBackends {
        env,
        nats,
        stream_prefix: prefix,
    })
}

async fn fresh_database(admin_url: &str) -> String {
    use diesel_async::RunQueryDsl;
    let name = junction_kit::testing::unique_name("e2e");
    let config = junction_kit::config::DatabaseConfig {
        url: Some(admin_url.to_string()),
        ..Default::default()
    };
    let admin = junction_kit::db::Database::connect(&config, "e2e_admin", Path::new("."))
        .await
        .expect("admin connection");
    let statement = format!("CREATE DATABASE {name}");
    junction_kit::with_conn!(&admin, |conn| {
        diesel::sql_query(statement.as_str()).execute(conn).await
    })
    .expect("create database");
    let mut url = url::Url::parse(admin_url).expect("TEST_POSTGRES_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// A `junction` process of the production shape (`junction subgraph NAME`, `junction
/// router`); killed on drop if the test did not stop it.
pub struct Process {
    child: Child,
    pub name: String,
}

impl Process {
    /// Starts `junction <args>` with `env` and waits for the stdout line containing
    /// `ready`; returns the process and that line.
    pub fn start(
        name: &str,
        args: &[&str],
        env: &[(String, String)],
        ready: &str,
    ) -> (Process, String) {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        clear_junction_env(&mut command);
        command.env("JUNCTION_LOG", "warn");
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("junction starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        let marker = ready.to_owned();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains(&marker) {
                    let _ = tx.send(line);
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => (
                Process {
                    child,
                    name: name.to_owned(),
                },
                line,
            ),
            Err(_) => {
                let _ = child.kill();
                panic!("{name} did not print {ready:?} within 60 s");
            }
        }
    }

    /// SIGTERM, then the exit status (must be a clean exit).
    pub fn stop(mut self) {
        let name = self.name.clone();
        terminate(&mut self.child, &name);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free right now on 127.0.0.1 (for processes that must know each other's
/// addresses before they start).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}
