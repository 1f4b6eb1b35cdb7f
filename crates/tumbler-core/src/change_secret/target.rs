//! Talking to one asset during a change: opening the session used to change its accounts
//! (the privileged account's, reused for every account of the asset), changing one account's
//! password on it, and logging in as an account to prove a secret works (no shell opened).

use super::ChangeSecretService;
use crate::inventory::{db_tls, note_presented_host_key, policy_for, InventorySettings};
use secrecy::{ExposeSecret, SecretString};
use tumbler_connectors::database::{
    verify_mysql, verify_postgres, DbError, DbTarget, MysqlAdmin, PostgresAdmin, RedisAdmin,
};
use tumbler_connectors::ssh::{
    add_authorized_key, change_password_chpasswd, key_fingerprint, public_key_line,
    remove_authorized_keys, run_template, Become, ChangeError, KeyRemoval, ScriptError,
    ScriptFailure, ScriptStep, SshCredentials, SshError, SshSession, SshTarget, TargetShell,
};
use tumbler_domain::custom_ssh::{pieces, CustomSshTemplate, Piece, Placeholder};
use tumbler_domain::inventory::SecretType;
use tumbler_domain::platform::{ChangeMethod, Platform, Protocol, VerifyMethod};
use tumbler_domain::ssh_key::{KeyStrategy, SshKeyOptions};
use tumbler_store::{AccountRow, AssetRow};
use zeroize::Zeroizing;

/// Why a step failed: a stable code and a message a person can act on (never a secret).
#[derive(Debug, Clone)]
pub(super) struct Failure {
    /// Stable code.
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// Whether trying again later may succeed (the target was not reached).
    pub transient: bool,
    /// Whether the target may have taken the change despite the error.
    pub ambiguous: bool,
    /// Whether the target may still take the change later (a command past its time limit
    /// after the new secret was sent): a login now proves nothing for good.
    pub may_land_later: bool,
}

impl Failure {
    pub(super) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            transient: false,
            ambiguous: false,
            may_land_later: false,
        }
    }

    fn transient(mut self) -> Self {
        self.transient = true;
        self
    }

    fn ambiguous(mut self) -> Self {
        self.ambiguous = true;
        self
    }

    fn may_land_later(mut self) -> Self {
        self.ambiguous = true;
        self.may_land_later = true;
        self
    }

    /// `code: message`, as stored on records and accounts.
    pub(super) fn reason(&self) -> String {
        format!("{}: {}", self.code, self.message)
    }
}

/// What a login with one secret showed.
#[derive(Debug)]
pub(super) enum Login {
    /// The secret works.
    Works,
    /// The target refused it.
    Refused,
    /// No conclusion (unreachable, timeout, host key).
    Inconclusive(Failure),
}

/// Who changes the asset's accounts.
pub(super) struct Changer {
    /// The asset.
    pub asset: AssetRow,
    /// Its platform.
    pub platform: &'static Platform,
    /// The privileged account and its current secret, if the asset has one.
    pub privileged: Option<(AccountRow, SecretString)>,
    /// The account whose password `su` types (root, or a network device's `enable`).
    pub root_account: Option<tumbler_domain::ids::AccountId>,
    /// Root's current secret, for `become = su`.
    pub root_secret: Option<SecretString>,
    /// `become` (sudo, su, none).
    pub become_method: String,
    /// The shell for the root step.
    pub shell: String,
    /// Whether passwords may go to hosts whose key nobody acknowledged.
    pub tofu: bool,
    /// How secrets change on this asset.
    pub method: Method,
}

/// How secrets change on one asset, chosen from the task and the platform.
#[derive(Debug, Clone)]
pub(super) enum Method {
    /// A built-in password method of the platform.
    Builtin(ChangeMethod),
    /// SSH keys in `authorized_keys`.
    AuthorizedKeys(SshKeyOptions),
    /// A custom SSH conversation (the task's own template or the platform's shipped one).
    Custom(CustomSshTemplate),
    /// None fits: why.
    Unsupported(String),
}

