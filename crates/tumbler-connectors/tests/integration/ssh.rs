//! The SSH connector against real OpenSSH hosts.

use std::time::Duration;

use secrecy::SecretString;
use tumbler_connectors::ssh::{
    HostKeyFingerprint, HostKeyPolicy, SshConnector, SshCredentials, SshError, SshTarget,
};
use tumbler_testkit::sshd::{SshHost, TestUser};

const LOG_WAIT: Duration = Duration::from_secs(10);

fn connector() -> SshConnector {
    SshConnector::new()
        .with_connect_timeout(Duration::from_secs(30))
        .with_command_timeout(Duration::from_secs(30))
}

fn target(host: &SshHost) -> SshTarget {
    SshTarget::new(host.address(), host.port())
}

fn pinned(host: &SshHost) -> HostKeyPolicy {
    HostKeyPolicy::Pinned(host.host_key_fingerprint().parse().unwrap())
}

fn fingerprint(host: &SshHost) -> HostKeyFingerprint {
    host.host_key_fingerprint().parse().unwrap()
}

fn password(user: &str, password: &str) -> SshCredentials {
    SshCredentials::password(user, SecretString::from(password.to_owned()))
}

/// sshd logged the end of a connection that never authenticated.
fn preauth_connection_ended(log: &str) -> bool {
    log.lines().any(|l| {
        l.contains("[preauth]")
            && (l.contains("Connection closed by")
                || l.contains("Received disconnect from")
                || l.contains("Disconnected from")
                || l.contains("Connection reset by"))
    })
}

