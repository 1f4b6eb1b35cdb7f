//! Editing an account's `~/.ssh/authorized_keys` as root: adding a public key, and removing
//! keys matched by their SHA-256 fingerprint (never by comment, which anyone can copy).
//!
//! Each edit reads the file, computes the new content here, and writes it back through a
//! temporary file renamed over the old one, only if the file is still what was read (its
//! SHA-256 is compared on the target). The file work runs as the account itself (root only
//! gets there, then drops to the account with `runuser`), so nothing the account controls
//! can make root read or write elsewhere; symbolic links are refused as well. Public keys
//! are not secret; they travel on standard input anyway.

use std::str::FromStr;

use russh::keys::ssh_key::authorized_keys::Entry;
use russh::keys::HashAlg;
use sha2::{Digest, Sha256};

use super::become_root::{run_as_root, ChangeError, TargetShell};
use super::session::CommandOutput;

/// Which keys a removal takes out.
#[derive(Debug, Clone, Copy)]
pub enum KeyRemoval<'a> {
    /// Every key with this SHA-256 fingerprint (`SHA256:...`).
    Fingerprint(&'a str),
    /// Every key but the one with this fingerprint.
    AllBut(&'a str),
}

/// The SHA-256 fingerprint of an `authorized_keys` line's key, if the line holds one.
fn line_fingerprint(line: &str) -> Option<String> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    Entry::from_str(trimmed)
        .ok()
        .map(|e| e.public_key().fingerprint(HashAlg::Sha256).to_string())
}

/// `content` with `public_line` appended, or `None` when a key with its fingerprint is there.
pub fn with_key_added(content: &str, public_line: &str) -> Option<String> {
    let wanted = line_fingerprint(public_line)?;
    if content
        .lines()
        .any(|l| line_fingerprint(l).as_deref() == Some(wanted.as_str()))
    {
        return None;
    }
    let mut out = content.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(public_line.trim());
    out.push('\n');
    Some(out)
}

/// `content` without the keys `removal` names, and how many lines went.
pub fn with_keys_removed(content: &str, removal: KeyRemoval<'_>) -> (String, usize) {
    let mut out = String::with_capacity(content.len());
    let mut removed = 0;
    for line in content.lines() {
        let goes = match (line_fingerprint(line), removal) {
            (Some(fp), KeyRemoval::Fingerprint(target)) => fp == target,
            (Some(fp), KeyRemoval::AllBut(keep)) => fp != keep,
            (None, _) => false,
        };
        if goes {
            removed += 1;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    (out, removed)
}

fn check_username(username: &str) -> Result<(), ChangeError> {
    let ok = !username.is_empty()
        && username.len() <= 32
        && !username.starts_with('-')
        // An all-digit name would be looked up as a user id.
        && !username.chars().all(|c| c.is_ascii_digit())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ChangeError::Unsupported(
            "the username cannot be used to find an authorized_keys file",
        ))
    }
}

/// The root step that runs an account script as the account itself (never as root: the
/// account owns its `~/.ssh` and could point a path anywhere), with `runuser` when Tumbler is
/// root, or directly when it is logged in as that account. Parameters: the account, the
/// account script, then the script's own parameters.
const AS_ACCOUNT: &str = include_str!("scripts/as_account.sh");

/// Account script: reads the file (nothing when it does not exist).
const READ: &str = concat!(
    include_str!("scripts/keys_locate.sh"),
    include_str!("scripts/keys_read.sh")
);

/// Account script: replaces the file with standard input if it still has one of two
/// SHA-256 digests (parameters 2 and 3; `none` for a missing file).
const WRITE: &str = concat!(
    include_str!("scripts/keys_locate.sh"),
    include_str!("scripts/keys_write.sh")
);

/// Root script: creates the user named by parameter 1 unless it exists.
const ENSURE_USER: &str = include_str!("scripts/ensure_user.sh");

/// Runs the account script `script` as `username` with `params` after the username.
async fn run_as_account(
    target: &TargetShell<'_>,
    username: &str,
    script: &str,
    params: &[&str],
    input: &[u8],
) -> Result<CommandOutput, ChangeError> {
    let mut words = vec![username, script];
    words.extend_from_slice(params);
    run_as_root(target, AS_ACCOUNT, &words, input, &[]).await
}

