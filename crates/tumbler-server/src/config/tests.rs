//! Loading and checking the configuration.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn unknown_file_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.toml");
    std::fs::write(&p, "[database]\nurll = \"x\"\n").unwrap();
    let err = Config::load(Some(&p), &[]).unwrap_err().to_string();
    assert!(err.contains("urll"), "{err}");
}

#[test]
fn env_overrides_file_and_nests() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.toml");
    std::fs::write(&p, "[auth]\ntemporary_password_hours = 3\n").unwrap();
    let c = Config::load(
        Some(&p),
        &env(&[
            ("TUMBLER_DATABASE__URL", "postgres://x/y"),
            ("TUMBLER_AUTH__TEMPORARY_PASSWORD_HOURS", "9"),
        ]),
    )
    .unwrap();
    assert_eq!(
        c.database.url.as_ref().map(url::Url::as_str),
        Some("postgres://x/y")
    );
    assert_eq!(c.auth.temporary_password_hours, 9);
}

#[test]
fn the_database_password_never_shows_in_debug() {
    for url in [
        "postgres://tumbler:canary-db-pw@db.example:5432/tumbler",
        "postgres://tumbler@db.example/tumbler?sslmode=verify-full&password=canary-db-pw",
    ] {
        let c = Config {
            database: DatabaseConfig {
                url: Some(url.parse().unwrap()),
            },
            ..Config::default()
        };
        for text in [format!("{c:?}"), format!("{:#?}", c.database)] {
            assert!(!text.contains("canary-db-pw"), "{text}");
            assert!(
                text.contains("db.example"),
                "the rest stays readable: {text}"
            );
        }
    }
    assert_eq!(
        redact_url("postgres://u:s3cret@h/db?sslmode=require"),
        "postgres://u:***@h/db?sslmode=require"
    );
    assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
}

#[test]
fn unknown_env_is_named_and_plain_http_stays_on_loopback() {
    let err = Config::load(None, &env(&[("TUMBLER_DATABSE__URL", "x")])).unwrap_err();
    assert!(err.to_string().contains("TUMBLER_DATABSE__URL"));
    let err = Config::load(None, &env(&[("TUMBLER_LISTEN", "0.0.0.0:8080")])).unwrap_err();
    assert!(matches!(err, ConfigError::PlainHttpNotLoopback(_)));
}

#[test]
fn counts_and_durations_are_bounded() {
    for (key, value) in [
        ("TUMBLER_AUTH__TEMPORARY_PASSWORD_HOURS", "4294967295"),
        ("TUMBLER_AUTH__SOURCE_WINDOW_MINUTES", "0"),
        (
            "TUMBLER_CHANGE_SECRET__ACCOUNT_TIMEOUT_SECONDS",
            "4294967295",
        ),
        ("TUMBLER_DRIFT__INTERVAL_SECONDS", "59"),
        ("TUMBLER_DRIFT__INTERVAL_SECONDS", "4294967295"),
        ("TUMBLER_DRIFT__CONCURRENCY", "0"),
        ("TUMBLER_DRIFT__CONCURRENCY", "65"),
    ] {
        let err = Config::load(
            None,
            &env(&[("TUMBLER_LISTEN", "127.0.0.1:0"), (key, value)]),
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { .. }), "{key}: {err}");
    }
}

#[test]
fn time_zone_must_be_an_iana_name() {
    let ok = Config::load(
        None,
        &env(&[("TUMBLER_CHANGE_SECRET__TIME_ZONE", "Europe/Berlin")]),
    )
    .unwrap();
    assert_eq!(ok.change_secret.time_zone, chrono_tz::Tz::Europe__Berlin);
    let err = Config::load(
        None,
        &env(&[("TUMBLER_CHANGE_SECRET__TIME_ZONE", "Mars/Olympus")]),
    )
    .unwrap_err();
    assert!(
        matches!(&err, ConfigError::Invalid { path, .. } if path == "change_secret.time_zone"),
        "{err}"
    );
    assert!(err.to_string().contains("Mars/Olympus"), "{err}");
}

#[test]
fn drift_settings_have_defaults_and_turn_off_with_zero() {
    let d = Config::load(None, &env(&[])).unwrap().drift;
    assert_eq!(
        (d.interval_seconds, d.concurrency, d.auto_reconcile),
        (86_400, 4, false)
    );
    let c = Config::load(
        None,
        &env(&[
            ("TUMBLER_DRIFT__INTERVAL_SECONDS", "0"),
            ("TUMBLER_DRIFT__CONCURRENCY", "8"),
            ("TUMBLER_DRIFT__AUTO_RECONCILE", "true"),
        ]),
    )
    .unwrap()
    .drift;
    assert_eq!(
        (c.interval_seconds, c.concurrency, c.auto_reconcile),
        (0, 8, true)
    );
}

