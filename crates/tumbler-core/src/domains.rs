//! Domains: flat groups that scope objects. A user belongs to some; works in one active domain
//! (chosen per session); with "manage objects from all assigned domains" sees all of them.
//! Lists and lookups of scoped objects filter by [`Principal::visible_domains`].

use crate::{event, Principal, RequestOrigin};
use std::sync::Arc;
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::ids::DomainId;
use tumbler_domain::permission::Permission;
use tumbler_domain::Clock;
use tumbler_store::{DomainRow, Store, StoreError};

/// Name of the domain a new installation starts with.
pub const DEFAULT_DOMAIN: &str = "Default";

/// What went wrong with domains.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The caller lacks the permission.
    #[error("you do not have permission for this")]
    Forbidden,
    /// No such domain.
    #[error("no such domain: {0}")]
    NotFound(String),
    /// The name is taken.
    #[error("a domain with that name already exists")]
    Duplicate,
    /// Users, assets or change tasks still belong to the domain.
    #[error("users, assets or password change tasks still belong to this domain")]
    InUse,
    /// The caller does not belong to that domain.
    #[error("you are not assigned to domain {0}")]
    NotAssigned(String),
    /// Only a console session has an active domain.
    #[error("only a console session has an active domain")]
    NoSession,
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error("internal error")]
    Store(#[from] StoreError),
}

impl DomainError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::NotFound(_) => "domain_not_found",
            Self::Duplicate => "domain_exists",
            Self::InUse => "domain_in_use",
            Self::NotAssigned(_) => "domain_not_assigned",
            Self::NoSession => "session_required",
            Self::Invalid(_) => "invalid_request",
            Self::Store(_) => "internal_error",
        }
    }
}

