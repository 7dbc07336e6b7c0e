//! Blob store: an S3-compatible bucket or a local directory.
//!
//! Keys are stored under `<namespace>/<key>`. Keys are validated the same way for both
//! backends (see [`validate_key`]) so code that works locally works against S3.
//!
//! Local limitation: a key cannot be both an object and a "directory" of other keys
//! (`a` and `a/b`), which S3 allows; the local store reports the second write as an error.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{BlobsConfig, S3Config};

/// Longest accepted key, in bytes (S3's own limit).
const MAX_KEY_LEN: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("invalid blob key `{key}`: {reason}")]
    InvalidKey { key: String, reason: &'static str },
    #[error("invalid blob namespace `{0}`: use 1-63 characters from [a-z0-9_-]")]
    InvalidNamespace(String),
    #[error("blob store rejected the credentials: {0}")]
    Auth(String),
    #[error("blob store request failed: {0}")]
    Backend(String),
    #[error("blob store I/O failed on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Clone, Debug)]
pub enum Blobs {
    S3(S3Blobs),
    Local(LocalBlobs),
}

/// What a presigned URL allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobAccess {
    Upload,
    Download,
}

#[derive(Clone, Debug)]
pub struct S3Blobs {
    client: aws_sdk_s3::Client,
    bucket: String,
    namespace: String,
}

#[derive(Clone, Debug)]
pub struct LocalBlobs {
    /// `<root>/<namespace>`
    dir: PathBuf,
}

impl Blobs {
    /// `s3` set: the bucket (created if missing); otherwise `cfg.dir` or
    /// `<data_dir>/blobs`.
    pub async fn connect(
        cfg: &BlobsConfig,
        namespace: &str,
        data_dir: &Path,
    ) -> Result<Blobs, BlobError> {
        validate_namespace(namespace)?;
        match &cfg.s3 {
            Some(s3) => S3Blobs::connect(s3, namespace).await.map(Blobs::S3),
            None => {
                let root = cfg.dir.clone().unwrap_or_else(|| data_dir.join("blobs"));
                let dir = root.join(namespace);
                tokio::fs::create_dir_all(&dir)
                    .await
                    .map_err(|source| BlobError::Io {
                        path: dir.clone(),
                        source,
                    })?;
                Ok(Blobs::Local(LocalBlobs { dir }))
            }
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Blobs::S3(_) => "s3",
            Blobs::Local(_) => "local",
        }
    }

    /// Stores `body` under `key`, replacing any previous object.
    pub async fn put(
        &self,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<(), BlobError> {
        validate_key(key)?;
        match self {
            Blobs::S3(s3) => s3.put(key, body, content_type).await,
            Blobs::Local(local) => local.put(key, body).await,
        }
    }

    /// The object's bytes, or `None` if there is no object under `key`.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        validate_key(key)?;
        match self {
            Blobs::S3(s3) => s3.get(key).await,
            Blobs::Local(local) => local.get(key).await,
        }
    }

    /// Removes the object; a missing object is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        match self {
            Blobs::S3(s3) => s3.delete(key).await,
            Blobs::Local(local) => local.delete(key).await,
        }
    }

    pub async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        validate_key(key)?;
        match self {
            Blobs::S3(s3) => s3.exists(key).await,
            Blobs::Local(local) => local.exists(key).await,
        }
    }

    /// A URL that lets whoever holds it upload (`PUT`, with `content_type`) or download
    /// (`GET`) the object `key` without credentials until `ttl` has passed. `None` for the
    /// local directory, which serves no URLs of its own.
    pub async fn presigned_url(
        &self,
        access: BlobAccess,
        key: &str,
        ttl: std::time::Duration,
        content_type: Option<&str>,
    ) -> Result<Option<String>, BlobError> {
        validate_key(key)?;
        match self {
            Blobs::S3(s3) => s3
                .presigned_url(access, key, ttl, content_type)
                .await
                .map(Some),
            Blobs::Local(_) => Ok(None),
        }
    }

    /// Readiness check (for S3: `HeadBucket`).
    pub async fn ping(&self) -> Result<(), BlobError> {
        match self {
            Blobs::S3(s3) => s3.head_bucket().await,
            Blobs::Local(local) => match tokio::fs::metadata(&local.dir).await {
                Ok(meta) if meta.is_dir() => Ok(()),
                Ok(_) => Err(BlobError::Backend(format!(
                    "{} is not a directory",
                    local.dir.display()
                ))),
                Err(source) => Err(BlobError::Io {
                    path: local.dir.clone(),
                    source,
                }),
            },
        }
    }
}