/// Every variable the README, `check-config --help` and the scripts name sets its key.
#[test]
fn every_documented_variable_sets_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).display().to_string();
    let vars = [
        ("TUMBLER_DATA_DIR", d("data")),
        ("TUMBLER_LISTEN", "127.0.0.1:9090".to_owned()),
        (
            "TUMBLER_PUBLIC_URL",
            "https://tumbler.example.com/".to_owned(),
        ),
        (
            "TUMBLER_DATABASE__URL",
            "postgres://u:pw@db.example/t".to_owned(),
        ),
        ("TUMBLER_TLS__CERT_FILE", d("cert.pem")),
        ("TUMBLER_TLS__KEY_FILE", d("key.pem")),
        ("TUMBLER_TLS__CLIENT_CA_FILE", d("ca.pem")),
        ("TUMBLER_VAULT__MASTER_KEY_SOURCE", "passphrase".to_owned()),
        ("TUMBLER_VAULT__MASTER_KEY_FILE", d("mk")),
        ("TUMBLER_AUTH__TEMPORARY_PASSWORD_HOURS", "5".to_owned()),
        ("TUMBLER_AUTH__MAX_FAILURES_PER_SOURCE", "6".to_owned()),
        ("TUMBLER_AUTH__SOURCE_WINDOW_MINUTES", "7".to_owned()),
        ("TUMBLER_CHANGE_SECRET__SECURE_MODE", "false".to_owned()),
        ("TUMBLER_CHANGE_SECRET__MAX_PARALLEL_ASSETS", "8".to_owned()),
        (
            "TUMBLER_CHANGE_SECRET__ACCOUNT_TIMEOUT_SECONDS",
            "9".to_owned(),
        ),
        ("TUMBLER_CHANGE_SECRET__MAX_ATTEMPTS", "2".to_owned()),
        ("TUMBLER_CHANGE_SECRET__NODE_NAME", "node-a".to_owned()),
        (
            "TUMBLER_CHANGE_SECRET__TIME_ZONE",
            "Europe/Berlin".to_owned(),
        ),
        ("TUMBLER_DRIFT__INTERVAL_SECONDS", "600".to_owned()),
        ("TUMBLER_DRIFT__CONCURRENCY", "3".to_owned()),
        ("TUMBLER_DRIFT__AUTO_RECONCILE", "true".to_owned()),
        ("TUMBLER_ESCROW__JOURNAL_DIR", d("j")),
        ("TUMBLER_ESCROW__COPY_DIR", d("j2")),
        ("TUMBLER_ESCROW__KEEP_DAYS", "30".to_owned()),
        ("TUMBLER_ESCROW__RECONCILE_AFTER_RESTORE", "true".to_owned()),
        ("TUMBLER_LOG__FORMAT", "json".to_owned()),
        ("TUMBLER_LOG__LEVEL", "debug".to_owned()),
        // Not configuration keys: read elsewhere, never refused here.
        ("TUMBLER_CONFIG", "ignored".to_owned()),
        ("TUMBLER_MASTER_KEY", "ignored".to_owned()),
        ("TUMBLER_MASTER_PASSPHRASE", "ignored".to_owned()),
        ("TUMBLER_NEW_MASTER_KEY", "ignored".to_owned()),
        ("TUMBLER_NEW_MASTER_PASSPHRASE", "ignored".to_owned()),
        ("TUMBLER_URL", "ignored".to_owned()),
    ];
    let env: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let c = Config::load(None, &env).unwrap();
    assert_eq!(c.data_dir, dir.path().join("data"));
    assert_eq!(c.listen.port(), 9090);
    assert_eq!(c.public_url(), "https://tumbler.example.com");
    assert_eq!(c.database_url(), "postgres://u:pw@db.example/t");
    let tls = c.tls.as_ref().unwrap();
    assert_eq!(
        (&tls.cert_file, &tls.key_file, tls.client_ca_file.as_ref()),
        (
            &dir.path().join("cert.pem"),
            &dir.path().join("key.pem"),
            Some(&dir.path().join("ca.pem"))
        )
    );
    assert_eq!(c.vault.master_key_source, MasterKeySourceKind::Passphrase);
    assert_eq!(c.master_key_file(), dir.path().join("mk"));
    assert_eq!(
        (
            c.auth.temporary_password_hours,
            c.auth.max_failures_per_source,
            c.auth.source_window_minutes
        ),
        (5, 6, 7)
    );
    let cs = &c.change_secret;
    assert_eq!(
        (
            cs.secure_mode,
            cs.max_parallel_assets,
            cs.account_timeout_seconds,
            cs.max_attempts
        ),
        (false, 8, 9, 2)
    );
    assert_eq!(cs.node_name.as_deref(), Some("node-a"));
    assert_eq!(cs.time_zone, chrono_tz::Tz::Europe__Berlin);
    assert_eq!(
        (
            c.drift.interval_seconds,
            c.drift.concurrency,
            c.drift.auto_reconcile
        ),
        (600, 3, true)
    );
    assert_eq!(c.journal_dir(), dir.path().join("j"));
    assert_eq!(c.escrow.copy_dir.as_ref(), Some(&dir.path().join("j2")));
    assert_eq!(
        (c.escrow.keep_days, c.escrow.reconcile_after_restore),
        (30, true)
    );
    assert_eq!(
        (c.log.format, c.log.level.as_str()),
        (LogFormat::Json, "debug")
    );
}

