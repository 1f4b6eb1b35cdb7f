//! The session a change runs on: opening it (host key policy, database TLS), noting the
//! presented host key, telling a broken one, closing it.

use super::changer::Changer;
use super::failure::{db_failure, refuse_unless_trusted, ssh_failure, Failure, Stage};
use super::on_target::relocation_check;
use crate::change_secret::engine::ChangeEngine;
use crate::inventory::{db_tls, note_db_contact, note_ssh_contact, policy_for, InventorySettings};
use secrecy::SecretString;
use tumbler_connectors::database::{DbError, DbTarget, MysqlAdmin, PostgresAdmin, RedisAdmin};
use tumbler_connectors::ssh::{SshCredentials, SshError, SshSession, SshTarget};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::inventory::SecretType;
use tumbler_domain::platform::{Protocol, VerifyMethod};
use tumbler_store::{AccountRow, AssetRow};

/// An open session on the asset used to change accounts.
pub(in crate::change_secret) enum ChangeSession {
    /// SSH as the privileged account.
    Ssh(SshSession),
    /// PostgreSQL as the privileged account, or as the account itself.
    Postgres(PostgresAdmin),
    /// MySQL/MariaDB as the privileged account.
    Mysql(MysqlAdmin),
    /// Redis as the privileged (ACL administrator) account.
    Redis(RedisAdmin),
}

impl ChangeEngine {
    /// Whether secrets may go to a host whose key nobody acknowledged (the inventory's
    /// trust-on-first-use setting for passwords); `false` when the setting cannot be read.
    pub(in crate::change_secret) async fn trust_unverified_host_key(&self) -> bool {
        match self.store.meta("inventory_settings").await {
            Ok(Some(json)) => serde_json::from_str::<InventorySettings>(&json)
                .map(|s| s.trust_on_first_use_for_passwords)
                .unwrap_or(false),
            _ => false,
        }
    }

    pub(in crate::change_secret) fn db_target(&self, asset: &AssetRow) -> DbTarget {
        DbTarget {
            timeout: self.settings.connect_timeout,
            statement_timeout: self.settings.account_timeout,
            tls: db_tls(asset),
            ..DbTarget::new(asset.address.clone(), asset.port)
        }
    }

    /// Records what an SSH contact taught about the asset (connectivity, host key).
    pub(in crate::change_secret) async fn note_host_key(
        &self,
        asset: &AssetRow,
        result: &Result<SshSession, SshError>,
    ) {
        note_ssh_contact(&self.store, self.clock.as_ref(), asset, result).await;
    }

    /// Records what a database contact taught about the asset's connectivity.
    pub(in crate::change_secret) async fn note_db_contact<T>(
        &self,
        asset: &AssetRow,
        result: Result<T, DbError>,
    ) -> Result<T, DbError> {
        note_db_contact(&self.store, self.clock.as_ref(), &asset.id, &result).await;
        result
    }

