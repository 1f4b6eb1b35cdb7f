//! Property-based fuzzing of private-key parsing (uploaded key files: SSH-key accounts, a
//! custom key for a key conflict): arbitrary text, PEM-looking blocks around random bytes,
//! and real keys with bytes flipped. No input panics; work stays bounded (no passphrase is
//! given, so no key-derivation function runs on file-chosen parameters). Short by default
//! (64 cases); longer with `PROPTEST_CASES=100000 cargo test -p tumbler-connectors --test
//! integration key_fuzz`.

use base64::Engine;
use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretString};
use tumbler_connectors::ssh::{
    check_private_key, generate_key_pair, key_fingerprint, public_key_line,
};
use tumbler_domain::ssh_key::KeyAlgorithm;

fn config() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 64;
    }
    c.failure_persistence = None;
    c
}

/// Every parser of a private key, on one input: none may panic.
fn parse_all(text: &str) {
    let pem = SecretString::from(text.to_owned());
    let checked = check_private_key(&pem);
    let line = public_key_line(&pem);
    let fingerprint = key_fingerprint(&pem);
    // The parsers agree on whether this is a usable key.
    assert_eq!(
        checked.is_ok(),
        line.is_ok(),
        "check and public line disagree"
    );
    assert_eq!(
        line.is_ok(),
        fingerprint.is_ok(),
        "public line and fingerprint disagree"
    );
}

fn armour(label: &str, body: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(body);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(70)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The body of an OpenSSH private key file: magic, then length-prefixed fields whose
/// values are mostly plausible and sometimes not.
fn openssh_body() -> impl Strategy<Value = Vec<u8>> {
    let string = |options: Vec<&'static str>| {
        prop_oneof![
            4 => prop::sample::select(options).prop_map(|s| s.as_bytes().to_vec()),
            1 => prop::collection::vec(any::<u8>(), 0..40),
        ]
    };
    (
        string(vec!["none", "aes256-ctr", "aes256-gcm@openssh.com"]),
        string(vec!["none", "bcrypt"]),
        prop::collection::vec(any::<u8>(), 0..24),
        any::<u32>(),
        prop::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(cipher, kdf, kdf_options, count, rest)| {
            let mut out = b"openssh-key-v1\0".to_vec();
            for field in [&cipher, &kdf, &kdf_options] {
                out.extend_from_slice(&(field.len() as u32).to_be_bytes());
                out.extend_from_slice(field);
            }
            out.extend_from_slice(&count.to_be_bytes());
            out.extend_from_slice(&rest);
            out
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_is_refused_without_panicking(text in ".{0,400}") {
        parse_all(&text);
    }

    #[test]
    fn pem_blocks_of_random_bytes_are_refused_without_panicking(
        label in prop::sample::select(vec![
            "OPENSSH PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY",
            "ENCRYPTED PRIVATE KEY", "DSA PRIVATE KEY", "CERTIFICATE",
        ]),
        body in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        parse_all(&armour(label, &body));
    }

    #[test]
    fn openssh_key_files_with_random_fields_are_refused_without_panicking(body in openssh_body()) {
        parse_all(&armour("OPENSSH PRIVATE KEY", &body));
    }

    #[test]
    fn real_keys_with_flipped_bytes_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        truncate in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let pem = generate_key_pair(KeyAlgorithm::Ed25519, "fuzz").unwrap();
        let text = pem.expose_secret();
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let mut bytes = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= value | 1;
        }
        if let Some(at) = truncate {
            bytes.truncate(at.index(bytes.len()));
        }
        parse_all(&armour("OPENSSH PRIVATE KEY", &bytes));
    }
}