#[test]
fn unknown_keys_are_refused_by_name_in_the_file_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.toml");
    std::fs::write(&p, "lissen = \"127.0.0.1:1\"\n").unwrap();
    let err = Config::load(Some(&p), &[]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::UnknownKey { key, .. } if key == "lissen"),
        "{err}"
    );
    std::fs::write(&p, "[change_secret]\nmax_attempt = 2\n").unwrap();
    let err = Config::load(Some(&p), &[]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::UnknownKey { key, .. } if key == "change_secret.max_attempt"),
        "{err}"
    );
    assert!(err.to_string().contains("t.toml"), "{err}");
    // A misspelt variable under a section the file also sets is still the variable's fault.
    std::fs::write(&p, "[drift]\nconcurrency = 2\n").unwrap();
    let err = Config::load(Some(&p), &env(&[("TUMBLER_DRIFT__CONCURENCY", "3")])).unwrap_err();
    assert!(
        matches!(&err, ConfigError::UnknownEnv(var) if var == "TUMBLER_DRIFT__CONCURENCY"),
        "{err}"
    );
    let err = Config::load(None, &env(&[("TUMBLER_FOO__BAR", "1")])).unwrap_err();
    assert!(
        matches!(&err, ConfigError::UnknownEnv(var) if var == "TUMBLER_FOO__BAR"),
        "{err}"
    );
}

#[test]
fn a_bad_value_names_its_key_source_and_value() {
    let err = Config::load(None, &env(&[("TUMBLER_PUBLIC_URL", "not a url")])).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(&err, ConfigError::Invalid { path, .. } if path == "public_url"),
        "{text}"
    );
    assert!(
        text.contains("TUMBLER_PUBLIC_URL") && text.contains("not a url"),
        "{text}"
    );
    let err = Config::load(None, &env(&[("TUMBLER_PUBLIC_URL", "ftp://x.example")])).unwrap_err();
    assert!(
        matches!(&err, ConfigError::Invalid { path, .. } if path == "public_url"),
        "{err}"
    );
    let err = Config::load(None, &env(&[("TUMBLER_DRIFT__CONCURRENCY", "many")])).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("TUMBLER_DRIFT__CONCURRENCY") && text.contains("many"),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.toml");
    std::fs::write(&p, "[change_secret]\ntime_zone = \"Mars/Olympus\"\n").unwrap();
    let err = Config::load(Some(&p), &[]).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(&err, ConfigError::Invalid { path, .. } if path == "change_secret.time_zone"),
        "{text}"
    );
    assert!(
        text.contains("t.toml") && text.contains("Mars/Olympus"),
        "{text}"
    );
    std::fs::write(&p, "[database\n").unwrap();
    let err = Config::load(Some(&p), &[]).unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");
}

#[test]
fn a_bad_database_url_is_refused_without_its_password() {
    let err = Config::load(
        None,
        &env(&[("TUMBLER_DATABASE__URL", "postgres://u:canary-pw@[bad/t")]),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(&err, ConfigError::Invalid { path, .. } if path == "database.url"),
        "{text}"
    );
    assert!(!text.contains("canary-pw"), "{text}");
}

#[test]
fn every_key_is_listed_from_the_structs_and_each_variable_is_accepted() {
    let keys = super::config_keys();
    for expected in [
        "data_dir",
        "database.url",
        "change_secret.time_zone",
        "auth.sensitive_window_minutes",
        "audit.export_max_rows",
        "log.format",
    ] {
        assert!(keys.iter().any(|k| k == expected), "{expected} in {keys:?}");
    }
    assert!(keys.len() >= 30, "{keys:?}");
    // Each listed key's variable is one the loader knows (an unknown one would be refused
    // by name): set to a value of the wrong kind, it is refused for its value, never as
    // unknown.
    for key in &keys {
        let var = super::env_var(key);
        let refused = Config::load(None, &[(var.clone(), "[".to_owned())]);
        if let Err(e) = refused {
            assert!(!matches!(e, ConfigError::UnknownEnv(_)), "{var}: {e}");
        }
    }
}
