//! HTTPS with a configured certificate (rustls), and the refusal of plain HTTP beyond loopback.

use std::process::Command;
use std::sync::Arc;
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
