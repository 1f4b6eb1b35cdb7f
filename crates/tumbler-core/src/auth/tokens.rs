//! API tokens: created and shown once, stored hashed, listed, revoked.

use super::{AuthError, AuthService, NewToken, Principal, Reauthentication, TOKEN_PREFIX};
use crate::hashing::{random_token, token_hash};
use crate::RequestOrigin;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use tumbler_domain::audit::AuditAction;
use tumbler_domain::ids::TokenId;
use tumbler_store::{ApiTokenRow, NewApiToken};

impl AuthService {
    /// Creates an API token for the caller; the token is returned once. The caller proves
    /// again who they are first (see [`AuthService::reauthenticate`]): a stolen session or
    /// token cannot mint lasting credentials by itself.
    pub async fn create_token(
        &self,
        principal: &Principal,
        name: &str,
        expires_at: Option<DateTime<Utc>>,
        proof: Reauthentication,
        origin: &RequestOrigin,
    ) -> Result<NewToken, AuthError> {
        if principal.mfa_verified {
            principal.require_active()?;
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(AuthError::Invalid(
                "a token name is 1 to 100 printable characters".to_owned(),
            ));
        }
        let now = self.clock.now();
        if expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::Invalid(
                "expires_at must be in the future".to_owned(),
            ));
        }
        self.reauthenticate(principal, proof, AuditAction::TokenCreate, origin)
            .await?;
        let mut verified = principal.clone();
        verified.mfa_verified = true;
        verified.require_active()?;
        let token = SecretString::from(format!("{TOKEN_PREFIX}{}", random_token(32)));
        let record = ApiTokenRow {
            id: TokenId::generate(),
            user_id: principal.user.id.clone(),
            name: name.to_owned(),
            prefix: token
                .expose_secret()
                .chars()
                .take(TOKEN_PREFIX.len() + 6)
                .collect(),
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_api_token(NewApiToken {
            token: &record,
            secret_hash: &token_hash(token.expose_secret()),
        })
        .await?;
        crate::commit_audited(
            tx,
            principal,
            AuditAction::TokenCreate,
            ("token", record.id.as_str()),
            origin,
            "",
            now,
        )
        .await?;
        Ok(NewToken { record, token })
    }

    /// The caller's tokens.
    pub async fn list_tokens(&self, principal: &Principal) -> Result<Vec<ApiTokenRow>, AuthError> {
        Ok(self.store.api_tokens_of(&principal.user.id).await?)
    }

    /// Revokes one of the caller's tokens.
    pub async fn revoke_token(
        &self,
        principal: &Principal,
        id: &TokenId,
        origin: &RequestOrigin,
    ) -> Result<(), AuthError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !tx.revoke_api_token(&principal.user.id, id, now).await? {
            return Err(AuthError::UnknownToken);
        }
        crate::commit_audited(
            tx,
            principal,
            AuditAction::TokenRevoke,
            ("token", id.as_str()),
            origin,
            "",
            now,
        )
        .await?;
        Ok(())
    }
}
