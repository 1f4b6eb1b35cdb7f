//! The host's private `/etc` and `/home`: copied from the machine, then given
//! their own host key, sudoers, snoopy, PAM and `sshd_config`.

use std::path::Path;

use super::process::{path_str, read_lossy, run_sync, set_mode};
use super::{io_err, SshHostError};

/// Copies `/etc` and `/home`, replaces the host keys, sudoers, snoopy and PAM
/// settings in the copy. Returns the new host key's fingerprint.
pub(super) fn prepare_root(root: &Path, snoopy: &Path) -> Result<String, SshHostError> {
    let root_s = path_str(root)?;
    // Processes of every user write to snoopy.log, below this directory.
    set_mode(root, 0o755)?;
    run_sync("cp", &["-a", "/etc", &format!("{root_s}/etc")])?;
    run_sync("cp", &["-a", "/home", &format!("{root_s}/home")])?;
    let etc = root.join("etc");

    // Own host key: remove the machine's keys from the copy.
    let ssh_dir = etc.join("ssh");
    for entry in std::fs::read_dir(&ssh_dir).map_err(io_err("listing etc/ssh"))? {
        let entry = entry.map_err(io_err("listing etc/ssh"))?;
        if entry.file_name().to_string_lossy().starts_with("ssh_host_") {
            std::fs::remove_file(entry.path()).map_err(io_err("removing a copied host key"))?;
        }
    }
    let fingerprint = generate_host_key(&ssh_dir)?;

    // sudo: the hosts share /run, so never cache credentials.
    let sudoers = etc.join("sudoers.d").join("tumbler-test-host");
    std::fs::write(&sudoers, "Defaults timestamp_timeout=0\n")
        .map_err(io_err("writing sudoers.d"))?;
    set_mode(&sudoers, 0o440)?;

    // snoopy: every command line of this host to its own file.
    let snoopy_log = root.join("snoopy.log");
    std::fs::write(&snoopy_log, b"").map_err(io_err("creating snoopy.log"))?;
    set_mode(&snoopy_log, 0o666)?;
    std::fs::write(
        etc.join("snoopy.ini"),
        format!("[snoopy]\noutput = file:{}\n", path_str(&snoopy_log)?),
    )
    .map_err(io_err("writing snoopy.ini"))?;
    std::fs::write(
        etc.join("ld.so.preload"),
        format!("{}\n", path_str(snoopy)?),
    )
    .map_err(io_err("writing the host's ld.so.preload"))?;

    // A container cannot set the audit login uid; the session must not fail
    // because of it.
    let pam_sshd = etc.join("pam.d").join("sshd");
    let pam = read_lossy(&pam_sshd);
    let pam = pam
        .lines()
        .map(|l| {
            if l.contains("pam_loginuid.so") && l.trim_start().starts_with("session") {
                l.replace("required", "optional")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&pam_sshd, pam + "\n").map_err(io_err("writing pam.d/sshd"))?;

    std::fs::write(root.join("auth.log"), b"").map_err(io_err("creating auth.log"))?;
    Ok(fingerprint)
}

/// Writes a new ed25519 host key (replacing any) into `ssh_dir`; returns its fingerprint.
pub(super) fn generate_host_key(ssh_dir: &Path) -> Result<String, SshHostError> {
    let key = ssh_dir.join("ssh_host_ed25519_key");
    for old in [key.clone(), ssh_dir.join("ssh_host_ed25519_key.pub")] {
        if old.exists() {
            std::fs::remove_file(&old).map_err(io_err("removing the old host key"))?;
        }
    }
    let key_s = path_str(&key)?;
    run_sync(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "tumbler-test-host",
            "-f",
            key_s,
        ],
    )?;
    let listed = run_sync("ssh-keygen", &["-l", "-E", "sha256", "-f", key_s])?;
    let listed = String::from_utf8_lossy(&listed.stdout);
    Ok(listed
        .split_whitespace()
        .nth(1)
        .filter(|f| f.starts_with("SHA256:"))
        .ok_or_else(|| SshHostError::Invalid(format!("ssh-keygen -l printed {listed:?}")))?
        .to_owned())
}

pub(super) fn write_sshd_config(
    root: &Path,
    port: u16,
    max_startups: &str,
    permit_root_login: bool,
) -> Result<(), SshHostError> {
    let config = format!(
        "# Tumbler test host\n\
         Port {port}\n\
         ListenAddress 127.0.0.1\n\
         HostKey /etc/ssh/ssh_host_ed25519_key\n\
         PidFile {pid}\n\
         MaxStartups {max_startups}\n\
         MaxSessions 100\n\
         MaxAuthTries 6\n\
         LogLevel VERBOSE\n\
         UsePAM yes\n\
         PasswordAuthentication yes\n\
         KbdInteractiveAuthentication yes\n\
         PubkeyAuthentication yes\n\
         AuthorizedKeysFile .ssh/authorized_keys\n\
         PermitRootLogin {root_login}\n\
         UseDNS no\n\
         PrintMotd no\n\
         X11Forwarding no\n\
         AcceptEnv LANG LC_*\n\
         Subsystem sftp /usr/lib/openssh/sftp-server\n",
        pid = path_str(&root.join("sshd.pid"))?,
        root_login = if permit_root_login { "yes" } else { "no" },
    );
    std::fs::write(root.join("etc").join("ssh").join("sshd_config"), config)
        .map_err(io_err("writing sshd_config"))
}
