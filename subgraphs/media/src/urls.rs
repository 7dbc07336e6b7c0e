//! URLs that let a client upload or download an image without credentials.
//!
//! On S3 these are S3's own presigned URLs. The local directory (the embedded default)
//! has none, so the media subgraph serves `PUT`/`GET /media/blobs/<key>` itself, checking
//! an HMAC-SHA256 signature over the method, key and expiry, made with a secret of this
//! process (local storage means one process).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use junction_kit::blobs::{BlobAccess, Blobs};
use junction_kit::service::Deps;
use serde::Deserialize;
use sha2::Sha256;
use std::sync::OnceLock;
use std::time::Duration;

/// The path the local routes are served under.
pub const LOCAL_PREFIX: &str = "/media/blobs/";
/// Largest upload the local routes take.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;

fn secret() -> &'static [u8; 32] {
    static SECRET: OnceLock<[u8; 32]> = OnceLock::new();
    SECRET.get_or_init(|| {
        let mut bytes = [0u8; 32];
        // Without randomness the URLs would be forgeable: better no local URLs at all.
        getrandom::fill(&mut bytes).expect("the OS provides randomness");
        bytes
    })
}

fn signature(method: &str, key: &str, expires: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret()).expect("HMAC takes any key length");
    mac.update(format!("{method}\n{key}\n{expires}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An upload or download URL for `key`, valid for `ttl`.
pub async fn presign(
    deps: &Deps,
    access: BlobAccess,
    key: &str,
    ttl: Duration,
    content_type: Option<&str>,
) -> Result<String, String> {
    if let Some(url) = deps
        .blobs
        .presigned_url(access, key, ttl, content_type)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(url);
    }
    let base = deps
        .peers
        .url("media")
        .map(|u| u.trim_end_matches("/graphql").to_owned())
        .ok_or("no URL for `media` (subgraphs.media.url)")?;
    let method = match access {
        BlobAccess::Upload => "PUT",
        BlobAccess::Download => "GET",
    };
    let expires = chrono::Utc::now().timestamp() + ttl.as_secs() as i64;
    Ok(format!(
        "{base}{LOCAL_PREFIX}{key}?expires={expires}&signature={}",
        signature(method, key, expires)
    ))
}

#[derive(Deserialize)]
pub struct Signed {
    expires: i64,
    signature: String,
}

/// Why a signed URL is refused, if it is.
fn verify(method: &str, key: &str, signed: &Signed) -> Result<(), &'static str> {
    if signed.expires < chrono::Utc::now().timestamp() {
        return Err("the URL has expired");
    }
    if signature(method, key, signed.expires) != signed.signature {
        return Err("the URL's signature is invalid");
    }
    Ok(())
}

pub async fn upload(
    State(blobs): State<Blobs>,
    Path(key): Path<String>,
    Query(signed): Query<Signed>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(why) = verify("PUT", &key, &signed) {
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match blobs.put(&key, body, content_type).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

pub async fn download(
    State(blobs): State<Blobs>,
    Path(key): Path<String>,
    Query(signed): Query<Signed>,
) -> Response {
    if let Err(why) = verify("GET", &key, &signed) {
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    match blobs.get(&key).await {
        Ok(Some(bytes)) => {
            let kind = imagesize::image_type(&bytes)
                .ok()
                .map(|t| format!("image/{t:?}").to_lowercase());
            (
                [(
                    header::CONTENT_TYPE,
                    kind.unwrap_or_else(|| "application/octet-stream".into()),
                )],
                bytes,
            )
                .into_response()
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}
