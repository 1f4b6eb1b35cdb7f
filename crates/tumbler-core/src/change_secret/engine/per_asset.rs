//! One asset's share of a run: open the session that changes its accounts (with retries),
//! then change each account in order; failures before staging are stored as such.

use super::plan::{login_account, method_for, AssetPlan, TemplateGrant};
use super::session_order::become_names;
use super::target::{close, connection_lost, ChangeSession, Changer, Failure, Method};
use super::ChangeEngine;
use crate::change_secret::tasks::TaskSpec;
use crate::change_secret::ChangeSecretError;
use secrecy::SecretString;
use tumbler_connectors::ssh::generate_key_pair;
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::inventory::{AccountStatus, SecretType};
use tumbler_domain::platform::{self, BecomeMethod};
use tumbler_store::{AccountRow, AssetRow, ExecutionRow, RecordRow};

impl ChangeEngine {
    /// Works through one asset's accounts on one session.
    pub(in crate::change_secret) async fn run_asset(
        &self,
        exec: &ExecutionRow,
        spec: &TaskSpec,
        plan: AssetPlan,
        specified: Option<&SecretString>,
        trust_unverified_host_key: bool,
        template: TemplateGrant<'_>,
    ) {
        if plan.work.is_empty() {
            return;
        }
        let mut changer = match self
            .changer_for(
                &plan.asset,
                &plan.all_accounts,
                spec,
                trust_unverified_host_key,
                plan.via.as_ref(),
            )
            .await
        {
            Ok(c) => c,
            Err(e) => {
                let f = match &e {
                    ChangeSecretError::Become(_) => {
                        Failure::new(FailureCode::UnknownBecomeMethod, e.to_string())
                    }
                    _ => Failure::new(FailureCode::Internal, e.to_string()),
                };
                for (record, account) in plan.work {
                    self.fail_unstaged(exec, record, &account, &f).await;
                }
                return;
            }
        };
        let needs_grant = matches!(changer.method, Method::Custom(_)) && spec.custom_ssh.is_some();
        if needs_grant && !template.allowed {
            let f = Failure::new(
                FailureCode::TemplateNotAllowed,
                format!(
                    "the task's owner {} does not hold secret_templates_manage, which its custom template needs on {} ({}); nothing was sent",
                    template.owner, plan.asset.name, plan.asset.platform
                ),
            );
            self.log_line(&exec.id, &format!("{}: {}", plan.asset.name, f.reason()))
                .await;
            for (record, account) in plan.work {
                self.fail_unstaged(exec, record, &account, &f).await;
            }
            return;
        }
        let mut shared: Option<ChangeSession> = None;
        if changer.privileged.is_some() || changer.key_session_serves() {
            match self.open_with_retries(exec, &changer, None).await {
                Ok(s) => shared = Some(s),
                Err(f) => {
                    self.log_line(
                        &exec.id,
                        &format!(
                            "{}: cannot change accounts: {}",
                            plan.asset.name,
                            f.reason()
                        ),
                    )
                    .await;
                    for (record, account) in plan.work {
                        self.fail_unstaged(exec, record, &account, &f).await;
                    }
                    return;
                }
            }
        }
        let mut work = plan.work.into_iter();
        while let Some((record, account)) = work.next() {
            // The host or its sshd dropped the session (during the last change, or since):
            // the remaining accounts get a new one.
            if shared.as_ref().is_some_and(connection_lost) {
                if let Some(s) = shared.take() {
                    close(s).await;
                }
                self.log_line(
                    &exec.id,
                    &format!("{}: the connection was lost; reconnecting", plan.asset.name),
                )
                .await;
                match self.open_with_retries(exec, &changer, None).await {
                    Ok(s) => shared = Some(s),
                    Err(f) => {
                        self.log_line(
                            &exec.id,
                            &format!("{}: cannot reconnect: {}", plan.asset.name, f.reason()),
                        )
                        .await;
                        self.fail_unstaged(exec, record, &account, &f).await;
                        for (record, account) in work.by_ref() {
                            self.fail_unstaged(exec, record, &account, &f).await;
                        }
                        break;
                    }
                }
            }
            let new = match (specified, spec.secret_type) {
                (Some(s), _) => Ok(s.clone()),
                (None, SecretType::Password) => {
                    // Rules come from a stored task: generate off the async workers, so even
                    // rules that slipped past validation cannot stall the runtime.
                    let rules = spec.password_rules.clone();
                    match tokio::task::spawn_blocking(move || rules.generate()).await {
                        Ok(r) => {
                            r.map_err(|e| Failure::new(FailureCode::InvalidRules, e.to_string()))
                        }
                        Err(_) => Err(Failure::new(
                            FailureCode::Internal,
                            "password generation stopped",
                        )),
                    }
                }
                (None, SecretType::SshKey) => {
                    let algorithm = spec.ssh_key.algorithm;
                    let comment = format!("tumbler:{}", account.username);
                    // RSA key generation takes a while: off the async workers.
                    match tokio::task::spawn_blocking(move || {
                        generate_key_pair(algorithm, &comment)
                    })
                    .await
                    {
                        Ok(r) => r.map_err(|e| Failure::new(FailureCode::Internal, e.to_string())),
                        Err(_) => Err(Failure::new(
                            FailureCode::Internal,
                            "key generation stopped",
                        )),
                    }
                }
            };
            let new = match new {
                Ok(s) => s,
                Err(f) => {
                    self.fail_unstaged(exec, record, &account, &f).await;
                    continue;
                }
            };
            let limit = self.settings.account_timeout * (self.settings.max_attempts.max(1) + 1);
            let change = self.change_account(
                exec,
                &changer,
                shared.as_mut(),
                record.clone(),
                &account,
                &new,
            );
            let outcome = tokio::time::timeout(limit, change).await;
            if let Ok(Some(f)) = outcome {
                // The way to root fails for every account of the host: the others are not
                // tried (each try would be one more refused password on the host).
                let rest: Vec<_> = work.by_ref().collect();
                if !rest.is_empty() {
                    self.log_line(
                        &exec.id,
                        &format!(
                            "{}: {}; the other {} account(s) of this host were not tried",
                            plan.asset.name,
                            f.reason(),
                            rest.len()
                        ),
                    )
                    .await;
                }
                let not_tried = Failure::new(
                    f.code,
                    format!(
                        "not tried: {} (for another account of this host)",
                        f.message
                    ),
                );
                for (record, account) in rest {
                    self.store_unstaged_failure(record, &account, &not_tried)
                        .await;
                }
                break;
            }
            if outcome.is_err() {
                // A command cut off mid-way leaves the session in an unknown state: it is
                // closed (so nothing it sent can still land) before the secrets are tried, and
                // a fresh one serves the remaining accounts.
                if let Some(s) = shared.take() {
                    close(s).await;
                    match self.open_with_retries(exec, &changer, None).await {
                        Ok(s) => shared = Some(s),
                        Err(f) => {
                            self.log_line(
                                &exec.id,
                                &format!("{}: cannot reconnect: {}", plan.asset.name, f.reason()),
                            )
                            .await
                        }
                    }
                }
                // The account may be left staged: recovery-by-login settles it now.
                self.log_line(
                    &exec.id,
                    &format!(
                        "{}@{}: timed out; checking which secret works",
                        account.username, plan.asset.name
                    ),
                )
                .await;
                if let Ok(Some(fresh)) = self.store.account(&account.id).await {
                    if let Some(pending) = fresh.pending_version {
                        if let Err(e) = self
                            .settle_by_login(
                                exec,
                                &changer.asset,
                                &fresh,
                                pending,
                                trust_unverified_host_key,
                                FailureCode::Timeout,
                            )
                            .await
                        {
                            tracing::error!(account = %fresh.id, error = %e, "could not settle a timed-out change");
                        }
                    }
                }
            }
            // su types root's password: after root changed, the new one.
            if let Err(e) = self.refresh_session_secrets(&mut changer, &account).await {
                tracing::error!(account = %account.id, error = %e, "could not read a changed session secret");
            }
        }
        if let Some(s) = shared {
            close(s).await;
        }
    }