impl Changer {
    /// Whether the change adds the new secret beside the old one, which goes only after the
    /// new one proved itself ([`ChangeSecretService::finish_on_target`]).
    pub(super) fn keeps_old_secret(&self) -> bool {
        matches!(
            self.method,
            Method::Builtin(ChangeMethod::RedisAclSetuser) | Method::AuthorizedKeys(_)
        )
    }

    /// Whether the device's key login (its device admin user with the system or custom key)
    /// serves as the change session. On a device in a key mode, password and key changes
    /// log in as the privileged account with its own stored secret, which becomes root as its
    /// `become` says (sudo with its own password, or su with root's): a device admin user
    /// Tumbler created has no sudo rule, and none is granted. The key login serves only
    /// when it is the privileged account's own login, or when the device has no privileged
    /// account (then the admin user must become root without a password).
    pub(super) fn key_session_serves(&self) -> bool {
        self.platform.protocol == Protocol::Ssh
            && self.asset.auth_status != tumbler_domain::inventory::AuthStatus::PasswordBased
            && match &self.privileged {
                None => true,
                Some((account, _)) => account.username == self.asset.auth_username,
            }
    }

    /// How the privileged account becomes root for the Unix methods.
    fn become_root(&self) -> Result<Become, Failure> {
        Ok(match self.become_method.as_str() {
            "none" => Become::None,
            "su" => match &self.root_secret {
                Some(s) => Become::Su(s.clone()),
                None => {
                    return Err(Failure::new(
                        "become_refused",
                        "become is su but the asset has no root account with a stored password",
                    ))
                }
            },
            _ => Become::Sudo(match &self.privileged {
                Some((a, s)) if a.secret_type == SecretType::Password => s.clone(),
                _ => SecretString::from(String::new()),
            }),
        })
    }
}

fn change_error_failure(e: ChangeError) -> Failure {
    match e {
        ChangeError::Ssh(e) => ssh_failure(e, Stage::Change),
        e @ ChangeError::BecomeRefused { .. } => Failure::new("become_refused", e.to_string()),
        e @ ChangeError::TargetRefused { .. } => Failure::new("target_refused", e.to_string()),
        e @ ChangeError::Unsupported(_) => Failure::new("unsupported_secret", e.to_string()),
        e @ ChangeError::Interrupted => Failure::new("connection_lost", e.to_string())
            .transient()
            .ambiguous(),
        e @ ChangeError::AccountLocked => Failure::new("account_locked", e.to_string()),
        e @ ChangeError::TimedOutAfterSending => {
            Failure::new("timeout", e.to_string()).may_land_later()
        }
    }
}

fn script_failure(f: ScriptFailure) -> Failure {
    let failure = match f.error {
        ScriptError::Ssh(e) => return ssh_failure(e, Stage::Change),
        e @ ScriptError::PromptMismatch { .. } => Failure::new("prompt_mismatch", e.to_string()),
        e @ ScriptError::PromptTimeout { .. } if f.new_secret_sent => {
            Failure::new("timeout", e.to_string()).may_land_later()
        }
        e @ ScriptError::PromptTimeout { .. } => Failure::new("timeout", e.to_string()).transient(),
        e @ (ScriptError::Ended { .. } | ScriptError::Failed { .. }) => {
            Failure::new("target_refused", e.to_string())
        }
        e @ ScriptError::Interrupted => Failure::new("protocol", e.to_string()).transient(),
    };
    if f.new_secret_sent {
        failure.ambiguous()
    } else {
        failure
    }
}

