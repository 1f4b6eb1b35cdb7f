//! The one CSV writer of every file Tumbler hands out (asset and account exports, run
//! reports), which makes formula cells inert, and its inverse for imports.
//!
//! A spreadsheet runs a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
//! as a formula (OWASP "CSV injection"); a crafted asset name could then send the secret
//! column of an export elsewhere. Such a cell is written with a leading `'`. So that an
//! export imports back unchanged, a cell that starts with `'` followed by what would be
//! guarded is guarded too, and [`restore`] removes exactly one guard.

use zeroize::Zeroizing;

/// The first characters that make a spreadsheet read a cell as a formula.
const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `cell` is written with a leading `'`: it starts with a trigger, or with `'`
/// followed by a cell that would be guarded (so that [`restore`] is an exact inverse).
fn needs_guard(cell: &str) -> bool {
    let quotes = cell.len() - cell.trim_start_matches('\'').len();
    cell[quotes..].starts_with(TRIGGERS)
}

/// The cell as written into a CSV file: inert in a spreadsheet.
pub fn inert(cell: &str) -> std::borrow::Cow<'_, str> {
    if needs_guard(cell) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// The value an imported cell stands for: one guard written by [`inert`] removed. A cell
/// that does not look guarded is returned as it is.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_guard(rest) => rest,
        _ => cell,
    }
}

/// Writing the CSV failed (only an internal fault: the buffer is memory).
#[derive(Debug, thiserror::Error)]
#[error("CSV writing failed")]
pub struct CsvWriteError;

/// A CSV file being written in memory; every cell goes through [`inert`]. The buffer is
/// wiped when dropped, since an account export holds secrets.
pub struct InertCsvWriter {
    writer: csv::Writer<Vec<u8>>,
}

impl Default for InertCsvWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl InertCsvWriter {
    /// An empty file.
    pub fn new() -> Self {
        Self {
            writer: csv::Writer::from_writer(Vec::new()),
        }
    }

    /// Appends one row.
    pub fn row<I, S>(&mut self, cells: I) -> Result<(), CsvWriteError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        // Field by field, so that no copy of a secret cell is left in an extra buffer.
        for c in cells {
            let c = c.as_ref();
            let written = if needs_guard(c) {
                let guarded = Zeroizing::new(format!("'{c}"));
                self.writer.write_field(guarded.as_bytes())
            } else {
                self.writer.write_field(c.as_bytes())
            };
            written.map_err(|_| CsvWriteError)?;
        }
        self.writer
            .write_record(std::iter::empty::<&[u8]>())
            .map_err(|_| CsvWriteError)
    }

    /// The file's text, in a buffer wiped when dropped.
    pub fn finish(self) -> Result<Zeroizing<String>, CsvWriteError> {
        let bytes = Zeroizing::new(self.writer.into_inner().map_err(|_| CsvWriteError)?);
        Ok(Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::{inert, restore};

    #[test]
    fn formula_cells_are_made_inert_and_restore_exactly() {
        for (value, written) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+cmd", "'+cmd"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("'=x", "''=x"),
            ("''+x", "'''+x"),
            ("'plain", "'plain"),
            ("web-1", "web-1"),
            ("", ""),
        ] {
            assert_eq!(inert(value), written);
            assert_eq!(restore(&inert(value)), value);
        }
    }
}
