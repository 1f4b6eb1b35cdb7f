//! How secrets change on one asset: the platform, the privileged session's credentials, the
//! way to root and the change method; and filling a custom template.

use super::failure::Failure;
use secrecy::{ExposeSecret, SecretString};
use tumbler_connectors::ssh::Become;
use tumbler_domain::custom_ssh::{pieces, CustomSshTemplate, Piece, Placeholder};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::inventory::SecretType;
use tumbler_domain::platform::{BecomeMethod, ChangeMethod, Platform, Protocol};
use tumbler_domain::ssh_key::SshKeyOptions;
use tumbler_store::{AccountRow, AssetRow};
use zeroize::Zeroizing;

/// Who changes the asset's accounts.
pub(in crate::change_secret) struct Changer {
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
    pub become_method: BecomeMethod,
    /// The shell for the root step.
    pub shell: String,
    /// Whether passwords may go to hosts whose key nobody acknowledged.
    pub trust_unverified_host_key: bool,
    /// How secrets change on this asset.
    pub method: Method,
}

/// How secrets change on one asset, chosen from the task and the platform.
#[derive(Debug, Clone)]
pub(in crate::change_secret) enum Method {
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
    /// new one proved itself ([`ChangeEngine::finish_on_target`]).
    pub(in crate::change_secret) fn keeps_old_secret(&self) -> bool {
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
    pub(in crate::change_secret) fn key_session_serves(&self) -> bool {
        self.platform.protocol == Protocol::Ssh
            && self.asset.auth_status != tumbler_domain::inventory::AuthStatus::PasswordBased
            && match &self.privileged {
                None => true,
                Some((account, _)) => account.username == self.asset.auth_username,
            }
    }

    /// How the privileged account becomes root for the Unix methods.
    pub(in crate::change_secret) fn become_root(&self) -> Result<Become, Failure> {
        Ok(match self.become_method {
            BecomeMethod::None => Become::None,
            BecomeMethod::Su => match &self.root_secret {
                Some(s) => Become::Su(s.clone()),
                None => {
                    return Err(Failure::new(
                        FailureCode::BecomeRefused,
                        "become is su but the asset has no root account with a stored password",
                    ))
                }
            },
            BecomeMethod::Sudo => Become::Sudo(match &self.privileged {
                Some((a, s)) if a.secret_type == SecretType::Password => s.clone(),
                _ => SecretString::from(String::new()),
            }),
        })
    }
}

/// Fills a template's answer in; `None` names a placeholder whose secret the asset lacks.
pub(in crate::change_secret) fn fill(
    text: &str,
    username: &str,
    secrets: &[(Placeholder, Option<&SecretString>)],
) -> Result<(Zeroizing<Vec<u8>>, bool), Failure> {
    let parts = pieces(text).map_err(|e| Failure::new(FailureCode::InvalidTemplate, e))?;
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
                            FailureCode::MissingSecret,
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
                        FailureCode::UnsupportedSecret,
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
