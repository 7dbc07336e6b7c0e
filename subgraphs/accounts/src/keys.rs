//! Access tokens: Ed25519 (EdDSA) JWTs signed with the newest signing key, the JWKS that
//! publishes the keys, and rotation.
//!
//! A key signs for [`ROTATE_AFTER`]; then the next token issued creates a new one. Old
//! keys stay in the JWKS until no token they signed can still be valid, so a router that
//! cached the JWKS keeps verifying across a rotation and refetches on an unknown `kid`.

use crate::store::{self, SigningKeyRow};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Duration, NaiveDateTime};
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use junction_kit::db::{Database, DbError};
use serde::{Deserialize, Serialize};

/// `iss` of every access token.
pub const ISSUER: &str = "junction-accounts";
/// `aud` of every access token: the router.
pub const AUDIENCE: &str = "junction";
/// How long an access token is valid unless `access_token_ttl_seconds` says otherwise.
pub const DEFAULT_ACCESS_TTL: Duration = Duration::minutes(15);
/// The longest access-token lifetime the settings accept; retired keys stay in the JWKS
/// this long, so every token still valid can be verified.
pub const MAX_ACCESS_TTL: Duration = Duration::days(1);
/// How long a key signs before a new one takes over.
pub const ROTATE_AFTER: Duration = Duration::days(7);

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410): the 32-byte seed follows.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("signing key {kid}: {message}")]
    Invalid { kid: String, message: String },
    #[error("no randomness: {0}")]
    Random(String),
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// Space-separated scopes.
    pub scope: String,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
}

/// A key that can sign, with its public half.
pub struct SigningKey {
    pub kid: String,
    encoding: EncodingKey,
    pub jwk: Jwk,
}

impl SigningKey {
    fn from_row(row: &SigningKeyRow) -> Result<SigningKey, KeyError> {
        let invalid = |message: String| KeyError::Invalid {
            kid: row.kid.clone(),
            message,
        };
        let seed = STANDARD
            .decode(&row.seed)
            .map_err(|e| invalid(e.to_string()))?;
        let (encoding, jwk) = key_pair(&seed).map_err(invalid)?;
        let mut jwk = jwk;
        jwk.common.key_id = Some(row.kid.clone());
        Ok(SigningKey {
            kid: row.kid.clone(),
            encoding,
            jwk,
        })
    }

    /// Signs an access token for `account_id` with `scopes`, valid for `ttl`.
    pub fn issue(&self, account_id: &str, scopes: &str, ttl: Duration) -> Result<String, KeyError> {
        let now = chrono::Utc::now();
        let claims = Claims {
            sub: account_id.to_owned(),
            scope: scopes.to_owned(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            exp: (now + ttl).timestamp(),
            iat: now.timestamp(),
            jti: uuid::Uuid::now_v7().to_string(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(|e| KeyError::Invalid {
            kid: self.kid.clone(),
            message: e.to_string(),
        })
    }
}

fn key_pair(seed: &[u8]) -> Result<(EncodingKey, Jwk), String> {
    if seed.len() != 32 {
        return Err(format!("an Ed25519 seed has 32 bytes, not {}", seed.len()));
    }
    let mut der = PKCS8_ED25519_PREFIX.to_vec();
    der.extend_from_slice(seed);
    let encoding = EncodingKey::from_ed_der(&der);
    let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::EdDSA).map_err(|e| e.to_string())?;
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(KeyAlgorithm::EdDSA);
    Ok((encoding, jwk))
}

/// A new key: a random seed; its `kid` is the RFC 7638 thumbprint of the public key.
fn generate(created_at: NaiveDateTime) -> Result<SigningKeyRow, KeyError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
    let (_, jwk) = key_pair(&seed).map_err(|message| KeyError::Invalid {
        kid: "new".into(),
        message,
    })?;
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| KeyError::Invalid {
            kid: "new".into(),
            message: e.to_string(),
        })?;
    Ok(SigningKeyRow {
        kid,
        seed: STANDARD.encode(seed),
        created_at,
    })
}

/// The key to sign with now, creating one when the newest is older than
/// [`ROTATE_AFTER`] (or there is none).
pub async fn active(db: &Database) -> Result<SigningKey, KeyError> {
    let now = store::now();
    let newest = store::signing_keys_since(db, now - ROTATE_AFTER).await?;
    match newest.first() {
        Some(row) => SigningKey::from_row(row),
        None => {
            let row = generate(now)?;
            store::insert_signing_key(db, &row).await?;
            tracing::info!(kid = %row.kid, "new signing key");
            SigningKey::from_row(&row)
        }
    }
}

/// Starts signing with a new key now; returns its `kid`.
pub async fn rotate(db: &Database) -> Result<String, KeyError> {
    let row = generate(store::now())?;
    store::insert_signing_key(db, &row).await?;
    tracing::info!(kid = %row.kid, "signing key rotated");
    Ok(row.kid)
}

/// The public keys a token may still be signed with: every key that signed within the
/// last access-token lifetime, and the one signing now.
pub async fn jwks(db: &Database) -> Result<JwkSet, KeyError> {
    let rows = store::signing_keys_since(db, store::now() - ROTATE_AFTER - MAX_ACCESS_TTL).await?;
    let keys = rows
        .iter()
        .map(|row| SigningKey::from_row(row).map(|k| k.jwk))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(JwkSet { keys })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn tokens_verify_with_the_published_key_only() {
        let row = generate(store::now()).unwrap();
        let key = SigningKey::from_row(&row).unwrap();
        let token = key.issue("account-1", "user", DEFAULT_ACCESS_TTL).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(row.kid.as_str()));
        assert_eq!(header.alg, Algorithm::EdDSA);

        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        let decoding = DecodingKey::from_jwk(&key.jwk).unwrap();
        let claims = jsonwebtoken::decode::<Claims>(&token, &decoding, &validation)
            .unwrap()
            .claims;
        assert_eq!(claims.sub, "account-1");
        assert_eq!(claims.scope, "user");

        let other = SigningKey::from_row(&generate(store::now()).unwrap()).unwrap();
        let wrong = DecodingKey::from_jwk(&other.jwk).unwrap();
        assert!(jsonwebtoken::decode::<Claims>(&token, &wrong, &validation).is_err());
        // The JWK carries only the public half.
        let published = serde_json::to_value(&key.jwk).unwrap();
        assert_eq!(published["kty"], "OKP");
        assert_eq!(published["crv"], "Ed25519");
        assert!(published.get("d").is_none());
    }
}