/// Accepts `/`-separated keys whose segments are non-empty, not `.` or `..`, and free
/// of backslashes and control characters (NUL included).
pub fn validate_key(key: &str) -> Result<(), BlobError> {
    let fail = |reason| {
        Err(BlobError::InvalidKey {
            key: key.escape_debug().to_string(),
            reason,
        })
    };
    if key.is_empty() {
        return fail("empty");
    }
    if key.len() > MAX_KEY_LEN {
        return fail("longer than 1024 bytes");
    }
    if key.starts_with('/') {
        return fail("starts with `/`");
    }
    if key.contains('\\') {
        return fail("contains a backslash");
    }
    if key.chars().any(char::is_control) {
        return fail("contains a control character");
    }
    for segment in key.split('/') {
        match segment {
            "" => return fail("has an empty path segment"),
            "." | ".." => return fail("has a `.` or `..` segment"),
            _ => {}
        }
    }
    Ok(())
}

fn validate_namespace(namespace: &str) -> Result<(), BlobError> {
    let valid = (1..=63).contains(&namespace.len())
        && namespace
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(BlobError::InvalidNamespace(namespace.to_string()))
    }
}

// ---------------------------------------------------------------------------
// S3
// ---------------------------------------------------------------------------

/// Maps an SDK error: 401/403 become [`BlobError::Auth`], anything else `Backend`.
fn s3_error<E>(operation: &str, err: SdkError<E, HttpResponse>) -> BlobError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let detail = match err.as_service_error() {
        Some(service) => format!(
            "{operation}: {} ({})",
            service.code().unwrap_or("error"),
            service.message().unwrap_or("no message")
        ),
        None => format!("{operation}: {}", DisplayErrorContext(&err)),
    };
    match status {
        Some(401 | 403) => BlobError::Auth(detail),
        Some(status) => BlobError::Backend(format!("{detail} [HTTP {status}]")),
        None => BlobError::Backend(detail),
    }
}

impl S3Blobs {
    async fn presigned_url(
        &self,
        access: BlobAccess,
        key: &str,
        ttl: std::time::Duration,
        content_type: Option<&str>,
    ) -> Result<String, BlobError> {
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(ttl)
            .map_err(|e| BlobError::Backend(format!("presigning: {e}")))?;
        let request = match access {
            BlobAccess::Upload => self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(self.object_key(key))
                .set_content_type(content_type.map(str::to_owned))
                .presigned(config)
                .await
                .map_err(|e| BlobError::Backend(format!("presigning a PUT: {e}")))?,
            BlobAccess::Download => self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(self.object_key(key))
                .presigned(config)
                .await
                .map_err(|e| BlobError::Backend(format!("presigning a GET: {e}")))?,
        };
        Ok(request.uri().to_string())
    }