    /// Who changes accounts on `asset`, and how (privileged account, become, shell).
    pub(in crate::change_secret) async fn changer_for(
        &self,
        asset: &AssetRow,
        all_accounts: &[AccountRow],
        spec: &TaskSpec,
        trust_unverified_host_key: bool,
        via: Option<&AccountRow>,
    ) -> Result<Changer, ChangeSecretError> {
        let platform = platform::find(&asset.platform).ok_or_else(|| {
            ChangeSecretError::RecordState(format!("unknown platform {}", asset.platform))
        })?;
        let login = via.or_else(|| login_account(all_accounts)).cloned();
        let privileged = match login {
            Some(a) => {
                let secret = self
                    .open_account_secret(a.id.as_str(), a.current_version)
                    .await?;
                Some((a, secret))
            }
            None => None,
        };
        // root's password (for `become = su`), or a network device's `enable` secret.
        let root = become_names(platform.unix_like)
            .iter()
            .find_map(|name| {
                all_accounts
                    .iter()
                    .find(|a| a.username == *name && a.secret_type == SecretType::Password)
            })
            .map(|a| (a.id.clone(), a.current_version));
        let root_secret = match &root {
            Some((id, version)) => Some(self.open_account_secret(id.as_str(), *version).await?),
            None => None,
        };
        let option = |name: &str| -> String {
            spec.params
                .get(name)
                .cloned()
                .or_else(|| {
                    privileged
                        .as_ref()
                        .and_then(|(a, _)| a.options.get(name).cloned())
                })
                .or_else(|| platform.option(name).map(|o| o.default.to_owned()))
                .unwrap_or_default()
        };
        let shell = match option("shell") {
            s if s.is_empty() => "/bin/sh".to_owned(),
            s => s,
        };
        // Stored before shells were limited: never start another program as root.
        if !platform::SYSTEM_SHELLS.contains(&shell.as_str()) {
            return Err(ChangeSecretError::RecordState(format!(
                "shell {shell:?} is not a system shell"
            )));
        }
        // Parsed once here: a value that names no method is refused, never read as sudo.
        let become_method = BecomeMethod::from_option(Some(&option("become")))?;
        Ok(Changer {
            become_method,
            shell,
            asset: asset.clone(),
            platform,
            privileged,
            root_account: root.map(|(id, _)| id),
            root_secret,
            trust_unverified_host_key,
            method: method_for(platform, spec),
        })
    }