/// Fills a template's answer in; `None` names a placeholder whose secret the asset lacks.
fn fill(
    text: &str,
    username: &str,
    secrets: &[(Placeholder, Option<&SecretString>)],
) -> Result<(Zeroizing<Vec<u8>>, bool), Failure> {
    let parts = pieces(text).map_err(|e| Failure::new("invalid_template", e))?;
    let mut out = Zeroizing::new(Vec::new());
    let mut carries_new = false;
    for part in parts {
        match part {
            Piece::Text(t) => out.extend_from_slice(t.as_bytes()),
            Piece::Value(Placeholder::Username) => out.extend_from_slice(username.as_bytes()),
            Piece::Value(p) => {
                carries_new |= p == Placeholder::NewSecret;
                let value = secrets
                    .iter()
                    .find(|(q, _)| *q == p)
                    .and_then(|(_, s)| *s)
                    .ok_or_else(|| {
                        Failure::new(
                            "missing_secret",
                            format!(
                                "the template types {{{}}} but the asset has no account holding it",
                                match p {
                                    Placeholder::LoginSecret => "login_secret",
                                    Placeholder::PrivilegeSecret => "privilege_secret",
                                    _ => "new_secret",
                                }
                            ),
                        )
                    })?;
                if value.expose_secret().contains(['\n', '\r']) {
                    return Err(Failure::new(
                        "unsupported_secret",
                        "a secret with a line break cannot be typed at a prompt",
                    ));
                }
                out.extend_from_slice(value.expose_secret().as_bytes());
            }
        }
    }
    out.push(b'\n');
    Ok((out, carries_new))
}

/// An open session on the asset used to change accounts.
pub(super) enum ChangeSession {
    /// SSH as the privileged account.
    Ssh(SshSession),
    /// PostgreSQL as the privileged account, or as the account itself.
    Postgres(PostgresAdmin),
    /// MySQL/MariaDB as the privileged account.
    Mysql(MysqlAdmin),
    /// Redis as the privileged (ACL administrator) account.
    Redis(RedisAdmin),
}

fn ssh_failure(e: SshError, stage: Stage) -> Failure {
    match e {
        SshError::HostKeyMismatch { .. } => Failure::new(
            "host_key_conflict",
            "the host presented a key other than the pinned one; nothing was sent",
        ),
        SshError::HostKeyUnverified { .. } => Failure::new(
            "host_key_unverified",
            "the host key is not acknowledged yet and trust on first use is off for this asset; \
             nothing secret was sent (acknowledge the key first)",
        ),
        SshError::AuthFailed { .. } => match stage {
            Stage::PrivilegedLogin => Failure::new(
                "privileged_login_failed",
                "the privileged account's stored secret was refused",
            ),
            Stage::Change => Failure::new("privileged_login_failed", "login refused"),
        },
        SshError::Timeout { .. } => match stage {
            Stage::PrivilegedLogin => Failure::new("timeout", e.to_string()).transient(),
            Stage::Change => Failure::new("timeout", "the change did not finish in time")
                .transient()
                .ambiguous(),
        },
        SshError::Unreachable { .. } => Failure::new("unreachable", e.to_string()).transient(),
        // The accounts still to change get a new session; whether this one's change landed,
        // a login shows.
        SshError::ConnectionLost => match stage {
            Stage::PrivilegedLogin => Failure::new("connection_lost", e.to_string()).transient(),
            Stage::Change => Failure::new("connection_lost", e.to_string())
                .transient()
                .ambiguous(),
        },
        other => match stage {
            Stage::PrivilegedLogin => Failure::new("unreachable", other.to_string()).transient(),
            Stage::Change => Failure::new("protocol", other.to_string())
                .transient()
                .ambiguous(),
        },
    }
}

