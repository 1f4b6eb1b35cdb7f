//! Who installs the system key for a device admin user, and what happens to the user the
//! device had before.
//!
//! A device admin user Tumbler creates gets no sudo rule: it only logs in with the key. So
//! installing the key for another user (switching admin users) goes through the device's
//! privileged account, which becomes root as its `become` says. Once the new user's key
//! login is proved, only Tumbler's own system-key lines (current, pending and retired keys)
//! are removed from the old user's `authorized_keys`; its other keys stay.

use super::system_key::SystemKeyState;
use super::DeviceKeyService;
use tumbler_connectors::ssh::{
    remove_authorized_keys, Become, KeyRemoval, SshSession, TargetShell,
};
use tumbler_domain::inventory::AuthStatus;
use tumbler_store::AssetRow;

/// The fingerprints of every system key Tumbler made that a device may still hold.
pub(super) fn system_key_fingerprints(state: &SystemKeyState) -> Vec<String> {
    let mut all = vec![state.current.fingerprint.clone()];
    if let Some((pending, _)) = &state.pending {
        all.push(pending.fingerprint.clone());
    }
    all.extend(state.retired.iter().cloned());
    all
}

/// The device admin user a switch to `admin_user` leaves behind, if any.
pub(super) fn previous_admin_user(asset: &AssetRow, admin_user: &str) -> Option<String> {
    let key_mode = matches!(
        asset.auth_status,
        AuthStatus::KeyBased | AuthStatus::KeyConflict
    );
    (key_mode && !asset.auth_username.is_empty() && asset.auth_username != admin_user)
        .then(|| asset.auth_username.clone())
}

impl DeviceKeyService {
    /// The session that installs the system key for `admin_user`: the device admin user's
    /// own key login when it installs for itself; the privileged account when the key goes
    /// to another user (the old admin user may not become root); the device's current
    /// credentials otherwise.
    pub(super) async fn install_session(
        &self,
        asset: &AssetRow,
        admin_user: &str,
    ) -> Result<(SshSession, Become, String), String> {
        if previous_admin_user(asset, admin_user).is_some() {
            return self.privileged_session(asset).await;
        }
        self.current_session(asset).await
    }

    /// Removes Tumbler's system-key lines from `old_user`'s `authorized_keys` through the
    /// privileged account; returns a note for the job's outcome.
    pub(super) async fn remove_old_copy(
        &self,
        asset: &AssetRow,
        old_user: &str,
        state: &SystemKeyState,
    ) -> String {
        let (session, become_root, login) = match self.privileged_session(asset).await {
            Ok(v) => v,
            Err(e) => return format!("the system key could not be removed from {old_user}: {e}"),
        };
        let become_root = if login == old_user {
            Become::None
        } else {
            become_root
        };
        let mut removed = 0;
        let mut failure = None;
        for fingerprint in system_key_fingerprints(state) {
            match remove_authorized_keys(
                &TargetShell::new(&session, &become_root, super::regenerate::SHELL),
                old_user,
                KeyRemoval::Fingerprint(&fingerprint),
            )
            .await
            {
                Ok(n) => removed += n,
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            }
        }
        let _ = session.close().await;
        match failure {
            Some(e) => format!("the system key could not be removed from {old_user}: {e}"),
            None if removed == 0 => format!("{old_user} held no copy of the system key"),
            None => format!("the system key was removed from {old_user}"),
        }
    }
}