    /// Opens the session that changes accounts: as the privileged account, or for database
    /// platforms without one, as `own` (the account itself with its current secret).
    pub(in crate::change_secret) async fn open_change_session(
        &self,
        changer: &Changer,
        own: Option<(&AccountRow, &SecretString)>,
    ) -> Result<ChangeSession, Failure> {
        relocation_check(&changer.asset)?;
        // A device reached with a key, when its admin user may change the accounts.
        if changer.key_session_serves() {
            let login = crate::device_keys::connect_device(
                &self.ssh,
                &self.store,
                &self.vault,
                self.clock.as_ref(),
                &changer.asset,
                &policy_for(&changer.asset, changer.trust_unverified_host_key),
            )
            .await
            .map_err(|e| Failure::new(FailureCode::Internal, e.to_string()))?;
            match login {
                crate::device_keys::DeviceLogin::Session(s) => {
                    return refuse_unless_trusted(s).await.map(ChangeSession::Ssh)
                }
                crate::device_keys::DeviceLogin::Failed(e) => {
                    return Err(ssh_failure(e, Stage::PrivilegedLogin))
                }
                crate::device_keys::DeviceLogin::Password => {}
            }
        }
        let login = match (&changer.privileged, own) {
            (Some((account, secret)), _) => (account, secret),
            // A database role may change its own password; Redis needs an ACL administrator
            // (the old password is removed in a second step, on the same session).
            (None, Some(own))
                if !matches!(changer.platform.protocol, Protocol::Ssh | Protocol::Redis) =>
            {
                own
            }
            _ => {
                return Err(Failure::new(
                    FailureCode::NoPrivilegedAccount,
                    "the asset has no privileged account to make the change with",
                ))
            }
        };
        let (account, secret) = login;
        match changer.platform.verify {
            VerifyMethod::SshLogin => {
                let credentials = match account.secret_type {
                    SecretType::Password => {
                        SshCredentials::password(&account.username, secret.clone())
                    }
                    SecretType::SshKey => {
                        SshCredentials::private_key(&account.username, secret.clone(), None)
                    }
                };
                let target = SshTarget::new(changer.asset.address.clone(), changer.asset.port);
                let policy = policy_for(&changer.asset, changer.trust_unverified_host_key);
                let result = self.ssh.connect(&target, &policy, &credentials).await;
                self.note_host_key(&changer.asset, &result).await;
                let session = result.map_err(|e| ssh_failure(e, Stage::PrivilegedLogin))?;
                refuse_unless_trusted(session).await.map(ChangeSession::Ssh)
            }
            VerifyMethod::PostgresqlLogin => {
                let database = account
                    .options
                    .get("database")
                    .map(String::as_str)
                    .unwrap_or("postgres");
                let result = PostgresAdmin::connect(
                    &self.db_target(&changer.asset),
                    &account.username,
                    secret,
                    database,
                )
                .await;
                self.note_db_contact(&changer.asset, result)
                    .await
                    .map(ChangeSession::Postgres)
                    .map_err(|e| db_failure(e, Stage::PrivilegedLogin))
            }
            VerifyMethod::MysqlLogin => {
                let result =
                    MysqlAdmin::connect(&self.db_target(&changer.asset), &account.username, secret)
                        .await;
                self.note_db_contact(&changer.asset, result)
                    .await
                    .map(ChangeSession::Mysql)
                    .map_err(|e| db_failure(e, Stage::PrivilegedLogin))
            }
            VerifyMethod::RedisAuth => {
                let result =
                    RedisAdmin::connect(&self.db_target(&changer.asset), &account.username, secret)
                        .await;
                self.note_db_contact(&changer.asset, result)
                    .await
                    .map(ChangeSession::Redis)
                    .map_err(|e| db_failure(e, Stage::PrivilegedLogin))
            }
        }
    }
}

/// Whether the session's connection is gone (the host or its sshd dropped it): the accounts
/// still to change need a new one.
pub(in crate::change_secret) fn connection_lost(session: &ChangeSession) -> bool {
    matches!(session, ChangeSession::Ssh(s) if !s.is_connected())
}

impl ChangeSession {
    /// Whether the session was given up (a command cut off, a reply lost): it cannot carry
    /// another command.
    pub(in crate::change_secret) fn is_broken(&self) -> bool {
        matches!(self, Self::Redis(a) if a.is_broken())
    }
}

/// Closes a change session politely.
pub(in crate::change_secret) async fn close(session: ChangeSession) {
    match session {
        ChangeSession::Ssh(s) => {
            let _ = s.close().await;
        }
        ChangeSession::Postgres(a) => a.close().await,
        ChangeSession::Mysql(a) => a.close().await,
        ChangeSession::Redis(a) => a.close().await,
    }
}

/// Boxes a connector's future as `Send` with the caller's lifetimes, which spares the
/// compiler a proof over every lifetime that it cannot make for these futures.
pub(in crate::change_secret) fn boxed<'a, T>(
    f: impl std::future::Future<Output = T> + Send + 'a,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>> {
    Box::pin(f)
}
