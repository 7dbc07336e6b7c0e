//! The accounts subgraph schema: `register`, `login`, `refreshSession`, `logout`,
//! `rotateSigningKey`, and `Account` (the caller's credentials, an entity keyed by `id`).

use crate::keys::{self, KeyError};
use crate::store::{self, AccountRow, RefreshTokenRow, Rotation, StoreError};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use async_graphql::{Context, ErrorExtensions, ID, InputObject, Object, Result, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use junction_kit::errors::{bad_input, internal};
use junction_kit::events::Envelope;
use junction_kit::graphql::{deps, require_scope};
use junction_kit::server::Identity;
use junction_kit::service::Deps;
use sha2::{Digest, Sha256};

/// How long a refresh token is valid.
const REFRESH_TTL: Duration = Duration::days(30);
/// Scopes a newly registered account gets.
const DEFAULT_SCOPES: &str = "user";
const MIN_PASSWORD: usize = 8;
const MAX_PASSWORD: usize = 256;

/// Login credentials of a user.
#[derive(SimpleObject, Clone, Debug)]
pub struct Account {
    pub id: ID,
    pub email: String,
    /// What the account's access tokens allow.
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl From<AccountRow> for Account {
    fn from(row: AccountRow) -> Self {
        Account {
            id: ID(row.id),
            email: row.email,
            scopes: row.scopes.split_whitespace().map(str::to_owned).collect(),
            created_at: row.created_at.and_utc(),
        }
    }
}

/// A session: send `accessToken` as `Authorization: Bearer …`; trade `refreshToken` for a
/// new session before the access token expires.
#[derive(SimpleObject, Clone, Debug)]
pub struct AuthPayload {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until `accessToken` expires.
    pub expires_in: i32,
    pub refresh_token: String,
    pub account: Account,
}

#[derive(InputObject, Debug)]
pub struct RegisterInput {
    pub email: String,
    pub password: String,
    /// The display name the users subgraph starts the profile with.
    pub name: String,
}

#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    /// The caller's account, when the router forwarded a verified identity.
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let Some(id) = ctx.data_opt::<Identity>().and_then(|i| i.user_id.clone()) else {
            return Ok(None);
        };
        let deps = deps(ctx)?;
        let row = store::account(&deps.db, &id)
            .await
            .map_err(|e| internal(deps.service, e))?;
        Ok(row.map(Account::from))
    }

    #[graphql(entity)]
    async fn find_account_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Account>> {
        let deps = deps(ctx)?;
        // Only the account holder sees their credentials.
        let caller = ctx
            .data_opt::<Identity>()
            .and_then(|i| i.user_id.as_deref());
        if caller != Some(id.as_str()) {
            return Ok(None);
        }
        let row = store::account(&deps.db, &id)
            .await
            .map_err(|e| internal(deps.service, e))?;
        Ok(row.map(Account::from))
    }
}

#[derive(Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Creates an account and signs in. Publishes `accounts.registered`, from which the
    /// users subgraph creates the profile.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<AuthPayload> {
        let deps = deps(ctx)?;
        let email = normalize_email(&input.email)?;
        check_password(&input.password)?;
        let name = input.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(bad_input("input.name", "must be 1 to 200 characters"));
        }
        let password_hash = hash_password(input.password).await?;
        let settings = crate::Settings::parse(&deps.settings).unwrap_or_default();
        let scopes = if settings
            .admin_emails
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&email))
        {
            format!("{DEFAULT_SCOPES} admin")
        } else {
            DEFAULT_SCOPES.to_owned()
        };
        let account = AccountRow {
            id: uuid::Uuid::now_v7().to_string(),
            email,
            password_hash,
            scopes,
            created_at: store::now(),
        };
        let (refresh_token, refresh_row) = new_refresh_token(&account.id)?;
        let event = Envelope::new(
            "accounts.registered",
            account.id.clone(),
            serde_json::json!({ "id": account.id, "email": account.email, "name": name }),
        );
        match store::register(&deps.db, &account, &refresh_row, &event).await {
            Ok(()) => deps.outbox.notify(),
            Err(StoreError::EmailTaken) => {
                return Err(bad_input("input.email", "is already registered"));
            }
            Err(StoreError::Db(e)) => return Err(internal(deps.service, e)),
        }
        session(deps, account, refresh_token).await
    }

    /// Signs in with email and password.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> Result<AuthPayload> {
        let deps = deps(ctx)?;
        let email = email.trim().to_lowercase();
        let account = store::account_by_email(&deps.db, &email)
            .await
            .map_err(|e| internal(deps.service, e))?;
        // Verify against a real hash either way, so timing does not tell which emails exist.
        let stored = account
            .as_ref()
            .map(|a| a.password_hash.clone())
            .unwrap_or_else(|| DUMMY_HASH.to_owned());
        let matches = verify_password(password, stored).await?;
        let Some(account) = account.filter(|_| matches) else {
            return Err(unauthenticated("wrong email or password"));
        };
        let (refresh_token, row) = new_refresh_token(&account.id)?;
        store::insert_refresh_token(&deps.db, &row)
            .await
            .map_err(|e| internal(deps.service, e))?;
        session(deps, account, refresh_token).await
    }

    /// Trades a refresh token for a new session. The token is used up; presenting it
    /// again signs out every session descended from it.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> Result<AuthPayload> {
        let deps = deps(ctx)?;
        let (replacement, template) = new_refresh_token("")?;
        let rotation = store::rotate_refresh_token(&deps.db, &hash_token(&refresh_token), |old| {
            RefreshTokenRow {
                account_id: old.account_id.clone(),
                family_id: old.family_id.clone(),
                ..template.clone()
            }
        })
        .await
        .map_err(|e| internal(deps.service, e))?;
        match rotation {
            Rotation::Rotated(account) => session(deps, account, replacement).await,
            Rotation::Invalid => Err(unauthenticated("the refresh token is invalid or expired")),
            Rotation::Replayed => Err(unauthenticated(
                "the refresh token was already used; every session from it is signed out",
            )),
        }
    }

    /// Signs out: revokes the refresh token and every token refreshed from the same login.
    /// Access tokens already issued stay valid until they expire (minutes).
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> Result<bool> {
        let deps = deps(ctx)?;
        store::revoke_family(&deps.db, &hash_token(&refresh_token))
            .await
            .map_err(|e| internal(deps.service, e))
    }

    /// Starts signing with a new key (scope `admin`); returns its `kid`. Keys also rotate
    /// on their own every week.
    async fn rotate_signing_key(&self, ctx: &Context<'_>) -> Result<String> {
        require_scope(ctx, "admin", "rotating signing keys")?;
        let deps = deps(ctx)?;
        let cipher = crate::Settings::parse(&deps.settings)
            .unwrap_or_default()
            .seed_cipher();
        keys::rotate(&deps.db, &cipher)
            .await
            .map_err(|e| key_error(deps, e))
    }
}