fn db_failure(e: DbError, stage: Stage) -> Failure {
    match (e, stage) {
        (DbError::AuthFailed, _) => Failure::new(
            "privileged_login_failed",
            "the account used to make the change was refused",
        ),
        (e @ DbError::ReplyLost, Stage::Change) => Failure::new("reply_lost", e.to_string())
            .transient()
            .ambiguous(),
        (e @ DbError::Unreachable { .. }, _) => {
            Failure::new("unreachable", e.to_string()).transient()
        }
        (DbError::Timeout, Stage::PrivilegedLogin) => {
            Failure::new("timeout", "connecting timed out").transient()
        }
        (DbError::Timeout, Stage::Change) => {
            Failure::new("timeout", "the change did not finish in time")
                .transient()
                .ambiguous()
        }
        // Not retried: another wait as long could outlast the account's time limit.
        (e @ DbError::StatementCancelled, _) => Failure::new("timeout", e.to_string()),
        (e @ DbError::Unsupported(_), _) => Failure::new("unsupported_secret", e.to_string()),
        (e @ DbError::InsecureTransport(_), _) => Failure::new("insecure_transport", e.to_string()),
        (e @ DbError::Tls(_), _) => Failure::new("tls_failed", e.to_string()),
        (e, Stage::Change) => Failure::new("target_refused", e.to_string()),
        (e, Stage::PrivilegedLogin) => Failure::new("unreachable", e.to_string()).transient(),
    }
}

/// Every change over SSH writes a secret into the session (a sudo or su password, a
/// `chpasswd` line, a template's answer, a key to install): a session on a host whose key
/// nobody acknowledged (and without trust on first use) is closed before anything is sent.
async fn refuse_unless_trusted(session: SshSession) -> Result<SshSession, Failure> {
    if let Err(e) = session.ensure_may_receive_secrets() {
        let _ = session.close().await;
        return Err(ssh_failure(e, Stage::PrivilegedLogin));
    }
    Ok(session)
}

#[derive(Clone, Copy)]
enum Stage {
    PrivilegedLogin,
    Change,
}

impl ChangeSecretService {
    pub(super) async fn tofu(&self) -> bool {
        match self.store.meta("inventory_settings").await {
            Ok(Some(json)) => serde_json::from_str::<InventorySettings>(&json)
                .map(|s| s.trust_on_first_use_for_passwords)
                .unwrap_or(false),
            _ => false,
        }
    }

    fn db_target(&self, asset: &AssetRow) -> DbTarget {
        DbTarget {
            timeout: self.settings.connect_timeout,
            statement_timeout: self.settings.account_timeout,
            tls: db_tls(asset),
            ..DbTarget::new(asset.address.clone(), asset.port)
        }
    }

    /// Records what an SSH contact taught about the asset's host key.
    async fn note_host_key(&self, asset: &AssetRow, result: &Result<SshSession, SshError>) {
        let presented = match result {
            Ok(s) => Some(s.host_key().clone()),
            Err(e) => e.presented_host_key().cloned(),
        };
        note_presented_host_key(&self.store, asset, presented.as_ref()).await;
    }