#[tokio::test]
async fn three_hosts_each_have_their_own_users_and_shadow() {
    let names = ["tenant1", "tenant2", "tenant3"];
    let passwords = ["first-pass-1", "second-pass-2", "third-pass-3"];
    let users: Vec<TestUser> = names
        .iter()
        .zip(passwords)
        .map(|(name, pass)| TestUser::new(*name, pass).with_sudo())
        .collect();
    let (a, b, c) = tokio::join!(
        SshHost::start(&users[0..1]),
        SshHost::start(&users[1..2]),
        SshHost::start(&users[2..3]),
    );
    let hosts = [a.unwrap(), b.unwrap(), c.unwrap()];

    // Three hosts, three host keys.
    assert_ne!(
        hosts[0].host_key_fingerprint(),
        hosts[1].host_key_fingerprint()
    );
    assert_ne!(
        hosts[1].host_key_fingerprint(),
        hosts[2].host_key_fingerprint()
    );
    assert_ne!(
        hosts[0].host_key_fingerprint(),
        hosts[2].host_key_fingerprint()
    );

    for (i, host) in hosts.iter().enumerate() {
        let session = connector()
            .connect(
                &target(host),
                &pinned(host),
                &password(names[i], passwords[i]),
            )
            .await
            .unwrap();
        assert!(session.host_key_verified());
        assert_eq!(*session.host_key(), fingerprint(host));

        let out = session.run("id -un", None).await.unwrap();
        assert!(out.success(), "{out:?}: {}", out.stderr_lossy());
        assert_eq!(out.stdout_lossy().trim(), names[i]);

        // Real sudo with the password on stdin (sudoers has timestamp_timeout=0).
        let line = format!("{}\n", passwords[i]);
        let out = session
            .run("sudo -S -p '' id -u", Some(line.as_bytes()))
            .await
            .unwrap();
        assert!(out.success(), "{}", out.stderr_lossy());
        assert_eq!(out.stdout_lossy().trim(), "0");

        // Exit statuses come back as they are.
        let out = session.run("exit 7", None).await.unwrap();
        assert_eq!(out.exit_status, Some(7));
        assert!(!out.success());
        session.close().await.unwrap();
    }

    // Each host's user is in its own /etc/shadow and in nobody else's.
    for (i, host) in hosts.iter().enumerate() {
        for (j, name) in names.iter().enumerate() {
            let entry = host.shadow_entry(name).await.unwrap();
            if i == j {
                let entry = entry.unwrap();
                assert!(entry.starts_with(&format!("{name}:$")), "{entry}");
            } else {
                assert_eq!(entry, None, "{name} leaked into host {i}");
            }
        }
    }
    // And none of them is in the machine's.
    let machine = std::fs::read_to_string("/etc/shadow").unwrap();
    for name in names {
        assert!(!machine.contains(&format!("{name}:")));
    }
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_auth_failed() {
    let host = SshHost::start(&[TestUser::new("walter", "right-password")])
        .await
        .unwrap();
    let err = connector()
        .connect(
            &target(&host),
            &pinned(&host),
            &password("walter", "wrong-password"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "auth_failed", "{err}");
    assert_eq!(err.presented_host_key(), Some(&fingerprint(&host)));
    assert!(!err.to_string().contains("wrong-password"));
    assert!(!format!("{err:?}").contains("wrong-password"));
    host.wait_for_auth_log("the failed password", LOG_WAIT, |l| {
        l.contains("Failed password for walter")
    })
    .await
    .unwrap();

    // The right one works, so the refusal was about the password.
    let session = connector()
        .connect(
            &target(&host),
            &pinned(&host),
            &password("walter", "right-password"),
        )
        .await
        .unwrap();
    assert_eq!(
        session
            .run("whoami", None)
            .await
            .unwrap()
            .stdout_lossy()
            .trim(),
        "walter"
    );
}

#[tokio::test]
async fn a_changed_host_key_stops_before_any_credential_is_sent() {
    let host = SshHost::start(&[TestUser::new("mallorytarget", "pinned-pass")])
        .await
        .unwrap();
    let wrong_pin = HostKeyFingerprint::of_blob(b"some other host's key");
    let err = connector()
        .connect(
            &target(&host),
            &HostKeyPolicy::Pinned(wrong_pin.clone()),
            &password("mallorytarget", "pinned-pass"),
        )
        .await
        .unwrap_err();
    match &err {
        SshError::HostKeyMismatch {
            expected,
            presented,
        } => {
            assert_eq!(*expected, wrong_pin);
            assert_eq!(*presented, fingerprint(&host));
        }
        other => panic!("expected a host key mismatch, got {other:?}"),
    }
    assert_eq!(err.code(), "host_key_mismatch");

    // sshd saw the connection end before authentication, and never heard
    // the user name, let alone a password.
    let log = host
        .wait_for_auth_log(
            "the refused connection to end",
            LOG_WAIT,
            preauth_connection_ended,
        )
        .await
        .unwrap();
    assert!(!log.contains("mallorytarget"), "{log}");
    assert!(!log.contains("password"), "{log}");

    // Control: a login attempt with the right pin does show up in that log.
    let err = connector()
        .connect(
            &target(&host),
            &pinned(&host),
            &password("mallorytarget", "not-it"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "auth_failed");
    host.wait_for_auth_log("the control attempt", LOG_WAIT, |l| {
        l.contains("Failed password for mallorytarget")
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn an_unpinned_host_gets_no_password_unless_trust_on_first_use_is_allowed() {
    let host = SshHost::start(&[TestUser::new("newhostuser", "first-contact-pass")])
        .await
        .unwrap();
    let err = connector()
        .connect(
            &target(&host),
            &HostKeyPolicy::unpinned(),
            &password("newhostuser", "first-contact-pass"),
        )
        .await
        .unwrap_err();
    match &err {
        SshError::HostKeyUnverified { presented } => assert_eq!(*presented, fingerprint(&host)),
        other => panic!("expected an unverified host key, got {other:?}"),
    }
    assert_eq!(err.code(), "host_key_unverified");
    let log = host
        .wait_for_auth_log(
            "the refused connection to end",
            LOG_WAIT,
            preauth_connection_ended,
        )
        .await
        .unwrap();
    assert!(!log.contains("newhostuser"), "{log}");

    // fetch_host_key reports the same key without logging in.
    let fetched = connector().fetch_host_key(&target(&host)).await.unwrap();
    assert_eq!(fetched, fingerprint(&host));

    // With an explicit trust-on-first-use decision the password is sent.
    let session = connector()
        .connect(
            &target(&host),
            &HostKeyPolicy::Unpinned {
                trust_on_first_use_for_passwords: true,
            },
            &password("newhostuser", "first-contact-pass"),
        )
        .await
        .unwrap();
    assert!(!session.host_key_verified());
    assert_eq!(*session.host_key(), fingerprint(&host));
    // An explicit trust-on-first-use decision covers what is written into the session too.
    assert!(session.may_receive_secrets());
    let out = session.run("id -un", None).await.unwrap();
    assert_eq!(out.stdout_lossy().trim(), "newhostuser");
}

/// Generates a key pair inside the host, authorizes it for `user` and
/// returns the private key's text.
/// The key files stay in the host's private /home.
async fn authorized_key(host: &SshHost, user: &str, kind: &str, passphrase: &str) -> String {
    let tag = if passphrase.is_empty() {
        "plain"
    } else {
        "protected"
    };
    let path = format!("/home/{user}/test-key-{kind}-{tag}");
    let mut cmd = vec![
        "ssh-keygen",
        "-q",
        "-t",
        kind,
        "-N",
        passphrase,
        "-f",
        &path,
    ];
    if kind == "rsa" {
        cmd.extend(["-b", "2048"]);
    }
    host.run_inside_ok(&cmd).await.unwrap();
    let public = host
        .run_inside_ok(&["cat", &format!("{path}.pub")])
        .await
        .unwrap();
    host.authorize_key(user, &String::from_utf8(public.stdout).unwrap())
        .await
        .unwrap();
    let private = host.run_inside_ok(&["cat", &path]).await.unwrap();
    String::from_utf8(private.stdout).unwrap()
}

#[tokio::test]
async fn key_authentication_works_and_is_allowed_on_unpinned_hosts() {
    let host = SshHost::start(&[TestUser::new("keyuser", "unused-pass")])
        .await
        .unwrap();
    let ed25519 = authorized_key(&host, "keyuser", "ed25519", "").await;
    let rsa = authorized_key(&host, "keyuser", "rsa", "").await;
    let protected = authorized_key(&host, "keyuser", "ed25519", "key-passphrase").await;

    for (pem, passphrase) in [
        (&ed25519, None),
        (&rsa, None),
        (&protected, Some("key-passphrase")),
    ] {
        let creds = SshCredentials::private_key(
            "keyuser",
            SecretString::from(pem.clone()),
            passphrase.map(|p| SecretString::from(p.to_owned())),
        );
        let session = connector()
            .connect(&target(&host), &pinned(&host), &creds)
            .await
            .unwrap();
        let out = session.run("id -un", None).await.unwrap();
        assert_eq!(out.stdout_lossy().trim(), "keyuser");
    }
    let log = host
        .wait_for_auth_log("key logins", LOG_WAIT, |l| {
            l.matches("Accepted publickey for keyuser").count() >= 3
        })
        .await
        .unwrap();
    assert!(log.contains("ED25519") && log.contains("RSA"), "{log}");

    // Unpinned: a key may be used (it proves nothing reusable to a MITM),
    // and the presented key is reported for pinning.
    let creds = SshCredentials::private_key("keyuser", SecretString::from(ed25519.clone()), None);
    let session = connector()
        .connect(&target(&host), &HostKeyPolicy::unpinned(), &creds)
        .await
        .unwrap();
    assert!(!session.host_key_verified());
    assert_eq!(*session.host_key(), fingerprint(&host));
    // ...but nothing may be written into such a session: the command never starts.
    assert!(!session.may_receive_secrets());
    let err = session
        .run(
            "tee /tmp/tumbler-unverified-canary",
            Some(b"canary-Unverified-Stdin"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "host_key_unverified", "{err}");
    assert!(!host.command_log().contains("tumbler-unverified-canary"));
    let out = session.run("id -un", None).await.unwrap();
    assert_eq!(out.stdout_lossy().trim(), "keyuser");

    // A wrong passphrase fails locally, before the network.
    let creds = SshCredentials::private_key(
        "keyuser",
        SecretString::from(protected.clone()),
        Some(SecretString::from("not-the-passphrase")),
    );
    let err = connector()
        .connect(&target(&host), &pinned(&host), &creds)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_private_key", "{err}");

    // A key that is not authorized is refused.
    let other = host
        .run_inside_ok(&[
            "sh",
            "-c",
            "ssh-keygen -q -t ed25519 -N '' -f /home/keyuser/stray && cat /home/keyuser/stray",
        ])
        .await
        .unwrap();
    let creds = SshCredentials::private_key(
        "keyuser",
        SecretString::from(String::from_utf8(other.stdout).unwrap()),
        None,
    );
    let err = connector()
        .connect(&target(&host), &pinned(&host), &creds)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "auth_failed", "{err}");
}

#[tokio::test]
async fn a_canary_password_never_appears_in_any_command_line() {
    let old = "Canary-Old-7f3a9c";
    let new = "Canary-New-2b8e41";
    let host = SshHost::start(&[TestUser::new("canaryuser", old).with_sudo()])
        .await
        .unwrap();
    let session = connector()
        .connect(&target(&host), &pinned(&host), &password("canaryuser", old))
        .await
        .unwrap();
    let shadow_before = host.shadow_entry("canaryuser").await.unwrap().unwrap();

    // Change the password the way the product does: sudo's password and the
    // chpasswd line both on stdin.
    let input = format!("{old}\ncanaryuser:{new}\n");
    let out = session
        .run("sudo -S -p '' /usr/sbin/chpasswd", Some(input.as_bytes()))
        .await
        .unwrap();
    assert!(out.success(), "{}", out.stderr_lossy());
    session.close().await.unwrap();

    let shadow_after = host.shadow_entry("canaryuser").await.unwrap().unwrap();
    assert_ne!(shadow_before, shadow_after);
    let session = connector()
        .connect(&target(&host), &pinned(&host), &password("canaryuser", new))
        .await
        .unwrap();
    assert_eq!(
        session
            .run("id -un", None)
            .await
            .unwrap()
            .stdout_lossy()
            .trim(),
        "canaryuser"
    );
    let err = connector()
        .connect(&target(&host), &pinned(&host), &password("canaryuser", old))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "auth_failed");

    // snoopy saw the commands (so it was watching) but no secret in them.
    let commands = host.command_log();
    assert!(
        commands.contains("chpasswd"),
        "snoopy did not log: {commands}"
    );
    assert!(
        commands.contains("id -un"),
        "snoopy did not log: {commands}"
    );
    for secret in [old, new] {
        assert!(
            !commands.contains(secret),
            "{secret} in a command line:\n{commands}"
        );
        assert!(!host.auth_log().contains(secret));
    }
}

#[tokio::test]
async fn slow_commands_time_out_and_closed_ports_are_unreachable() {
    let host = SshHost::start(&[TestUser::new("slowuser", "slow-pass")])
        .await
        .unwrap();
    let session = connector()
        .with_command_timeout(Duration::from_millis(300))
        .connect(
            &target(&host),
            &pinned(&host),
            &password("slowuser", "slow-pass"),
        )
        .await
        .unwrap();
    let err = session.run("exec sleep 31.7", None).await.unwrap_err();
    assert_eq!(err.code(), "timeout", "{err}");
    // The timed-out command was killed, not left behind on the target.
    let deadline = std::time::Instant::now() + LOG_WAIT;
    loop {
        let found = std::process::Command::new("pgrep")
            .args(["-f", "^sleep 31.7$"])
            .output()
            .unwrap();
        if !found.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the timed-out command is still running"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The session is still usable for the next command.
    assert_eq!(
        session
            .run("echo ok", None)
            .await
            .unwrap()
            .stdout_lossy()
            .trim(),
        "ok"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let err = connector()
        .connect(
            &SshTarget::new("127.0.0.1", port),
            &pinned(&host),
            &password("slowuser", "slow-pass"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "unreachable", "{err}");
}