    /// Opens a change session, retrying (with back-off) while the target cannot be reached.
    pub(in crate::change_secret) async fn open_with_retries(
        &self,
        exec: &ExecutionRow,
        changer: &Changer,
        own: Option<(&AccountRow, &SecretString)>,
    ) -> Result<ChangeSession, Failure> {
        let mut attempt = 1;
        loop {
            match self.open_change_session(changer, own).await {
                Ok(s) => return Ok(s),
                Err(f) if f.transient && attempt < self.settings.max_attempts => {
                    let pause = self.settings.retry_backoff * 2u32.saturating_pow(attempt - 1);
                    self.log_line(
                        &exec.id,
                        &format!(
                            "{}: {} (attempt {attempt}); retrying in {} ms",
                            changer.asset.name,
                            f.reason(),
                            pause.as_millis()
                        ),
                    )
                    .await;
                    // A deliberate back-off between attempts at an unreachable target.
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                Err(f) => return Err(f),
            }
        }
    }

    /// Marks a record failed for an account that was never staged (nothing changed), and the
    /// account as needing attention.
    pub(in crate::change_secret) async fn fail_unstaged(
        &self,
        exec: &ExecutionRow,
        record: RecordRow,
        account: &AccountRow,
        f: &Failure,
    ) {
        let asset_name = record.asset_name.clone();
        self.store_unstaged_failure(record, account, f).await;
        self.log_line(
            &exec.id,
            &format!(
                "{}@{}: failed, {}",
                account.username,
                asset_name,
                f.reason()
            ),
        )
        .await;
    }

    /// Stores what [`Self::fail_unstaged`] stores, without a line in the run's log.
    pub(in crate::change_secret) async fn store_unstaged_failure(
        &self,
        mut record: RecordRow,
        account: &AccountRow,
        f: &Failure,
    ) {
        record.status = RecordStatus::Failed;
        record.reason_code = Some(f.code);
        record.reason = f.message.clone();
        record.updated_at = self.clock.now();
        let write = async {
            let mut tx = self.store.begin().await?;
            tx.update_record(&record).await?;
            if let Some(fresh) = tx.account(&account.id).await? {
                if fresh.pending_version.is_none() {
                    tx.set_account_verification(
                        &account.id,
                        AccountStatus::NeedsAttention,
                        &f.reason(),
                        fresh.last_verified_at,
                    )
                    .await?;
                }
            }
            tx.commit().await
        };
        if let Err(e) = write.await {
            tracing::error!(record = %record.id, error = %e, "could not record a failure");
        }
    }
}
