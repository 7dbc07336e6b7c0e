//! Blob store behaviour, run identically against S3 (s3s-fs) and a local directory.

use bytes::Bytes;
use junction_kit::blobs::{BlobError, Blobs};
use junction_kit::config::BlobsConfig;
use junction_kit::testing;
use std::path::Path;
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
enum Backend {
    S3,
    Local,
}

/// A bucket name of our own (S3 bucket names allow `-`, not `_`).
fn unique_bucket() -> String {
    testing::unique_name("kit-blobs").replace('_', "-")
}

fn config(backend: Backend, dir: &Path) -> Option<BlobsConfig> {
    match backend {
        Backend::S3 => testing::s3_config(&unique_bucket()),
        Backend::Local => Some(BlobsConfig {
            s3: None,
            dir: Some(dir.join("store")),
        }),
    }
}

/// Runs the same async test body against both stores, as two tests.
macro_rules! blob_suite {
    ($name:ident) => {
        mod $name {
            use super::Backend;

            async fn run(backend: Backend) {
                let dir = tempfile::tempdir().expect("temp dir");
                let Some(cfg) = super::config(backend, dir.path()) else {
                    return;
                };
                super::$name(&cfg, dir.path()).await;
            }

            #[tokio::test]
            async fn s3() {
                run(Backend::S3).await;
            }

            #[tokio::test]
            async fn local() {
                run(Backend::Local).await;
            }
        }
    };
}

async fn put_get_overwrite_delete(cfg: &BlobsConfig, data_dir: &Path) {
    let blobs = Blobs::connect(cfg, "media", data_dir)
        .await
        .expect("connect");
    blobs.ping().await.expect("ping");
    let big: Bytes = (0..(1usize << 20))
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect::<Vec<u8>>()
        .into();

    assert_eq!(blobs.get("avatars/1.png").await.expect("get"), None);
    assert!(!blobs.exists("avatars/1.png").await.expect("exists"));

    blobs
        .put("avatars/1.png", big.clone(), Some("image/png"))
        .await
        .expect("put");
    assert!(blobs.exists("avatars/1.png").await.expect("exists"));
    assert_eq!(blobs.get("avatars/1.png").await.expect("get"), Some(big));

    blobs
        .put("avatars/1.png", Bytes::from_static(b"smaller"), None)
        .await
        .expect("overwrite");
    assert_eq!(
        blobs.get("avatars/1.png").await.expect("get").as_deref(),
        Some(&b"smaller"[..])
    );

    blobs
        .put("empty", Bytes::new(), None)
        .await
        .expect("put empty");
    assert_eq!(
        blobs.get("empty").await.expect("get").as_deref(),
        Some(&b""[..])
    );

    blobs.delete("avatars/1.png").await.expect("delete");
    assert_eq!(blobs.get("avatars/1.png").await.expect("get"), None);
    assert!(!blobs.exists("avatars/1.png").await.expect("exists"));
    blobs
        .delete("avatars/1.png")
        .await
        .expect("deleting a missing blob is fine");
}
blob_suite!(put_get_overwrite_delete);

async fn invalid_keys_are_rejected(cfg: &BlobsConfig, data_dir: &Path) {
    let blobs = Blobs::connect(cfg, "media", data_dir)
        .await
        .expect("connect");
    for key in [
        "",
        "/etc/passwd",
        "../escape",
        "a/../../b",
        "a\\b",
        "a\0b",
        "a//b",
        "dir/",
    ] {
        let put = blobs.put(key, Bytes::from_static(b"x"), None).await;
        assert!(
            matches!(put, Err(BlobError::InvalidKey { .. })),
            "put {key:?}: {put:?}"
        );
        assert!(matches!(
            blobs.get(key).await,
            Err(BlobError::InvalidKey { .. })
        ));
        assert!(matches!(
            blobs.exists(key).await,
            Err(BlobError::InvalidKey { .. })
        ));
        assert!(matches!(
            blobs.delete(key).await,
            Err(BlobError::InvalidKey { .. })
        ));
    }
    let bad_namespace = Blobs::connect(cfg, "../up", data_dir).await;
    assert!(matches!(bad_namespace, Err(BlobError::InvalidNamespace(_))));
}
blob_suite!(invalid_keys_are_rejected);

async fn namespaces_isolate(cfg: &BlobsConfig, data_dir: &Path) {
    let one = Blobs::connect(cfg, "one", data_dir).await.expect("connect");
    let two = Blobs::connect(cfg, "two", data_dir).await.expect("connect");
    one.put("same/key", Bytes::from_static(b"one"), None)
        .await
        .expect("put");
    assert_eq!(two.get("same/key").await.expect("get"), None);
    assert!(!two.exists("same/key").await.expect("exists"));
    two.delete("same/key").await.expect("delete in two");
    assert_eq!(
        one.get("same/key").await.expect("get").as_deref(),
        Some(&b"one"[..])
    );
}
blob_suite!(namespaces_isolate);

#[tokio::test]
async fn local_store_defaults_under_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::connect(&BlobsConfig::default(), "docs", dir.path())
        .await
        .unwrap();
    assert_eq!(blobs.backend_name(), "local");
    blobs
        .put("a/b.txt", Bytes::from_static(b"hi"), Some("text/plain"))
        .await
        .unwrap();
    let path = dir
        .path()
        .join("blobs")
        .join("docs")
        .join("a")
        .join("b.txt");
    assert_eq!(std::fs::read(path).unwrap(), b"hi");
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path().join("blobs/docs/a"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["b.txt"]);
}

#[tokio::test]
async fn s3_rejects_a_wrong_secret() {
    let Some(mut cfg) = testing::s3_config(&unique_bucket()) else {
        return;
    };
    if let Some(s3) = cfg.s3.as_mut() {
        s3.secret_access_key = "not-the-secret".into();
    }
    let dir = tempfile::tempdir().unwrap();
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        Blobs::connect(&cfg, "media", dir.path()),
    )
    .await
    .expect("connect must give up by itself");
    assert!(matches!(result, Err(BlobError::Auth(_))), "{result:?}");
}

#[tokio::test]
async fn s3_connect_tolerates_an_existing_bucket() {
    let bucket = unique_bucket();
    let Some(cfg) = testing::s3_config(&bucket) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let first = Blobs::connect(&cfg, "media", dir.path())
        .await
        .expect("creates");
    first
        .put("k", Bytes::from_static(b"v"), None)
        .await
        .expect("put");
    let second = Blobs::connect(&cfg, "media", dir.path())
        .await
        .expect("reuses");
    assert_eq!(second.backend_name(), "s3");
    assert_eq!(
        second.get("k").await.expect("get").as_deref(),
        Some(&b"v"[..])
    );
}