/// The file's content (empty when it does not exist).
async fn read(target: &TargetShell<'_>, username: &str) -> Result<String, ChangeError> {
    let output = run_as_account(target, username, READ, &[], b"").await?;
    String::from_utf8(output.stdout.to_vec()).map_err(|_| ChangeError::TargetRefused {
        detail: "authorized_keys is not UTF-8 text".to_owned(),
    })
}

/// Replaces the file with `content` if it still holds `was` (compared by SHA-256 on the
/// target), through a temporary file renamed over it.
async fn write(
    target: &TargetShell<'_>,
    username: &str,
    was: &str,
    content: &str,
) -> Result<(), ChangeError> {
    let hash = hex::encode(Sha256::digest(was.as_bytes()));
    // An empty read may have been a missing file.
    let also = if was.is_empty() {
        "none"
    } else {
        hash.as_str()
    };
    run_as_account(target, username, WRITE, &[&hash, also], content.as_bytes())
        .await
        .map(|_| ())
}

/// Adds `public_line` to `username`'s `authorized_keys` (creating `~/.ssh` and the file when
/// missing), unless a key with the same fingerprint is there already.
pub async fn add_authorized_key(
    target: &TargetShell<'_>,
    username: &str,
    public_line: &str,
) -> Result<(), ChangeError> {
    check_username(username)?;
    if line_fingerprint(public_line).is_none() || public_line.contains(['\n', '\r']) {
        return Err(ChangeError::Unsupported("not a public key line"));
    }
    let was = read(target, username).await?;
    match with_key_added(&was, public_line) {
        Some(content) => write(target, username, &was, &content).await,
        None => Ok(()),
    }
}

/// Removes the keys `removal` names from `username`'s `authorized_keys`; returns how many
/// lines went.
pub async fn remove_authorized_keys(
    target: &TargetShell<'_>,
    username: &str,
    removal: KeyRemoval<'_>,
) -> Result<usize, ChangeError> {
    check_username(username)?;
    let was = read(target, username).await?;
    let (content, removed) = with_keys_removed(&was, removal);
    if removed > 0 {
        write(target, username, &was, &content).await?;
    }
    Ok(removed)
}

/// Creates `username` (with a home directory and `/bin/sh`) unless it exists; returns whether
/// it was created.
pub async fn ensure_user(target: &TargetShell<'_>, username: &str) -> Result<bool, ChangeError> {
    check_username(username)?;
    let output = run_as_root(target, ENSURE_USER, &[username], b"", &[]).await?;
    Ok(output.stdout_lossy().trim() == "created")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssh::{generate_key_pair, key_fingerprint, public_key_line};
    use tumbler_domain::ssh_key::KeyAlgorithm;

    fn key(comment: &str) -> (String, String) {
        let pem = generate_key_pair(KeyAlgorithm::Ed25519, comment).expect("key");
        (
            public_key_line(&pem).expect("line"),
            key_fingerprint(&pem).expect("fp"),
        )
    }

    #[test]
    fn keys_are_matched_by_fingerprint_not_comment() {
        let (a, fp_a) = key("same-comment");
        let (b, fp_b) = key("same-comment");
        let content = format!("# admins\n{a}\nfrom=\"10.0.0.1\" {b}\n");
        assert_eq!(with_key_added(&content, &a), None);
        let (left, n) = with_keys_removed(&content, KeyRemoval::Fingerprint(&fp_a));
        assert_eq!(n, 1);
        assert!(!left.contains(&a) && left.contains(&b) && left.contains("# admins"));
        let (left, n) = with_keys_removed(&content, KeyRemoval::AllBut(&fp_b));
        assert_eq!(n, 1);
        assert_eq!(left, format!("# admins\nfrom=\"10.0.0.1\" {b}\n"));
    }

    #[test]
    fn adding_appends_a_line_after_a_missing_newline() {
        let (a, _) = key("a");
        let (b, _) = key("b");
        assert_eq!(with_key_added("", &a), Some(format!("{a}\n")));
        assert_eq!(with_key_added(&a, &b), Some(format!("{a}\n{b}\n")));
    }

    #[test]
    fn odd_usernames_are_refused() {
        for name in ["", "-x", "a b", "a;b", "a$(x)", "a\"b", "0", "1000"] {
            assert!(check_username(name).is_err(), "{name}");
        }
        check_username("svc.backup_01").expect("fine");
    }
}
