//! Appending to the journal: every copy written and fsynced before the append returns.

use crate::scan::{segment_files, segment_name, segment_newest_entry};
use crate::{EscrowEntry, EscrowError};
use chrono::{DateTime, Utc};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where the journal lives and how it is cut into segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalSettings {
    /// The journal's directory.
    pub dir: PathBuf,
    /// A second directory (another disk) holding a full copy, or none.
    pub copy_dir: Option<PathBuf>,
    /// A segment reaching this size is closed and a new one started.
    pub segment_max_bytes: u64,
}

impl JournalSettings {
    /// Every directory an append writes to.
    pub fn dirs(&self) -> Vec<&Path> {
        std::iter::once(self.dir.as_path())
            .chain(self.copy_dir.as_deref())
            .collect()
    }
}

/// The open segment of one directory.
struct Segment {
    path: PathBuf,
    file: File,
    size: u64,
}

/// The journal's writer. Appends are serialised; each writes the entry to every copy and
/// fsyncs it, and fails (so the change does not go on) when any copy cannot be written.
pub struct EscrowJournal {
    settings: JournalSettings,
    open: Mutex<Vec<Option<Segment>>>,
}

impl std::fmt::Debug for EscrowJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EscrowJournal")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl EscrowJournal {
    /// A journal with `settings`. Nothing is touched until the first append, so a directory
    /// that cannot be written is reported by the change that needs it.
    pub fn new(settings: JournalSettings) -> Self {
        let copies = settings.dirs().len();
        Self {
            settings,
            open: Mutex::new((0..copies).map(|_| None).collect()),
        }
    }

    /// Its settings.
    pub fn settings(&self) -> &JournalSettings {
        &self.settings
    }

    /// Appends `entry` to every copy and fsyncs it (blocking IO: call it off the async
    /// runtime's threads). A failed copy starts a new segment at its next append, so a line
    /// cut short by the failure is never continued.
    pub fn append(&self, entry: &EscrowEntry) -> Result<(), EscrowError> {
        let line = entry.to_line()?;
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        for (slot, dir) in open.iter_mut().zip(self.settings.dirs()) {
            let written = append_to(slot, dir, &line, self.settings.segment_max_bytes);
            if let Err(source) = written {
                *slot = None;
                return Err(EscrowError::Write {
                    dir: dir.display().to_string(),
                    source,
                });
            }
        }
        Ok(())
    }

    /// Removes every closed segment whose newest entry is older than `keep_after` (the oldest
    /// backup that must stay restorable), in every copy. The newest segment of a directory is
    /// always kept. Returns how many segment files were removed.
    pub fn compact(&self, keep_after: DateTime<Utc>) -> Result<usize, EscrowError> {
        // Appends go on meanwhile: they write to the newest segment, which is never removed
        // (and an append whose segment vanished starts a new one).
        let mut removed = 0;
        for dir in self.settings.dirs() {
            let read = |source| EscrowError::Read {
                dir: dir.display().to_string(),
                source,
            };
            let segments = match segment_files(dir) {
                Ok(s) => s,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(read(e)),
            };
            let Some((_, closed)) = segments.split_last() else {
                continue;
            };
            for (_, path) in closed {
                // A segment with no entry that can be dated is kept: nothing says it is old.
                let newest = segment_newest_entry(path).map_err(read)?;
                if newest.is_none_or(|at| at >= keep_after.timestamp_millis()) {
                    continue;
                }
                std::fs::remove_file(path).map_err(|source| EscrowError::Write {
                    dir: dir.display().to_string(),
                    source,
                })?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn append_to(
    slot: &mut Option<Segment>,
    dir: &Path,
    line: &[u8],
    max_bytes: u64,
) -> std::io::Result<()> {
    let full = slot
        .as_ref()
        .is_some_and(|s| s.size > 0 && s.size + line.len() as u64 > max_bytes);
    // A segment moved away or removed (by a person, or another process compacting the same
    // directory) would swallow the entry: write to a new one instead.
    let gone = slot.as_ref().is_some_and(|s| !s.path.exists());
    if slot.is_none() || full || gone {
        *slot = Some(new_segment(dir)?);
    }
    let Some(segment) = slot.as_mut() else {
        return Err(std::io::Error::other("no open segment"));
    };
    segment.file.write_all(line)?;
    segment.file.sync_data()?;
    segment.size += line.len() as u64;
    Ok(())
}

/// Starts the next segment of `dir` (creating the directory, owner-only), durable with its
/// directory entry before anything is written to it.
fn new_segment(dir: &Path) -> std::io::Result<Segment> {
    create_private_dir(dir)?;
    let next = match segment_files(dir)?.last() {
        Some((seq, _)) => seq
            .checked_add(1)
            .ok_or_else(|| std::io::Error::other("segment numbers are exhausted"))?,
        None => 1,
    };
    let path = dir.join(segment_name(next));
    let mut options = OpenOptions::new();
    options.append(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&path)?;
    File::open(dir)?.sync_all()?;
    Ok(Segment {
        path,
        file,
        size: 0,
    })
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    if let Some(parent) = dir.parent() {
        File::open(parent)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan;
    use tumbler_crypto::MasterKey;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_780_000_000_000 + ms).unwrap()
    }

    #[test]
    fn appends_rotate_by_size_and_every_copy_holds_every_entry() {
        let root = tempfile::tempdir().unwrap();
        let settings = JournalSettings {
            dir: root.path().join("journal"),
            copy_dir: Some(root.path().join("copy")),
            segment_max_bytes: 600,
        };
        let journal = EscrowJournal::new(settings.clone());
        let m = MasterKey::generate();
        for v in 1..=10 {
            let e = EscrowEntry::staged(&m, "acc-1", v, at(v), b"secret").unwrap();
            journal.append(&e).unwrap();
        }
        for dir in settings.dirs() {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode(dir), 0o700);
                assert_eq!(mode(&segment_files(dir).unwrap()[0].1), 0o600);
            }
            let segments = segment_files(dir).unwrap();
            assert!(segments.len() > 2, "{} segments", segments.len());
            let found = scan(dir).unwrap();
            assert!(found.damaged.is_empty());
            let versions: Vec<i64> = found.entries.iter().map(|e| e.entry.version).collect();
            assert_eq!(versions, (1..=10).collect::<Vec<_>>());
        }
    }

    #[test]
    fn compaction_keeps_the_newest_segment_and_everything_after_the_cutoff() {
        let root = tempfile::tempdir().unwrap();
        let journal = EscrowJournal::new(JournalSettings {
            dir: root.path().to_path_buf(),
            copy_dir: None,
            segment_max_bytes: 1,
        });
        let m = MasterKey::generate();
        for v in 1..=5 {
            let e = EscrowEntry::staged(&m, "acc-1", v, at(v * 1000), b"s").unwrap();
            journal.append(&e).unwrap();
        }
        assert_eq!(journal.compact(at(3000)).unwrap(), 2);
        let left: Vec<i64> = scan(root.path())
            .unwrap()
            .entries
            .iter()
            .map(|e| e.entry.version)
            .collect();
        assert_eq!(left, vec![3, 4, 5]);
        assert_eq!(journal.compact(at(1_000_000)).unwrap(), 2);
        assert_eq!(scan(root.path()).unwrap().entries.len(), 1);
    }

    #[test]
    fn an_append_after_its_segment_was_removed_goes_to_a_new_one() {
        let root = tempfile::tempdir().unwrap();
        let journal = EscrowJournal::new(JournalSettings {
            dir: root.path().to_path_buf(),
            copy_dir: None,
            segment_max_bytes: 1 << 20,
        });
        let m = MasterKey::generate();
        journal
            .append(&EscrowEntry::staged(&m, "a", 1, at(0), b"s").unwrap())
            .unwrap();
        let (_, first) = segment_files(root.path()).unwrap().remove(0);
        std::fs::rename(&first, root.path().join("moved-away")).unwrap();
        journal
            .append(&EscrowEntry::staged(&m, "a", 2, at(1), b"s").unwrap())
            .unwrap();
        let versions: Vec<i64> = scan(root.path())
            .unwrap()
            .entries
            .iter()
            .map(|e| e.entry.version)
            .collect();
        assert_eq!(versions, vec![2]);
    }

    #[cfg(unix)]
    #[test]
    fn an_unwritable_directory_fails_the_append_with_its_code() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let journal = EscrowJournal::new(JournalSettings {
            dir: file.join("journal"),
            copy_dir: None,
            segment_max_bytes: 1 << 20,
        });
        let m = MasterKey::generate();
        let e = EscrowEntry::staged(&m, "acc-1", 1, at(0), b"canary").unwrap();
        let err = journal.append(&e).unwrap_err();
        assert_eq!(err.code(), "escrow_unwritable");
        assert!(!err.to_string().contains("canary"));
    }
}
