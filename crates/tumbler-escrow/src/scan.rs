//! Reading the journal back: every entry in order, and every line that is not one.

use crate::{EscrowEntry, EscrowError};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

const PREFIX: &str = "escrow-";
const SUFFIX: &str = ".journal";

/// The file name of segment `seq`.
pub(crate) fn segment_name(seq: u64) -> String {
    format!("{PREFIX}{seq:08}{SUFFIX}")
}

/// The segments of `dir`, oldest first.
pub(crate) fn segment_files(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for item in std::fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name();
        let Some(seq) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|n| n.strip_suffix(SUFFIX))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        found.push((seq, item.path()));
    }
    found.sort();
    Ok(found)
}

/// The time of the newest entry a segment holds, if any.
pub(crate) fn segment_newest_entry(path: &Path) -> std::io::Result<Option<i64>> {
    let mut newest = None;
    for line in BufReader::new(std::fs::File::open(path)?).split(b'\n') {
        if let Some(entry) = EscrowEntry::from_line(&line?) {
            newest = newest.max(Some(entry.at_ms));
        }
    }
    Ok(newest)
}

/// An entry and where it was read.
#[derive(Debug, Clone)]
pub struct ScannedEntry {
    /// The entry (not opened yet).
    pub entry: EscrowEntry,
    /// Its segment file.
    pub segment: PathBuf,
    /// Its line number in the segment (from 1).
    pub line: usize,
}

/// A line that is not an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Its segment file.
    pub segment: PathBuf,
    /// Its line number (from 1).
    pub line: usize,
    /// What is wrong with it.
    pub what: String,
}

/// Everything a journal directory holds.
#[derive(Debug, Clone, Default)]
pub struct JournalScan {
    /// Entries, oldest first.
    pub entries: Vec<ScannedEntry>,
    /// Lines that are not entries; none is applied.
    pub damaged: Vec<Damage>,
}

/// Reads every segment of the journal in `dir`, oldest first. A missing directory is an empty
/// journal.
pub fn scan(dir: &Path) -> Result<JournalScan, EscrowError> {
    let read = |source| EscrowError::Read {
        dir: dir.display().to_string(),
        source,
    };
    let segments = match segment_files(dir) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(JournalScan::default()),
        Err(e) => return Err(read(e)),
    };
    let mut found = JournalScan::default();
    for (_, path) in segments {
        let bytes = std::fs::read(&path).map_err(read)?;
        let ends_whole = bytes.last().is_none_or(|b| *b == b'\n');
        let lines: Vec<&[u8]> = bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let count = lines.len();
        for (i, line) in lines.into_iter().enumerate() {
            let torn = i + 1 == count && !ends_whole;
            match (torn, EscrowEntry::from_line(line)) {
                (false, Some(entry)) => found.entries.push(ScannedEntry {
                    entry,
                    segment: path.clone(),
                    line: i + 1,
                }),
                (true, _) => found.damaged.push(Damage {
                    segment: path.clone(),
                    line: i + 1,
                    what: "cut short (an append interrupted by a crash)".to_owned(),
                }),
                (false, None) => found.damaged.push(Damage {
                    segment: path.clone(),
                    line: i + 1,
                    what: "not a journal entry".to_owned(),
                }),
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EscrowJournal, JournalSettings};
    use chrono::DateTime;
    use std::io::Write;
    use tumbler_crypto::MasterKey;

    #[test]
    fn a_torn_last_line_and_garbage_are_reported_not_read() {
        let root = tempfile::tempdir().unwrap();
        let journal = EscrowJournal::new(JournalSettings {
            dir: root.path().to_path_buf(),
            copy_dir: None,
            segment_max_bytes: 1 << 20,
        });
        let m = MasterKey::generate();
        let at = DateTime::from_timestamp_millis(1_780_000_000_000).unwrap();
        journal
            .append(&EscrowEntry::staged(&m, "a", 1, at, b"s").unwrap())
            .unwrap();
        let (_, path) = segment_files(root.path()).unwrap().remove(0);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"garbage\n").unwrap();
        let whole = EscrowEntry::staged(&m, "a", 2, at, b"s")
            .unwrap()
            .to_line()
            .unwrap();
        f.write_all(&whole[..whole.len() / 2]).unwrap();
        let found = scan(root.path()).unwrap();
        assert_eq!(found.entries.len(), 1);
        assert_eq!(found.damaged.len(), 2);
        assert!(found.damaged[1].what.contains("cut short"));
        assert!(scan(&root.path().join("none")).unwrap().entries.is_empty());
    }
}