    /// Opens the session that changes accounts: as the privileged account, or for database
    /// platforms without one, as `own` (the account itself with its current secret).
    pub(super) async fn open_change_session(
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
                &policy_for(&changer.asset, changer.tofu),
            )
            .await
            .map_err(|e| Failure::new("internal", e.to_string()))?;
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
                    "no_privileged_account",
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
                let policy = policy_for(&changer.asset, changer.tofu);
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
                PostgresAdmin::connect(
                    &self.db_target(&changer.asset),
                    &account.username,
                    secret,
                    database,
                )
                .await
                .map(ChangeSession::Postgres)
                .map_err(|e| db_failure(e, Stage::PrivilegedLogin))
            }
            VerifyMethod::MysqlLogin => {
                MysqlAdmin::connect(&self.db_target(&changer.asset), &account.username, secret)
                    .await
                    .map(ChangeSession::Mysql)
                    .map_err(|e| db_failure(e, Stage::PrivilegedLogin))
            }
            VerifyMethod::RedisAuth => {
                RedisAdmin::connect(&self.db_target(&changer.asset), &account.username, secret)
                    .await
                    .map(ChangeSession::Redis)
                    .map_err(|e| db_failure(e, Stage::PrivilegedLogin))
            }
        }
    }

    /// Changes `username`'s password to `new` through `session`.
    pub(super) async fn change_on_target(
        &self,
        changer: &Changer,
        session: &mut ChangeSession,
        username: &str,
        new: &SecretString,
    ) -> Result<(), Failure> {
        match (session, &changer.method) {
            (_, Method::Unsupported(why)) => Err(Failure::new("unsupported_platform", why.clone())),
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
                    .map_err(|e| Failure::new("unsupported_secret", e.to_string()))?;
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
                        "unsupported_secret",
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
                                    "invalid_template",
                                    "a pattern is not a valid regular expression, or compiles too large",
                                )
                            })?,
                        answer: answer.as_ref().map(|(a, _)| a.as_slice()),
                        timeout: std::time::Duration::from_secs(u64::from(step.timeout_secs)),
                        carries_new_secret: answer.as_ref().is_some_and(|(_, n)| *n),
                    });
                }
                let command: String = pieces(&template.command)
                    .map_err(|e| Failure::new("invalid_template", e))?
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
                "unsupported_platform",
                format!("this change is not supported on {}", changer.platform.name),
            )),
        }
    }

    /// Removes the losing secret where the method adds the new one beside the old one (Redis,
    /// SSH keys): `loser` is the old secret once the new one proved itself (then `winner` is
    /// the new one), or the new one when it did not (`winner` is `None`). Returns a note for
    /// the log when the target could not save the change durably.
    pub(super) async fn finish_on_target(
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
                    key_fingerprint(s).map_err(|e| Failure::new("unsupported_secret", e.to_string()))
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
                boxed(remove_authorized_keys(&TargetShell::new(session, &become_root, &changer.shell),
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
    pub(super) async fn login_with(
        &self,
        asset: &AssetRow,
        platform: &Platform,
        account: &AccountRow,
        secret: &SecretString,
        tofu: bool,
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
                    .connect(&target, &policy_for(asset, tofu), &credentials)
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
                db_login(
                    verify_postgres(&self.db_target(asset), &account.username, secret, database)
                        .await,
                )
            }
            VerifyMethod::MysqlLogin => {
                db_login(verify_mysql(&self.db_target(asset), &account.username, secret).await)
            }
            VerifyMethod::RedisAuth => db_login(
                tumbler_connectors::database::verify_redis(
                    &self.db_target(asset),
                    &account.username,
                    secret,
                )
                .await,
            ),
        }
    }
}

/// No stored secret goes to an asset whose new location nobody accepted yet.
fn relocation_check(asset: &AssetRow) -> Result<(), Failure> {
    crate::inventory::require_location_accepted(asset)
        .map_err(|e| Failure::new("asset_relocated", e.to_string()))
}

fn db_login(result: Result<(), DbError>) -> Login {
    match result {
        Ok(()) => Login::Works,
        Err(DbError::AuthFailed) => Login::Refused,
        Err(e) => Login::Inconclusive(db_failure(e, Stage::PrivilegedLogin)),
    }
}

/// Whether the session's connection is gone (the host or its sshd dropped it): the accounts
/// still to change need a new one.
pub(super) fn connection_lost(session: &ChangeSession) -> bool {
    matches!(session, ChangeSession::Ssh(s) if !s.is_connected())
}

impl ChangeSession {
    /// Whether the session was given up (a command cut off, a reply lost): it cannot carry
    /// another command.
    pub(super) fn is_broken(&self) -> bool {
        matches!(self, Self::Redis(a) if a.is_broken())
    }
}

/// Closes a change session politely.
pub(super) async fn close(session: ChangeSession) {
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
fn boxed<'a, T>(
    f: impl std::future::Future<Output = T> + Send + 'a,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>> {
    Box::pin(f)
}
