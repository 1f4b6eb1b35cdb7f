//! A user's sessions: listing them and ending one or all.

use crate::{Principal, RequestOrigin};
use tumbler_domain::audit::AuditAction;
use tumbler_domain::ids::{SessionId, UserId};
use tumbler_domain::permission::Permission;
use tumbler_store::SessionRow;

use super::{UserError, UserService};

impl UserService {
    /// A user's sessions: one's own, or anyone's with the permission to read users.
    pub async fn sessions(
        &self,
        principal: &Principal,
        id: &UserId,
    ) -> Result<Vec<SessionRow>, UserError> {
        if principal.user.id != *id && !principal.can(Permission::UsersRead) {
            return Err(UserError::Forbidden);
        }
        Ok(self.store.sessions_of(id).await?)
    }

    /// Ends one session of a user: one's own, or anyone's with the permission to manage users.
    /// `None` ends them all.
    pub async fn end_sessions(
        &self,
        principal: &Principal,
        id: &UserId,
        session: Option<&SessionId>,
        origin: &RequestOrigin,
    ) -> Result<u64, UserError> {
        if principal.user.id != *id && !principal.can(Permission::UsersManage) {
            return Err(UserError::Forbidden);
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let ended = match session {
            Some(s) => u64::from(tx.delete_session_of(id, s).await?),
            None => tx.delete_user_sessions(id).await?,
        };
        if session.is_some() && ended == 0 {
            return Err(UserError::SessionNotFound);
        }
        let object = session
            .map(|s| ("session", s.as_str()))
            .unwrap_or(("user", id.as_str()));
        crate::commit_audited(
            tx,
            principal,
            AuditAction::AuthSessionEnd,
            object,
            origin,
            format!("ended={ended}"),
            now,
        )
        .await?;
        Ok(ended)
    }
}
