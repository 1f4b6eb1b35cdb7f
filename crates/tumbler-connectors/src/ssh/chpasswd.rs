//! Changing a Unix account's password with `chpasswd`, run as root (see [`super::become_root`]):
//! the `user:password` line travels on standard input, never on a command line. An account
//! locked on the target (`passwd -l`, `usermod -L`: its hash starts with `!`) is left as it is:
//! `chpasswd` would replace the hash and so unlock it.

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::become_root::{run_as_root, ChangeError, TargetShell};

/// Sets `username`'s password to `new_password` on the target with `chpasswd`, run as root.
pub async fn change_password_chpasswd(
    target: &TargetShell<'_>,
    username: &str,
    new_password: &SecretString,
) -> Result<(), ChangeError> {
    check_line(username, new_password)?;
    let line = Zeroizing::new(format!("{username}:{}\n", new_password.expose_secret()));
    let result = run_as_root(
        target,
        LOCK_CHECKED_CHPASSWD,
        &[],
        line.as_bytes(),
        &[new_password.expose_secret()],
    )
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(ChangeError::TargetRefused { detail }) if detail.contains(LOCKED_MARKER) => {
            Err(ChangeError::AccountLocked)
        }
        Err(e) => Err(e),
    }
}

/// Sets the first password of `username`, a user Tumbler has just created (its hash is still
/// the `!` of a new account, which [`change_password_chpasswd`] would refuse as locked).
pub async fn set_new_user_password_chpasswd(
    target: &TargetShell<'_>,
    username: &str,
    password: &SecretString,
) -> Result<(), ChangeError> {
    check_line(username, password)?;
    let line = Zeroizing::new(format!("{username}:{}\n", password.expose_secret()));
    run_as_root(
        target,
        CHPASSWD,
        &[],
        line.as_bytes(),
        &[password.expose_secret()],
    )
    .await
    .map(|_| ())
}

/// Whether the username and password can travel as one `chpasswd` line.
fn check_line(username: &str, password: &SecretString) -> Result<(), ChangeError> {
    if username.contains(':') || username.contains('\n') || username.is_empty() {
        return Err(ChangeError::Unsupported(
            "the username cannot be given to chpasswd",
        ));
    }
    if password.expose_secret().contains(['\n', '\r']) {
        return Err(ChangeError::Unsupported(
            "a password with a line break cannot be given to chpasswd",
        ));
    }
    Ok(())
}

/// What the root step prints (on standard error) when the account is locked.
const LOCKED_MARKER: &str = "TUMBLER-ACCOUNT-LOCKED";

/// The root step: reads the `user:password` line from standard input, refuses a locked
/// account, else hands the line to `chpasswd`.
const LOCK_CHECKED_CHPASSWD: &str = include_str!("scripts/chpasswd_unlocked.sh");

/// The root step for a new user: hands the line on standard input to `chpasswd`.
const CHPASSWD: &str = include_str!("scripts/chpasswd.sh");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_step_reads_the_line_from_standard_input_and_names_the_marker() {
        assert!(LOCK_CHECKED_CHPASSWD.contains("read -r line"));
        assert!(LOCK_CHECKED_CHPASSWD.contains(LOCKED_MARKER));
    }
}
