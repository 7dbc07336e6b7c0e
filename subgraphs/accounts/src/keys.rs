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

/// Encrypts signing-key seeds at rest (ChaCha20-Poly1305, with the key id as associated
/// data) when `signing_key_secret` is set; without it seeds are stored as they are. Rows
/// written before a secret was set stay readable, and rotation replaces them.
#[derive(Clone, Default)]
pub struct SeedCipher(Option<chacha20poly1305::ChaCha20Poly1305>);

/// How an encrypted seed starts in the `seed` column.
const ENCRYPTED_V1: &str = "v1:";

impl SeedCipher {
    /// A cipher keyed by SHA-256 of `secret` (a long random string), or none.
    pub fn new(secret: Option<&str>) -> SeedCipher {
        use chacha20poly1305::KeyInit;
        use sha2::Digest;
        SeedCipher(secret.map(|secret| {
            let key: [u8; 32] = sha2::Sha256::digest(secret.as_bytes()).into();
            chacha20poly1305::ChaCha20Poly1305::new(&key.into())
        }))
    }

    fn seal(&self, kid: &str, seed: &[u8]) -> Result<String, KeyError> {
        use chacha20poly1305::aead::{Aead, Payload};
        let Some(cipher) = &self.0 else {
            return Ok(STANDARD.encode(seed));
        };
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| KeyError::Random(e.to_string()))?;
        let sealed = cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: seed,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Invalid {
                kid: kid.to_owned(),
                message: "cannot encrypt the seed".into(),
            })?;
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&sealed);
        Ok(format!("{ENCRYPTED_V1}{}", STANDARD.encode(stored)))
    }

    fn open(&self, kid: &str, stored: &str) -> Result<Vec<u8>, String> {
        use chacha20poly1305::aead::{Aead, Payload};
        let Some(sealed) = stored.strip_prefix(ENCRYPTED_V1) else {
            return STANDARD.decode(stored).map_err(|e| e.to_string());
        };
        let Some(cipher) = &self.0 else {
            return Err(
                "the seed is encrypted; set subgraphs.accounts.settings.signing_key_secret".into(),
            );
        };
        let bytes = STANDARD.decode(sealed).map_err(|e| e.to_string())?;
        if bytes.len() < 12 {
            return Err("the encrypted seed is truncated".into());
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| "bad nonce".to_owned())?;
        cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| "the seed does not decrypt with signing_key_secret".to_owned())
    }
}

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
    fn from_row(row: &SigningKeyRow, cipher: &SeedCipher) -> Result<SigningKey, KeyError> {
        let invalid = |message: String| KeyError::Invalid {
            kid: row.kid.clone(),
            message,
        };
        let seed = cipher.open(&row.kid, &row.seed).map_err(invalid)?;
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
fn generate(created_at: NaiveDateTime, cipher: &SeedCipher) -> Result<SigningKeyRow, KeyError> {
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
        seed: cipher.seal(&kid, &seed)?,
        kid,
        created_at,
    })
}

/// The key to sign with now, creating one when the newest is older than
/// [`ROTATE_AFTER`] (or there is none).
pub async fn active(db: &Database, cipher: &SeedCipher) -> Result<SigningKey, KeyError> {
    let now = store::now();
    let newest = store::signing_keys_since(db, now - ROTATE_AFTER).await?;
    match newest.first() {
        Some(row) => SigningKey::from_row(row, cipher),
        None => {
            let row = generate(now, cipher)?;
            store::insert_signing_key(db, &row).await?;
            tracing::info!(kid = %row.kid, "new signing key");
            SigningKey::from_row(&row, cipher)
        }
    }
}

/// Starts signing with a new key now; returns its `kid`.
pub async fn rotate(db: &Database, cipher: &SeedCipher) -> Result<String, KeyError> {
    let row = generate(store::now(), cipher)?;
    store::insert_signing_key(db, &row).await?;
    tracing::info!(kid = %row.kid, "signing key rotated");
    Ok(row.kid)
}

/// The public keys a token may still be signed with: every key that signed within the
/// last access-token lifetime, and the one signing now.
pub async fn jwks(db: &Database, cipher: &SeedCipher) -> Result<JwkSet, KeyError> {
    let rows = store::signing_keys_since(db, store::now() - ROTATE_AFTER - MAX_ACCESS_TTL).await?;
    let keys = rows
        .iter()
        .map(|row| SigningKey::from_row(row, cipher).map(|k| k.jwk))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(JwkSet { keys })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn tokens_verify_with_the_published_key_only() {
        let plain = SeedCipher::default();
        let row = generate(store::now(), &plain).unwrap();
        let key = SigningKey::from_row(&row, &plain).unwrap();
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

        let other = SigningKey::from_row(&generate(store::now(), &plain).unwrap(), &plain).unwrap();
        let wrong = DecodingKey::from_jwk(&other.jwk).unwrap();
        assert!(jsonwebtoken::decode::<Claims>(&token, &wrong, &validation).is_err());
        // The JWK carries only the public half.
        let published = serde_json::to_value(&key.jwk).unwrap();
        assert_eq!(published["kty"], "OKP");
        assert_eq!(published["crv"], "Ed25519");
        assert!(published.get("d").is_none());
    }

    #[test]
    fn seeds_are_encrypted_at_rest_with_the_secret() {
        let secret = "a-long-random-secret-of-at-least-32-chars";
        let cipher = SeedCipher::new(Some(secret));
        let row = generate(store::now(), &cipher).unwrap();
        assert!(row.seed.starts_with(ENCRYPTED_V1), "{}", row.seed);
        let key = SigningKey::from_row(&row, &cipher).unwrap();
        let token = key.issue("account-1", "user", DEFAULT_ACCESS_TTL).unwrap();
        assert!(!token.is_empty());

        // The same key decrypted again signs as the same key.
        let again = SigningKey::from_row(&row, &SeedCipher::new(Some(secret))).unwrap();
        assert_eq!(again.jwk, key.jwk);
        // Not without the secret, not with another, not under another kid.
        for cipher in [
            SeedCipher::default(),
            SeedCipher::new(Some("another-secret-of-32-characters!!")),
        ] {
            let error = SigningKey::from_row(&row, &cipher).err().unwrap();
            assert!(error.to_string().contains("signing_key_secret"), "{error}");
        }
        let moved = SigningKeyRow {
            kid: "another-kid".into(),
            ..row.clone()
        };
        assert!(SigningKey::from_row(&moved, &cipher).is_err());

        // Seeds stored before the secret was set stay readable.
        let old = generate(store::now(), &SeedCipher::default()).unwrap();
        assert!(SigningKey::from_row(&old, &cipher).is_ok());
    }
}
