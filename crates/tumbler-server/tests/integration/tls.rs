//! HTTPS with a configured certificate (rustls), and the refusal of plain HTTP beyond loopback.

use std::process::Command;
use std::sync::Arc;
use tumbler_api_types::auth::MeOut;
use tumbler_core::MasterKeySource;
use tumbler_domain::SystemClock;
use tumbler_server::config::{Config, TlsConfig};

#[tokio::test]
async fn serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = Config {
        data_dir: dir.path().join("data"),
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: Some(TlsConfig {
            cert_file: cert.clone(),
            key_file: key,
            client_ca_file: None,
        }),
        ..Config::default()
    };
    let master = MasterKeySource::File {
        path: config.master_key_file(),
        create: true,
    };
    let server = tumbler_server::start(&config, &master, Arc::new(SystemClock))
        .await
        .unwrap();
    assert!(server.url().starts_with("https://"));
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let res = client
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age="));
    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/healthz", server.addr))
        .send()
        .await;
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));
    server.shutdown();
    server.wait().await.unwrap();
}

#[tokio::test]
async fn plain_http_beyond_loopback_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        listen: "0.0.0.0:0".parse().unwrap(),
        ..Config::default()
    };
    let master = MasterKeySource::File {
        path: config.master_key_file(),
        create: true,
    };
    let err = tumbler_server::start(&config, &master, Arc::new(SystemClock))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("not loopback"), "{err}");
    assert!(
        !dir.path().join("tumbler.db").exists(),
        "nothing created before refusing"
    );
}

/// Runs `openssl` with `args`, panicking with its stderr if it fails.
pub(super) fn openssl(args: &[&str]) {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate, and two client certificates signed by the CA.
pub(super) fn pki(dir: &std::path::Path) -> std::path::PathBuf {
    let p = |f: &str| dir.join(f).to_str().unwrap().to_owned();
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Test CA",
        "-keyout",
        &p("ca.key"),
        "-out",
        &p("ca.pem"),
    ]);
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-keyout",
        &p("server.key"),
        "-out",
        &p("server.pem"),
    ]);
    std::fs::write(dir.join("client.ext"), "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n").unwrap();
    for who in ["alice", "mallory"] {
        openssl(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            &format!("/CN={who}"),
            "-keyout",
            &p(&format!("{who}.key")),
            "-out",
            &p(&format!("{who}.csr")),
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            &p(&format!("{who}.csr")),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            &p("client.ext"),
            "-out",
            &p(&format!("{who}.pem")),
        ]);
    }
    dir.to_path_buf()
}

#[tokio::test]
async fn a_registered_client_certificate_logs_its_user_in() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let read = |f: &str| std::fs::read(pki.join(f)).unwrap();
    let config = Config {
        data_dir: dir.path().join("data"),
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: Some(TlsConfig {
            cert_file: pki.join("server.pem"),
            key_file: pki.join("server.key"),
            client_ca_file: Some(pki.join("ca.pem")),
        }),
        ..Config::default()
    };
    let master = MasterKeySource::File {
        path: config.master_key_file(),
        create: true,
    };
    let server = tumbler_server::start(&config, &master, Arc::new(SystemClock))
        .await
        .unwrap();
    let temp =
        secrecy::ExposeSecret::expose_secret(server.initial_admin_password.as_ref().unwrap())
            .to_owned();
    let root = reqwest::Certificate::from_pem(&read("server.pem")).unwrap();
    let plain = reqwest::Client::builder()
        .add_root_certificate(root.clone())
        .build()
        .unwrap();
    let with = |who: &str| {
        let mut pem = read(&format!("{who}.key"));
        pem.extend(read(&format!("{who}.pem")));
        reqwest::Client::builder()
            .add_root_certificate(root.clone())
            .identity(reqwest::Identity::from_pem(&pem).unwrap())
            .build()
            .unwrap()
    };
    let url = |path: &str| format!("{}{path}", server.url());
    let pw = "Certificate-Test-Passphrase-5";
    let res = plain
        .post(url("/api/v1/users/me/password"))
        .basic_auth("admin", Some(&temp))
        .json(&serde_json::json!({"old_password": temp, "new_password": pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // Registered from a connection that presents it (proof of its private key).
    let res = with("alice")
        .post(url("/api/v1/users/me/certificates"))
        .basic_auth("admin", Some(pw))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    assert_eq!(
        plain
            .get(url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "no certificate, no login"
    );
    let res = with("alice")
        .get(url("/api/v1/users/me"))
        .send()
        .await
        .unwrap();
    let status = res.status();
    assert_eq!(status, 200);
    let me: MeOut = res.json().await.unwrap();
    assert_eq!(
        me.user.username, "admin",
        "the registered certificate logs its user in"
    );
    assert_eq!(
        with("mallory")
            .get(url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "signed by the CA but not registered"
    );
    server.shutdown();
    server.wait().await.unwrap();
}