/// Domain management and each user's domain choices.
#[derive(Clone)]
pub struct DomainService {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl DomainService {
    /// A service over `store`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Creates the `Default` domain when there is none, and puts every user who belongs to no
    /// domain into it (a new installation's administrator, users from before domains existed).
    pub async fn ensure_default(&self) -> Result<(), DomainError> {
        let mut domains = self.store.domains().await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if domains.is_empty() {
            let d = DomainRow {
                id: DomainId::generate(),
                name: DEFAULT_DOMAIN.to_owned(),
                description: "The first domain.".to_owned(),
                created_at: now,
            };
            tx.insert_domain(&d).await?;
            tx.append_audit(
                &event(
                    "system",
                    AuditAction::DomainCreate,
                    ("domain", d.id.as_str()),
                    Outcome::Success,
                    &RequestOrigin::host(),
                    DEFAULT_DOMAIN,
                ),
                now,
            )
            .await?;
            domains.push(d);
        }
        let default = domains
            .iter()
            .find(|d| d.name == DEFAULT_DOMAIN)
            .unwrap_or(&domains[0])
            .id
            .clone();
        for user in tx.users_without_domain().await? {
            tx.set_user_domains(&user, std::slice::from_ref(&default))
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every domain (callers who may manage users), or the caller's own: domain names are
    /// not revealed to anyone else.
    pub async fn list(&self, principal: &Principal) -> Result<Vec<DomainRow>, DomainError> {
        if principal.can(Permission::UsersManage) {
            Ok(self.store.domains().await?)
        } else {
            Ok(self.store.user_domains(&principal.user.id).await?)
        }
    }

    /// The caller's own domains.
    pub async fn mine(&self, principal: &Principal) -> Result<Vec<DomainRow>, DomainError> {
        Ok(self.store.user_domains(&principal.user.id).await?)
    }

    /// The ids of the domains named, or the first unknown name.
    pub async fn resolve(&self, names: &[String]) -> Result<Vec<DomainId>, DomainError> {
        let all = self.store.domains().await?;
        names
            .iter()
            .map(|n| {
                all.iter()
                    .find(|d| &d.name == n)
                    .map(|d| d.id.clone())
                    .ok_or_else(|| DomainError::NotFound(n.clone()))
            })
            .collect()
    }

    /// Creates a domain.
    pub async fn create(
        &self,
        principal: &Principal,
        name: &str,
        description: &str,
        origin: &RequestOrigin,
    ) -> Result<DomainRow, DomainError> {
        if !principal.can(Permission::UsersManage) {
            return Err(DomainError::Forbidden);
        }
        let name = name.trim();
        if name.is_empty()
            || name.chars().count() > 64
            || name.chars().any(|c| c.is_control() || c == ',')
        {
            return Err(DomainError::Invalid(
                "a domain name is 1 to 64 characters, without commas or control characters"
                    .to_owned(),
            ));
        }
        let now = self.clock.now();
        let d = DomainRow {
            id: DomainId::generate(),
            name: name.to_owned(),
            description: description.trim().to_owned(),
            created_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_domain(&d).await.map_err(|e| match e {
            StoreError::Duplicate(_) => DomainError::Duplicate,
            other => other.into(),
        })?;
        // The creator belongs to the new domain: nobody grants a domain they do not hold,
        // so someone must hold it first.
        let mut mine: Vec<DomainId> = self
            .store
            .user_domains(&principal.user.id)
            .await?
            .into_iter()
            .map(|m| m.id)
            .collect();
        mine.push(d.id.clone());
        tx.set_user_domains(&principal.user.id, &mine).await?;
        crate::commit_audited(
            tx,
            principal,
            AuditAction::DomainCreate,
            ("domain", d.id.as_str()),
            origin,
            name,
            now,
        )
        .await?;
        Ok(d)
    }

    /// Deletes a domain nobody belongs to.
    pub async fn delete(
        &self,
        principal: &Principal,
        id: &DomainId,
        origin: &RequestOrigin,
    ) -> Result<(), DomainError> {
        if !principal.can(Permission::UsersManage) {
            return Err(DomainError::Forbidden);
        }
        if !self.store.domains().await?.iter().any(|d| d.id == *id) {
            return Err(DomainError::NotFound(id.to_string()));
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        // The caller's own membership does not keep the domain (its creator joined it);
        // everyone else's does. Undone with the transaction when the domain stays.
        let others: Vec<DomainId> = self
            .store
            .user_domains(&principal.user.id)
            .await?
            .into_iter()
            .map(|m| m.id)
            .filter(|m| m != id)
            .collect();
        if !others.is_empty() {
            tx.set_user_domains(&principal.user.id, &others).await?;
        }
        if !tx.delete_unused_domain(id).await? {
            return Err(DomainError::InUse);
        }
        crate::commit_audited(
            tx,
            principal,
            AuditAction::DomainDelete,
            ("domain", id.as_str()),
            origin,
            "",
            now,
        )
        .await?;
        Ok(())
    }

    /// Chooses the session's active domain (one the caller belongs to); a change is audited.
    pub async fn choose_active(
        &self,
        principal: &Principal,
        name: &str,
        origin: &RequestOrigin,
    ) -> Result<(), DomainError> {
        let crate::AuthMethod::Session { id: session, .. } = &principal.method else {
            return Err(DomainError::NoSession);
        };
        let mine = self.store.user_domains(&principal.user.id).await?;
        let domain = mine
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| DomainError::NotAssigned(name.to_owned()))?;
        let mut tx = self.store.begin().await?;
        tx.set_session_domain(session, &domain.id).await?;
        let previous = principal
            .active_domain
            .as_ref()
            .and_then(|id| mine.iter().find(|d| &d.id == id))
            .map_or("", |d| d.name.as_str());
        if principal.active_domain.as_ref() == Some(&domain.id) {
            tx.commit().await?;
            return Ok(());
        }
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::UserActiveDomain,
                ("session", session.as_str()),
                Outcome::Success,
                origin,
                format!("from={previous} to={}", domain.name),
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the caller's "manage objects from all assigned domains".
    pub async fn set_all_domains(
        &self,
        principal: &Principal,
        all: bool,
        origin: &RequestOrigin,
    ) -> Result<(), DomainError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.set_user_all_domains(&principal.user.id, all).await?;
        crate::commit_audited(
            tx,
            principal,
            AuditAction::UserObjectVisibility,
            ("user", principal.user.id.as_str()),
            origin,
            format!("all_domains={all}"),
            now,
        )
        .await?;
        Ok(())
    }
}
