//! The contract between `cargo xtask test` and the tests: every `TEST_*`
//! variable is set and points at a live server of the right kind.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The variable's value, or `None` when the run opted out of services.
/// Panics (fails the test) with a hint when it is missing.
fn service_env(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) => Some(value),
        Err(_) if std::env::var("JUNCTION_TEST_SKIP_SERVICES").as_deref() == Ok("1") => {
            println!("skipped: {name} is not set and JUNCTION_TEST_SKIP_SERVICES=1");
            None
        }
        Err(_) => panic!("{name} is not set: run the tests with `cargo xtask test`"),
    }
}

/// `scheme://[user@]host:port[/path]` -> `host:port`.
fn host_port(url: &str) -> String {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = without_scheme.split('/').next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
        .to_owned()
}

fn connect(url: &str) -> TcpStream {
    let address = host_port(url);
    let stream =
        TcpStream::connect(&address).unwrap_or_else(|error| panic!("connect {address}: {error}"));
    let timeout = Some(Duration::from_secs(5));
    stream.set_read_timeout(timeout).expect("set read timeout");
    stream
        .set_write_timeout(timeout)
        .expect("set write timeout");
    stream
}

fn read_prefix(stream: &mut TcpStream, length: usize) -> Vec<u8> {
    let mut answer = vec![0; length];
    stream
        .read_exact(&mut answer)
        .expect("read the server's answer");
    answer
}

#[test]
fn urls_are_split_into_host_and_port() {
    assert_eq!(
        host_port("postgres://postgres@127.0.0.1:5432/db"),
        "127.0.0.1:5432"
    );
    assert_eq!(host_port("redis://127.0.0.1:6379"), "127.0.0.1:6379");
    assert_eq!(host_port("127.0.0.1:1"), "127.0.0.1:1");
}

#[test]
fn postgres_answers_an_ssl_request() {
    let Some(url) = service_env("TEST_POSTGRES_URL") else {
        return;
    };
    assert!(
        url.ends_with("/junction_test"),
        "unexpected database in {url}"
    );
    let mut stream = connect(&url);
    // SSLRequest: length 8, code 80877103. A PostgreSQL server answers 'S' or 'N'.
    let mut request = 8_u32.to_be_bytes().to_vec();
    request.extend_from_slice(&80_877_103_u32.to_be_bytes());
    stream.write_all(&request).expect("send SSLRequest");
    let answer = read_prefix(&mut stream, 1);
    assert!(
        answer == b"N" || answer == b"S",
        "not PostgreSQL: {answer:?}"
    );
}

#[test]
fn redis_answers_ping() {
    let Some(url) = service_env("TEST_REDIS_URL") else {
        return;
    };
    let mut stream = connect(&url);
    stream.write_all(b"PING\r\n").expect("send PING");
    assert_eq!(read_prefix(&mut stream, 5), b"+PONG");
}

#[test]
fn nats_greets_with_jetstream_enabled() {
    let Some(url) = service_env("TEST_NATS_URL") else {
        return;
    };
    let mut stream = connect(&url);
    let mut greeting = Vec::new();
    let mut byte = [0_u8; 1];
    while !greeting.ends_with(b"\r\n") {
        stream.read_exact(&mut byte).expect("read the INFO line");
        greeting.push(byte[0]);
    }
    let greeting = String::from_utf8_lossy(&greeting);
    assert!(greeting.starts_with("INFO "), "not NATS: {greeting}");
    assert!(
        greeting.contains(r#""jetstream":true"#),
        "JetStream is off: {greeting}"
    );
}

#[test]
fn s3_answers_http_and_credentials_are_set() {
    let Some(endpoint) = service_env("TEST_S3_ENDPOINT") else {
        return;
    };
    let access_key = service_env("TEST_S3_ACCESS_KEY").unwrap_or_default();
    let secret_key = service_env("TEST_S3_SECRET_KEY").unwrap_or_default();
    assert!(
        !access_key.is_empty() && !secret_key.is_empty(),
        "empty S3 credentials"
    );
    let mut stream = connect(&endpoint);
    // Unsigned, so s3s-fs refuses it; any HTTP answer proves an HTTP server listens.
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("send the HTTP request");
    assert_eq!(read_prefix(&mut stream, 5), b"HTTP/");
}