    async fn connect(cfg: &S3Config, namespace: &str) -> Result<S3Blobs, BlobError> {
        use aws_sdk_s3::config::{
            BehaviorVersion, Credentials, Region, RequestChecksumCalculation,
            ResponseChecksumValidation, timeout::TimeoutConfig,
        };
        use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

        cfg.validate("blobs.s3")
            .map_err(|e| BlobError::Backend(e.to_string()))?;
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(http_client)
            .region(Region::new(cfg.region.clone()))
            .endpoint_url(cfg.endpoint.clone())
            .force_path_style(cfg.force_path_style)
            .credentials_provider(Credentials::new(
                cfg.access_key_id.clone(),
                cfg.secret_access_key.clone(),
                None,
                None,
                "junction-config",
            ))
            // Checksums only where the API requires them: many S3-compatible servers do
            // not support the newer default (trailing CRC checksums).
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            )
            .build();
        let blobs = S3Blobs {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: cfg.bucket.clone(),
            namespace: namespace.to_string(),
        };
        blobs.ensure_bucket(&cfg.region).await?;
        Ok(blobs)
    }

    fn object_key(&self, key: &str) -> String {
        format!("{}/{key}", self.namespace)
    }

    async fn head_bucket(&self) -> Result<(), BlobError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| s3_error("HeadBucket", e))
    }

    async fn ensure_bucket(&self, region: &str) -> Result<(), BlobError> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => return Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {}
            Err(e) => return Err(s3_error("HeadBucket", e)),
        }
        let mut create = self.client.create_bucket().bucket(&self.bucket);
        // us-east-1 is the one region that must not be named as a location constraint.
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        match create.send().await {
            Ok(_) => Ok(()),
            // Another process created it between our HEAD and CREATE.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_bucket_already_owned_by_you()) =>
            {
                Ok(())
            }
            Err(e) => Err(s3_error("CreateBucket", e)),
        }
    }

    async fn put(
        &self,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<(), BlobError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .body(ByteStream::from(body))
            .set_content_type(content_type.map(str::to_string))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| s3_error("PutObject", e))
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                return Ok(None);
            }
            Err(e) => return Err(s3_error("GetObject", e)),
        };
        let body = output
            .body
            .collect()
            .await
            .map_err(|e| BlobError::Backend(format!("GetObject body: {e}")))?;
        Ok(Some(body.into_bytes()))
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| s3_error("DeleteObject", e))
    }

    async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(s3_error("HeadObject", e)),
        }
    }
}

// ---------------------------------------------------------------------------
// Local directory
// ---------------------------------------------------------------------------

impl LocalBlobs {
    fn path(&self, key: &str) -> PathBuf {
        // `validate_key` guarantees relative, normal segments.
        key.split('/').fold(self.dir.clone(), |p, s| p.join(s))
    }

    async fn put(&self, key: &str, body: Bytes) -> Result<(), BlobError> {
        let path = self.path(key);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| BlobError::Io { path, source }
        };
        let parent = path.parent().unwrap_or(&self.dir).to_path_buf();
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(io(&parent))?;
        // Written beside the target and renamed over it, so readers never see a
        // partial object.
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = parent.join(format!(
            ".{file_name}.{}.tmp",
            uuid::Uuid::new_v4().simple()
        ));
        let written = async {
            use tokio::io::AsyncWriteExt;
            let mut file = tokio::fs::File::create(&temp).await?;
            file.write_all(&body).await?;
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&temp, &path).await
        }
        .await;
        if let Err(source) = written {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(BlobError::Io { path, source });
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        let path = self.path(key);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(e) if is_missing(&e) => Ok(None),
            Err(source) => Err(BlobError::Io { path, source }),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path(key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if is_missing(&e) => Ok(()),
            Err(source) => Err(BlobError::Io { path, source }),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        let path = self.path(key);
        match tokio::fs::metadata(&path).await {
            Ok(meta) => Ok(meta.is_file()),
            Err(e) if is_missing(&e) => Ok(false),
            Err(source) => Err(BlobError::Io { path, source }),
        }
    }
}

/// Not found, or a path component is a file or the path a directory: no object there.
fn is_missing(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::IsADirectory
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for good in ["a", "a/b.txt", "users/42/avatar.png", "x..y", ".hidden"] {
            assert!(validate_key(good).is_ok(), "{good}");
        }
        let long = "k".repeat(MAX_KEY_LEN + 1);
        for bad in [
            "", "/a", "a/../b", "..", ".", "a\\b", "a\0b", "a//b", "a/", "a\nb", &long,
        ] {
            assert!(
                matches!(validate_key(bad), Err(BlobError::InvalidKey { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn namespaces() {
        assert!(validate_namespace("users").is_ok());
        assert!(validate_namespace("a-b_1").is_ok());
        for bad in ["", "A", "a/b", "a.b"] {
            assert!(validate_namespace(bad).is_err(), "{bad}");
        }
    }
}
