//! The work on the target: changing one account's secret, finishing (removing the old key),
//! and logging in as an account to prove a secret works (no shell opened).

use super::changer::{fill, Changer, Method};
use super::failure::{
    change_error_failure, db_failure, db_login, script_failure, ssh_failure, Failure, Login, Stage,
};
use super::session::{boxed, ChangeSession};
use crate::change_secret::engine::ChangeEngine;
use crate::inventory::policy_for;
use secrecy::{ExposeSecret, SecretString};
use tumbler_connectors::database::{verify_mysql, verify_postgres};
use tumbler_connectors::ssh::{
    add_authorized_key, change_password_chpasswd, key_fingerprint, public_key_line,
    remove_authorized_keys, run_template, KeyRemoval, ScriptStep, SshCredentials, SshError,
    SshTarget, TargetShell,
};
use tumbler_domain::custom_ssh::{pieces, Piece, Placeholder};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::inventory::SecretType;
use tumbler_domain::platform::{ChangeMethod, Platform, VerifyMethod};
use tumbler_domain::ssh_key::KeyStrategy;
use tumbler_store::{AccountRow, AssetRow};

impl ChangeEngine {
    /// Changes `username`'s password to `new` through `session`.
    pub(in crate::change_secret) async fn change_on_target(
        &self,
        changer: &Changer,
        session: &mut ChangeSession,
        username: &str,
        new: &SecretString,
    ) -> Result<(), Failure> {
        match (session, &changer.method) {
            (_, Method::Unsupported(why)) => {
                Err(Failure::new(FailureCode::UnsupportedPlatform, why.clone()))
            }
            (ChangeSession::Ssh(session), Method::Builtin(ChangeMethod::UnixChpasswd)) => {
                let become_root = changer.become_root()?;
                boxed(change_password_chpasswd(
                    &TargetShell::new(session, &become_root, &changer.shell),
                    username,
                    new,
                ))
                .await
                .map_err(change_error_failure)
            }
            (ChangeSession::Ssh(session), Method::AuthorizedKeys(_)) => {
                let become_root = changer.become_root()?;
                let line = public_key_line(new)
                    .map_err(|e| Failure::new(FailureCode::UnsupportedSecret, e.to_string()))?;
                boxed(add_authorized_key(
                    &TargetShell::new(session, &become_root, &changer.shell),
                    username,
                    &line,
                ))
                .await
                .map_err(change_error_failure)
            }
            (ChangeSession::Ssh(session), Method::Custom(template)) => {
                // The username is typed into commands and configuration lines: plain
                // characters only, so it cannot add words to them.
                if username.is_empty()
                    || !username
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
                {
                    return Err(Failure::new(
                        FailureCode::UnsupportedSecret,
                        "the username cannot be typed into a template (letters, digits, '.', '_', '-', '@' only)",
                    ));
                }
                let login = changer
                    .privileged
                    .as_ref()
                    .filter(|(a, _)| a.secret_type == SecretType::Password)
                    .map(|(_, s)| s);
                let secrets = [
                    (Placeholder::NewSecret, Some(new)),
                    (Placeholder::LoginSecret, login),
                    (Placeholder::PrivilegeSecret, changer.root_secret.as_ref()),
                ];
                let mut answers = Vec::new();
                for step in &template.steps {
                    answers.push(match &step.answer {
                        Some(a) => Some(fill(a, username, &secrets)?),
                        None => None,
                    });
                }
                let mut steps = Vec::new();
                for (step, answer) in template.steps.iter().zip(&answers) {
                    steps.push(ScriptStep {
                        pattern: tumbler_domain::custom_ssh::compile_pattern(&step.expect)
                            .map_err(|_| {
                                Failure::new(
                                    FailureCode::InvalidTemplate,
                                    "a pattern is not a valid regular expression, or compiles too large",
                                )
                            })?,
                        answer: answer.as_ref().map(|(a, _)| a.as_slice()),
                        timeout: std::time::Duration::from_secs(u64::from(step.timeout_secs)),
                        carries_new_secret: answer.as_ref().is_some_and(|(_, n)| *n),
                    });
                }
                let command: String = pieces(&template.command)
                    .map_err(|e| Failure::new(FailureCode::InvalidTemplate, e))?
                    .into_iter()
                    .map(|p| match p {
                        Piece::Text(t) => t.to_owned(),
                        Piece::Value(_) => username.to_owned(),
                    })
                    .collect();
                let scrub: Vec<&str> = secrets
                    .iter()
                    .filter_map(|(_, s)| s.map(|s| s.expose_secret()))
                    .collect();
                boxed(run_template(
                    session,
                    &command,
                    template.pty,
                    &steps,
                    &scrub,
                ))
                .await
                .map_err(script_failure)
            }
            (ChangeSession::Postgres(admin), _) => boxed(admin.set_password(username, new))
                .await
                .map_err(|e| db_failure(e, Stage::Change)),
            (ChangeSession::Mysql(admin), _) => boxed(admin.set_password(username, new))
                .await
                .map_err(|e| db_failure(e, Stage::Change)),
            (ChangeSession::Redis(admin), _) => boxed(admin.add_password(username, new))
                .await
                .map_err(|e| db_failure(e, Stage::Change)),
            _ => Err(Failure::new(
                FailureCode::UnsupportedPlatform,
                format!("this change is not supported on {}", changer.platform.name),
            )),
        }
    }

