//! One journal entry: a staged secret, or how a staged change settled.

use crate::EscrowError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tumbler_crypto::MasterKey;
use zeroize::Zeroizing;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A new secret was staged for the account; it may be on the target from now on.
    Staged,
    /// A staged change was settled: `current` is the account's working version afterwards.
    Settled,
}

impl EntryKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Staged => "staged",
            Self::Settled => "settled",
        }
    }
}

/// An entry as it is stored: its fields in the clear (no secret among them), its secret (or
/// nothing, for a settled entry) sealed under the master key with every field as associated
/// data, so an entry altered or moved to another account or version fails to open.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscrowEntry {
    /// What it records.
    pub kind: EntryKind,
    /// The account's id.
    pub account: String,
    /// The staged version (for a settled entry: the version that was staged).
    pub version: i64,
    /// For a settled entry, the version that works afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<i64>,
    /// When, in milliseconds since the epoch.
    pub at_ms: i64,
    /// Id of the master key it is sealed under.
    pub key: String,
    /// The sealed secret (base64).
    sealed: String,
}

impl std::fmt::Debug for EscrowEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EscrowEntry")
            .field("kind", &self.kind)
            .field("account", &self.account)
            .field("version", &self.version)
            .field("current", &self.current)
            .field("at_ms", &self.at_ms)
            .finish_non_exhaustive()
    }
}

/// An entry that opened: its fields, now authenticated, and its secret.
pub struct OpenedEntry {
    /// What it records.
    pub kind: EntryKind,
    /// The account's id.
    pub account: String,
    /// The staged version.
    pub version: i64,
    /// For a settled entry, the version that works afterwards.
    pub current: Option<i64>,
    /// When.
    pub at: DateTime<Utc>,
    /// The staged secret (empty for a settled entry).
    pub secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for OpenedEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedEntry")
            .field("kind", &self.kind)
            .field("account", &self.account)
            .field("version", &self.version)
            .field("current", &self.current)
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

impl EscrowEntry {
    /// The entry for `secret`, staged as `version` of `account` at `at`.
    pub fn staged(
        master: &MasterKey,
        account: &str,
        version: i64,
        at: DateTime<Utc>,
        secret: &[u8],
    ) -> Result<Self, EscrowError> {
        Self::sealed(
            master,
            EntryKind::Staged,
            account,
            version,
            None,
            at,
            secret,
        )
    }

    /// The entry saying the change that staged `version` settled with `current` working.
    pub fn settled(
        master: &MasterKey,
        account: &str,
        version: i64,
        current: i64,
        at: DateTime<Utc>,
    ) -> Result<Self, EscrowError> {
        Self::sealed(
            master,
            EntryKind::Settled,
            account,
            version,
            Some(current),
            at,
            &[],
        )
    }

    fn sealed(
        master: &MasterKey,
        kind: EntryKind,
        account: &str,
        version: i64,
        current: Option<i64>,
        at: DateTime<Utc>,
        secret: &[u8],
    ) -> Result<Self, EscrowError> {
        let mut entry = Self {
            kind,
            account: account.to_owned(),
            version,
            current,
            at_ms: at.timestamp_millis(),
            key: master.id(),
            sealed: String::new(),
        };
        let sealed = tumbler_crypto::seal_with_master(master, secret, &entry.associated_data())
            .map_err(|_| EscrowError::Seal)?;
        entry.sealed = STANDARD.encode(sealed);
        Ok(entry)
    }

    /// Opens the entry with `master`: fails when any field was altered, when it was moved to
    /// another account or version, or when `master` did not seal it.
    pub fn open(&self, master: &MasterKey) -> Result<OpenedEntry, EscrowError> {
        let envelope = STANDARD
            .decode(self.sealed.as_bytes())
            .map_err(|_| EscrowError::Open)?;
        let secret = tumbler_crypto::open_with_master(master, &envelope, &self.associated_data())
            .map_err(|_| EscrowError::Open)?;
        let at = DateTime::from_timestamp_millis(self.at_ms).ok_or(EscrowError::Open)?;
        if (self.kind == EntryKind::Settled) != self.current.is_some() {
            return Err(EscrowError::Open);
        }
        Ok(OpenedEntry {
            kind: self.kind,
            account: self.account.clone(),
            version: self.version,
            current: self.current,
            at,
            secret,
        })
    }

    /// The entry as one journal line (ending in a newline).
    pub fn to_line(&self) -> Result<Vec<u8>, EscrowError> {
        let mut line = serde_json::to_vec(self).map_err(|_| EscrowError::Seal)?;
        line.push(b'\n');
        Ok(line)
    }

    /// Parses one journal line (without its newline); `None` when it is not an entry.
    pub fn from_line(line: &[u8]) -> Option<Self> {
        serde_json::from_slice(line).ok()
    }

    fn associated_data(&self) -> Vec<u8> {
        format!(
            "tumbler-escrow-v1\0{}\0{}\0{}\0{}\0{}",
            self.kind.as_str(),
            self.account,
            self.version,
            self.current
                .map_or_else(|| "-".to_owned(), |c| c.to_string()),
            self.at_ms
        )
        .into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_780_000_000_000).unwrap()
    }

    #[test]
    fn a_staged_entry_opens_with_its_master_key_only() {
        let m = MasterKey::generate();
        let e = EscrowEntry::staged(&m, "acc-1", 4, at(), b"canary-secret").unwrap();
        let line = e.to_line().unwrap();
        assert!(!String::from_utf8_lossy(&line).contains("canary-secret"));
        assert!(!format!("{e:?}").contains(&e.sealed));
        let back = EscrowEntry::from_line(&line[..line.len() - 1]).unwrap();
        let opened = back.open(&m).unwrap();
        assert_eq!(opened.secret.as_slice(), b"canary-secret");
        assert_eq!((opened.version, opened.at), (4, at()));
        assert!(back.open(&MasterKey::generate()).is_err());
    }

    #[test]
    fn an_entry_moved_or_altered_fails_to_open() {
        let m = MasterKey::generate();
        let e = EscrowEntry::staged(&m, "acc-1", 4, at(), b"s").unwrap();
        for altered in [
            EscrowEntry {
                account: "acc-2".into(),
                ..e.clone()
            },
            EscrowEntry {
                version: 5,
                ..e.clone()
            },
            EscrowEntry {
                at_ms: e.at_ms + 1,
                ..e.clone()
            },
            EscrowEntry {
                kind: EntryKind::Settled,
                current: Some(4),
                ..e.clone()
            },
        ] {
            assert!(matches!(altered.open(&m), Err(EscrowError::Open)));
        }
        let s = EscrowEntry::settled(&m, "acc-1", 4, 3, at()).unwrap();
        assert_eq!(s.open(&m).unwrap().current, Some(3));
        let moved = EscrowEntry {
            current: Some(4),
            ..s
        };
        assert!(moved.open(&m).is_err());
    }
}