/// A fresh session for `account`.
async fn session(deps: &Deps, account: AccountRow, refresh_token: String) -> Result<AuthPayload> {
    // Checked at start-up, so the default here is never taken.
    let settings = crate::Settings::parse(&deps.settings).unwrap_or_default();
    let key = keys::active(&deps.db, &settings.seed_cipher())
        .await
        .map_err(|e| key_error(deps, e))?;
    let ttl = settings.access_ttl();
    let access_token = key
        .issue(&account.id, &account.scopes, ttl)
        .map_err(|e| key_error(deps, e))?;
    Ok(AuthPayload {
        access_token,
        token_type: "Bearer".to_owned(),
        expires_in: ttl.num_seconds() as i32,
        refresh_token,
        account: Account::from(account),
    })
}

fn key_error(deps: &Deps, error: KeyError) -> async_graphql::Error {
    internal(deps.service, error)
}

fn unauthenticated(message: &str) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", "UNAUTHENTICATED"))
}

/// A new refresh token (`jrf_` + 32 random bytes) and its row, starting a family.
fn new_refresh_token(account_id: &str) -> Result<(String, RefreshTokenRow)> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| internal("accounts", e))?;
    let token = format!("jrf_{}", URL_SAFE_NO_PAD.encode(secret));
    let id = uuid::Uuid::now_v7().to_string();
    let row = RefreshTokenRow {
        family_id: id.clone(),
        id,
        account_id: account_id.to_owned(),
        token_hash: hash_token(&token),
        expires_at: store::now() + REFRESH_TTL,
        revoked_at: None,
        created_at: store::now(),
    };
    Ok((token, row))
}

fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn normalize_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(char::is_whitespace);
    if !valid {
        return Err(bad_input("input.email", "is not an email address"));
    }
    Ok(email)
}

fn check_password(password: &str) -> Result<()> {
    let length = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&length) {
        return Err(bad_input(
            "input.password",
            format!("must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"),
        ));
    }
    Ok(())
}

/// An Argon2id hash of a password no one has, verified when the email is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$WkVsnqrHxIk1rVVzYkd7Z1lZ8dAtk5I7hN0pEa0K7qs";

/// Argon2id with the crate's defaults (19 MiB, 2 passes), off the async threads.
async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| internal("accounts", e))?
    .map_err(|e| internal("accounts", e))
}

async fn verify_password(password: String, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| internal("accounts", e))?
    .map_err(|e| internal("accounts", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify_password("correct horse".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(!verify_password("wrong horse!".into(), hash).await.unwrap());
        // The dummy hash parses, so unknown emails cost the same verification.
        assert!(
            !verify_password("anything".into(), DUMMY_HASH.into())
                .await
                .unwrap()
        );
    }

    #[test]
    fn emails_and_passwords_are_checked() {
        assert_eq!(
            normalize_email(" Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in ["", "ada", "@example.com", "ada@example", "a da@example.com"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
        assert!(check_password("short").is_err());
        assert!(check_password("long enough").is_ok());
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (a, row) = new_refresh_token("acc").unwrap();
        let (b, _) = new_refresh_token("acc").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("jrf_"));
        assert_eq!(row.token_hash, hash_token(&a));
        assert!(!row.token_hash.contains(&a[4..]));
        assert_eq!(row.family_id, row.id);
    }
}