    /// Removes the losing secret where the method adds the new one beside the old one (Redis,
    /// SSH keys): `loser` is the old secret once the new one proved itself (then `winner` is
    /// the new one), or the new one when it did not (`winner` is `None`). Returns a note for
    /// the log when the target could not save the change durably.
    pub(in crate::change_secret) async fn finish_on_target(
        &self,
        changer: &Changer,
        session: &mut ChangeSession,
        username: &str,
        loser: &SecretString,
        winner: Option<&SecretString>,
    ) -> Result<Option<&'static str>, Failure> {
        match (session, &changer.method) {
            (ChangeSession::Redis(admin), _) => match boxed(admin.remove_password(username, loser)).await
            {
                Ok(true) => Ok(None),
                Ok(false) => Ok(Some(
                    "the server has no ACL or configuration file to save to: the change lasts until it restarts",
                )),
                Err(e) => Err(db_failure(e, Stage::Change)),
            },
            (ChangeSession::Ssh(session), Method::AuthorizedKeys(options)) => {
                let fingerprint = |s: &SecretString| {
                    key_fingerprint(s).map_err(|e| Failure::new(FailureCode::UnsupportedSecret, e.to_string()))
                };
                let keep;
                let drop;
                let removal = match (options.strategy, winner) {
                    (KeyStrategy::ReplaceAll, Some(w)) => {
                        keep = fingerprint(w)?;
                        KeyRemoval::AllBut(&keep)
                    }
                    _ => {
                        drop = fingerprint(loser)?;
                        KeyRemoval::Fingerprint(&drop)
                    }
                };
                let become_root = changer.become_root()?;
                boxed(remove_authorized_keys(
                    &TargetShell::new(session, &become_root, &changer.shell),
                    username,
                    removal,
                ))
                .await
                .map(|_| None)
                .map_err(change_error_failure)
            }
            _ => Ok(None),
        }
    }

    /// Logs in to the asset as `account` with `secret`, without opening a shell.
    pub(in crate::change_secret) async fn login_with(
        &self,
        asset: &AssetRow,
        platform: &Platform,
        account: &AccountRow,
        secret: &SecretString,
        trust_unverified_host_key: bool,
    ) -> Login {
        if let Err(f) = relocation_check(asset) {
            return Login::Inconclusive(f);
        }
        match platform.verify {
            VerifyMethod::SshLogin => {
                let credentials = match account.secret_type {
                    SecretType::Password => {
                        SshCredentials::password(&account.username, secret.clone())
                    }
                    SecretType::SshKey => {
                        SshCredentials::private_key(&account.username, secret.clone(), None)
                    }
                };
                let target = SshTarget::new(asset.address.clone(), asset.port);
                let result = self
                    .ssh
                    .connect(
                        &target,
                        &policy_for(asset, trust_unverified_host_key),
                        &credentials,
                    )
                    .await;
                self.note_host_key(asset, &result).await;
                match result {
                    Ok(session) => {
                        let _ = session.close().await;
                        Login::Works
                    }
                    Err(SshError::AuthFailed { .. }) => Login::Refused,
                    Err(e) => Login::Inconclusive(ssh_failure(e, Stage::PrivilegedLogin)),
                }
            }
            VerifyMethod::PostgresqlLogin => {
                let database = account
                    .options
                    .get("database")
                    .map(String::as_str)
                    .unwrap_or("postgres");
                let result =
                    verify_postgres(&self.db_target(asset), &account.username, secret, database)
                        .await;
                db_login(self.note_db_contact(asset, result).await)
            }
            VerifyMethod::MysqlLogin => {
                let result = verify_mysql(&self.db_target(asset), &account.username, secret).await;
                db_login(self.note_db_contact(asset, result).await)
            }
            VerifyMethod::RedisAuth => {
                let result = tumbler_connectors::database::verify_redis(
                    &self.db_target(asset),
                    &account.username,
                    secret,
                )
                .await;
                db_login(self.note_db_contact(asset, result).await)
            }
        }
    }
}

/// No stored secret goes to an asset whose new location nobody accepted yet.
pub(in crate::change_secret) fn relocation_check(asset: &AssetRow) -> Result<(), Failure> {
    crate::inventory::require_location_accepted(asset)
        .map_err(|e| Failure::new(FailureCode::AssetRelocated, e.to_string()))
}
