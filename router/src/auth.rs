//! JWT authentication at the edge: the bearer token of a request is verified against a
//! JWKS (fetched, cached, refetched on an unknown `kid`), and the verified identity travels
//! to the subgraphs in headers only the router sets. The router never forwards client
//! headers, so a client cannot forge them.

use crate::config::JwtConfig;
use crate::execute::client::SubgraphClient;
use crate::persisted::Refusal;
use crate::response::codes;
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The verified user id, for subgraphs (`junction_kit::server::USER_ID_HEADER`).
pub const USER_ID_HEADER: HeaderName = HeaderName::from_static("x-junction-user-id");
/// The verified token's scopes, space-separated.
pub const SCOPES_HEADER: HeaderName = HeaderName::from_static("x-junction-scopes");

const JWKS_TIMEOUT: Duration = Duration::from_secs(5);

/// A verified caller, ready to be sent to subgraphs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub scopes: String,
    headers: [(HeaderName, HeaderValue); 2],
}

impl Caller {
    fn new(user_id: String, scopes: String) -> Option<Caller> {
        let headers = [
            (USER_ID_HEADER, HeaderValue::from_str(&user_id).ok()?),
            (SCOPES_HEADER, HeaderValue::from_str(&scopes).ok()?),
        ];
        Some(Caller {
            user_id,
            scopes,
            headers,
        })
    }

    /// The headers subgraphs read the identity from.
    pub fn headers(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.headers.iter().map(|(n, v)| (n, v))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("router.auth.jwt.jwks_url `{0}` is not an http(s) URL")]
    BadJwksUrl(String),
    #[error("router.auth.jwt.header_name `{0}` is not a header name")]
    BadHeader(String),
}

/// The claims the router reads; the rest are the issuer's business.
#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    scope: Option<String>,
}

/// Verifies bearer tokens against a JWKS.
pub struct Authenticator {
    config: JwtConfig,
    jwks_url: Uri,
    header: HeaderName,
    client: SubgraphClient,
    keys: RwLock<Arc<KeySet>>,
    /// Serialises refetches; holds when the last one started.
    refetch: tokio::sync::Mutex<Option<Instant>>,
}

#[derive(Default)]
struct KeySet {
    by_kid: HashMap<String, (DecodingKey, Algorithm)>,
    /// Keys without a `kid`, tried in turn for tokens without one.
    anonymous: Vec<(DecodingKey, Algorithm)>,
    fetched_at: Option<Instant>,
}

impl Authenticator {
    pub fn new(config: JwtConfig, client: SubgraphClient) -> Result<Authenticator, AuthError> {
        let jwks_url: Uri = config
            .jwks_url
            .parse()
            .ok()
            .filter(|u: &Uri| matches!(u.scheme_str(), Some("http" | "https")))
            .ok_or_else(|| AuthError::BadJwksUrl(config.jwks_url.clone()))?;
        let header = HeaderName::from_bytes(config.header_name.as_bytes())
            .map_err(|_| AuthError::BadHeader(config.header_name.clone()))?;
        Ok(Authenticator {
            config,
            jwks_url,
            header,
            client,
            keys: RwLock::new(Arc::default()),
            refetch: tokio::sync::Mutex::new(None),
        })
    }

