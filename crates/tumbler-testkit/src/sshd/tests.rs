//! The kit's own tests: a host is isolated, dies with its test, refuses unsafe names.

use super::host::validate_name;
use super::{SshHost, TestUser};

#[tokio::test]
async fn a_host_has_its_own_users_sudo_and_command_log() {
    let host = SshHost::start(&[TestUser::new("kitalice", "kit-pass-1").with_sudo()])
        .await
        .unwrap();
    assert!(host.host_key_fingerprint().starts_with("SHA256:"));
    let entry = host.shadow_entry("kitalice").await.unwrap().unwrap();
    assert!(entry.starts_with("kitalice:$"), "{entry}");
    // Not on the machine itself.
    let machine_shadow = std::fs::read_to_string("/etc/shadow").unwrap();
    assert!(!machine_shadow.contains("kitalice:"));
    let groups = host
        .run_inside_ok(&["id", "-nG", "kitalice"])
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&groups.stdout).contains("sudo"));
    host.run_inside_ok(&["sh", "-c", "/bin/echo kit-marker-argument"])
        .await
        .unwrap();
    assert!(host.command_log().contains("kit-marker-argument"));
    let pid = host.namespace_pid();
    drop(host);
    // The unshare process is gone once the host is dropped.
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

const CHILD_ENV: &str = "TUMBLER_TESTKIT_SSHD_CHILD";

/// Not a test on its own: the process that
/// `a_killed_test_process_leaves_no_host_running` starts and kills. It
/// starts a host, prints its pids and port, and waits to be killed.
#[tokio::test]
async fn child_process_for_the_kill_test() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let host = SshHost::start(&[]).await.unwrap();
    let pid = host.namespace_pid();
    let inner = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
    println!("HOST {pid} {} {}", host.port(), inner.trim());
    std::future::pending::<()>().await;
}

fn running(pid: &str) -> bool {
    // Gone, or a zombie nobody reaped: either way not running.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            let state = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .next();
            state != Some("Z")
        })
        .unwrap_or(false)
}

#[test]
fn a_killed_test_process_leaves_no_host_running() {
    use std::io::BufRead;
    use std::time::{Duration, Instant};
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sshd::tests::child_process_for_the_kill_test",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = std::io::BufReader::new(stdout)
        .lines()
        .map(Result::unwrap)
        .find(|l| l.starts_with("HOST "))
        .unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (unshare_pid, port, sshd_pid) = (fields[1], fields[2], fields[3]);
    assert!(running(unshare_pid) && running(sshd_pid), "{line}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).is_ok());

    child.kill().unwrap(); // SIGKILL: no destructor runs in the child.
    child.wait().unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    while running(unshare_pid) || running(sshd_pid) {
        assert!(Instant::now() < deadline, "host outlived its test process");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn user_names_that_could_inject_are_refused() {
    assert!(validate_name("alice").is_ok());
    assert!(validate_name("svc_1-a").is_ok());
    assert!(validate_name("").is_err());
    assert!(validate_name("-oops").is_err());
    assert!(validate_name("a:b").is_err());
    assert!(validate_name("a\nb").is_err());
    assert!(validate_name("Root").is_err());
}
