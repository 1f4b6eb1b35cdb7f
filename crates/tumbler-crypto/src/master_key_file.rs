//! The master key file: 64 hex digits, created with mode 0600, refused when others can read it.

use crate::{CryptoError, MasterKey};
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

fn file_err(path: &Path, source: std::io::Error) -> CryptoError {
    CryptoError::KeyFile {
        path: path.display().to_string(),
        source,
    }
}

/// Reads the master key from `path`, refusing a file that group or others can access.
pub fn load_master_key_file(path: &Path) -> Result<MasterKey, CryptoError> {
    let meta = std::fs::metadata(path).map_err(|e| file_err(path, e))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CryptoError::KeyFilePermissions {
            path: path.display().to_string(),
            mode,
        });
    }
    let text =
        zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| file_err(path, e))?);
    MasterKey::from_hex(&text)
}

/// Writes `key` to `path` (created with mode 0600, must not exist yet) and syncs it to disk.
pub fn write_master_key_file(path: &Path, key: &MasterKey) -> Result<(), CryptoError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| file_err(path, e))?;
    f.write_all(key.to_hex().as_bytes())
        .map_err(|e| file_err(path, e))?;
    f.write_all(b"\n").map_err(|e| file_err(path, e))?;
    f.sync_all().map_err(|e| file_err(path, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_0600_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("master.key");
        let k = MasterKey::generate();
        write_master_key_file(&p, &k).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(load_master_key_file(&p).unwrap().id(), k.id());
        assert!(
            write_master_key_file(&p, &k).is_err(),
            "never overwrites a key"
        );
    }

    #[test]
    fn group_readable_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("master.key");
        write_master_key_file(&p, &MasterKey::generate()).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = load_master_key_file(&p).unwrap_err();
        assert_eq!(err.code(), "master_key_file_permissions");
    }
}