    /// The verified caller, `None` for an anonymous request (when allowed), or a 401.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Option<Arc<Caller>>, Refusal> {
        let Some(value) = headers.get(&self.header) else {
            if self.config.require {
                return Err(unauthenticated("This endpoint needs an access token"));
            }
            return Ok(None);
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| strip_prefix_ignore_case(v.trim(), &self.config.header_prefix))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                unauthenticated(&format!(
                    "The `{}` header must be `{} <token>`",
                    self.header, self.config.header_prefix
                ))
            })?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| unauthenticated("The access token is malformed"))?;
        let candidates = self.keys_for(header.kid.as_deref()).await?;
        let mut last_error = None;
        for (key, algorithm) in &candidates {
            if *algorithm != header.alg {
                continue;
            }
            match jsonwebtoken::decode::<Claims>(token, key, &self.validation(*algorithm)) {
                Ok(data) => {
                    let claims = data.claims;
                    let caller = Caller::new(claims.sub, claims.scope.unwrap_or_default())
                        .ok_or_else(|| {
                            unauthenticated("The access token's claims are not valid header text")
                        })?;
                    return Ok(Some(Arc::new(caller)));
                }
                Err(e) => last_error = Some(e),
            }
        }
        use jsonwebtoken::errors::ErrorKind;
        let message = match last_error.as_ref().map(|e| e.kind()) {
            Some(ErrorKind::ExpiredSignature) => "The access token has expired",
            Some(ErrorKind::ImmatureSignature) => "The access token is not valid yet",
            Some(ErrorKind::InvalidSignature) => "The access token's signature is invalid",
            Some(ErrorKind::InvalidIssuer) => "The access token has the wrong issuer",
            Some(ErrorKind::InvalidAudience) => "The access token has the wrong audience",
            Some(_) => "The access token is invalid",
            None => "The access token is signed with an unknown key or algorithm",
        };
        Err(unauthenticated(message))
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.config.leeway_seconds;
        validation.set_required_spec_claims(&["exp", "sub"]);
        match &self.config.issuer {
            Some(issuer) => validation.set_issuer(&[issuer]),
            None => validation.iss = None,
        }
        match &self.config.audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        validation
    }

    /// The keys a token with `kid` may be signed with, refetching the JWKS when the kid
    /// is unknown or the set is older than the poll interval.
    async fn keys_for(&self, kid: Option<&str>) -> Result<Vec<(DecodingKey, Algorithm)>, Refusal> {
        let lookup = |set: &KeySet| -> Vec<(DecodingKey, Algorithm)> {
            match kid {
                Some(kid) => set.by_kid.get(kid).cloned().into_iter().collect(),
                None => set.anonymous.clone(),
            }
        };
        let poll = Duration::from_millis(self.config.poll_interval_ms);
        let set = self.current();
        let stale = set.fetched_at.is_none_or(|at| at.elapsed() >= poll);
        let found = lookup(&set);
        if !found.is_empty() && !stale {
            return Ok(found);
        }
        self.refresh().await;
        let found = lookup(&self.current());
        if found.is_empty() && self.current().fetched_at.is_none() {
            return Err(unauthenticated(
                "The access token cannot be verified: the signing keys are unavailable",
            ));
        }
        Ok(found)
    }

    fn current(&self) -> Arc<KeySet> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Refetches the JWKS unless another request did within the minimum interval.
    async fn refresh(&self) {
        let mut last = self.refetch.lock().await;
        let min = Duration::from_millis(self.config.min_refetch_interval_ms);
        if last.is_some_and(|at| at.elapsed() < min) {
            return;
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(set) => {
                tracing::debug!(
                    keys = set.by_kid.len() + set.anonymous.len(),
                    "JWKS fetched"
                );
                *self
                    .keys
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(set);
            }
            Err(e) => {
                tracing::warn!(url = %self.jwks_url, error = %e, "cannot fetch the JWKS; keeping the keys we have")
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let response = self
            .client
            .get(&self.jwks_url, JWKS_TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        if !response.status.is_success() {
            return Err(format!("HTTP {}", response.status));
        }
        let jwks: JwkSet = serde_json::from_slice(&response.body).map_err(|e| e.to_string())?;
        let mut set = KeySet {
            fetched_at: Some(Instant::now()),
            ..KeySet::default()
        };
        for jwk in &jwks.keys {
            let Some(algorithm) = algorithm_of(jwk) else {
                continue;
            };
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            match &jwk.common.key_id {
                Some(kid) => {
                    set.by_kid.insert(kid.clone(), (key, algorithm));
                }
                None => set.anonymous.push((key, algorithm)),
            }
        }
        Ok(set)
    }
}

/// The algorithm a JWK is for: its `alg`, or the usual one for its key type.
fn algorithm_of(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    if let Some(alg) = jwk.common.key_algorithm {
        return alg.to_string().parse().ok();
    }
    match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        // Shared secrets have no place in a public key set.
        _ => None,
    }
}

fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix.is_empty() {
        return Some(value);
    }
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &value[prefix.len()..])
        .filter(|rest| rest.starts_with(' '))
}

fn unauthenticated(message: &str) -> Refusal {
    Refusal::new(401, codes::UNAUTHENTICATED, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_prefix_is_case_insensitive_and_needs_a_space() {
        assert_eq!(
            strip_prefix_ignore_case("Bearer abc", "Bearer"),
            Some(" abc")
        );
        assert_eq!(
            strip_prefix_ignore_case("bearer abc", "Bearer"),
            Some(" abc")
        );
        assert_eq!(strip_prefix_ignore_case("Bearerabc", "Bearer"), None);
        assert_eq!(strip_prefix_ignore_case("Basic abc", "Bearer"), None);
        assert_eq!(strip_prefix_ignore_case("abc", ""), Some("abc"));
    }

    #[test]
    fn identity_that_is_not_header_text_is_refused() {
        assert!(Caller::new("user-1".into(), "user admin".into()).is_some());
        assert!(Caller::new("bad\nid".into(), String::new()).is_none());
    }
}
