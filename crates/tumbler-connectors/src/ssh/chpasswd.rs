//! Changing a Unix account's password with `chpasswd`, run as root (see [`super::become_root`]):
//! the `user:password` line travels on standard input, never on a command line.

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::become_root::{run_as_root, Become, ChangeError};
use super::session::SshSession;

/// Sets `username`'s password to `new_password` on the session's host with `chpasswd`,
/// becoming root as `become` says. `shell` is the absolute path of the shell to run the
/// root step in.
pub async fn change_password_chpasswd(
    session: &SshSession,
    become_root: &Become,
    shell: &str,
    username: &str,
    new_password: &SecretString,
) -> Result<(), ChangeError> {
    if username.contains(':') || username.contains('\n') || username.is_empty() {
        return Err(ChangeError::Unsupported(
            "the username cannot be given to chpasswd",
        ));
    }
    if new_password.expose_secret().contains(['\n', '\r']) {
        return Err(ChangeError::Unsupported(
            "a password with a line break cannot be given to chpasswd",
        ));
    }
    let line = Zeroizing::new(format!("{username}:{}\n", new_password.expose_secret()));
    run_as_root(
        session,
        become_root,
        shell,
        "exec chpasswd",
        line.as_bytes(),
        &[new_password.expose_secret()],
    )
    .await
    .map(|_| ())
}
