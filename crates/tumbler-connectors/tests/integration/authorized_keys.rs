//! Editing `authorized_keys` and creating users on real OpenSSH test hosts, through sudo and
//! su: the shell scripts get the username and digests as positional parameters, and no
//! password is ever part of a command line.

use std::time::Duration;

use secrecy::SecretString;
use tumbler_connectors::ssh::{
    add_authorized_key, ensure_user, generate_key_pair, key_fingerprint, public_key_line,
    remove_authorized_keys, Become, HostKeyPolicy, KeyRemoval, SshConnector, SshCredentials,
    SshSession, SshTarget, TargetShell,
};
use tumbler_domain::ssh_key::KeyAlgorithm;
use tumbler_testkit::sshd::{SshHost, TestUser};

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

async fn session(host: &SshHost, user: &str, password: &str) -> SshSession {
    let policy = HostKeyPolicy::Pinned(host.host_key_fingerprint().parse().unwrap());
    SshConnector::new()
        .with_connect_timeout(Duration::from_secs(30))
        .with_command_timeout(Duration::from_secs(30))
        .connect(
            &SshTarget::new(host.address(), host.port()),
            &policy,
            &SshCredentials::password(user, secret(password)),
        )
        .await
        .unwrap()
}

/// A key whose comment the shell would expand or split if it were spliced into a script.
fn key(comment: &str) -> (String, String) {
    let pem = generate_key_pair(KeyAlgorithm::Ed25519, comment).unwrap();
    (
        public_key_line(&pem).unwrap(),
        key_fingerprint(&pem).unwrap(),
    )
}

async fn keys_of(host: &SshHost, user: &str) -> String {
    let path = format!("/home/{user}/.ssh/authorized_keys");
    let out = host.run_inside_ok(&["cat", &path]).await.unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn keys_are_added_and_removed_through_sudo_and_su() {
    let sudo_pw = "Canary-Keys-Sudo-3b1f";
    let root_pw = "Canary-Keys-Root-90ac";
    let host = SshHost::start(&[
        TestUser::new("opsadmin", sudo_pw).with_sudo(),
        TestUser::new("operator1", "operator-pw-3"),
    ])
    .await
    .unwrap();
    host.set_password("root", root_pw).await.unwrap();
    let (a, fp_a) = key("it's $(touch /tmp/pwned) `id` \"a\"");
    let (b, _) = key("b; exit 1");

    let sudo = session(&host, "opsadmin", sudo_pw).await;
    let via_sudo = Become::Sudo(secret(sudo_pw));
    assert!(
        ensure_user(&TargetShell::new(&sudo, &via_sudo, "/bin/sh"), "svc.keys")
            .await
            .unwrap()
    );
    assert!(
        !ensure_user(&TargetShell::new(&sudo, &via_sudo, "/bin/sh"), "svc.keys")
            .await
            .unwrap()
    );
    add_authorized_key(
        &TargetShell::new(&sudo, &via_sudo, "/bin/sh"),
        "svc.keys",
        &a,
    )
    .await
    .unwrap();
    // Adding the same key twice changes nothing.
    add_authorized_key(
        &TargetShell::new(&sudo, &via_sudo, "/bin/sh"),
        "svc.keys",
        &a,
    )
    .await
    .unwrap();
    add_authorized_key(
        &TargetShell::new(&sudo, &via_sudo, "/bin/sh"),
        "svc.keys",
        &b,
    )
    .await
    .unwrap();
    assert_eq!(keys_of(&host, "svc.keys").await, format!("{a}\n{b}\n"));
    let removed = remove_authorized_keys(
        &TargetShell::new(&sudo, &via_sudo, "/bin/sh"),
        "svc.keys",
        KeyRemoval::Fingerprint(&fp_a),
    )
    .await
    .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(keys_of(&host, "svc.keys").await, format!("{b}\n"));
    let err = add_authorized_key(
        &TargetShell::new(&sudo, &via_sudo, "/bin/sh"),
        "no_such_user",
        &a,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "target_refused", "{err}");
    assert!(err.to_string().contains("no_such_user"), "{err}");
    sudo.close().await.unwrap();

    let su = session(&host, "operator1", "operator-pw-3").await;
    let via_su = Become::Su(secret(root_pw));
    add_authorized_key(&TargetShell::new(&su, &via_su, "/bin/sh"), "svc.keys", &a)
        .await
        .unwrap();
    let removed = remove_authorized_keys(
        &TargetShell::new(&su, &via_su, "/bin/sh"),
        "svc.keys",
        KeyRemoval::AllBut(&fp_a),
    )
    .await
    .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(keys_of(&host, "svc.keys").await, format!("{a}\n"));
    su.close().await.unwrap();

    assert!(!std::path::Path::new("/tmp/pwned").exists());
    let commands = host.command_log();
    assert!(
        commands.contains("runuser"),
        "snoopy saw nothing: {commands}"
    );
    for s in [sudo_pw, root_pw, "Canary-Keys"] {
        assert!(!commands.contains(s), "{s} in a command line:\n{commands}");
    }
}
