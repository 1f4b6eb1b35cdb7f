//! Property tests ("fuzzing" on stable Rust) of uploaded key files: OpenSSH and PEM private
//! keys, PuTTY (PPK) private keys and OpenSSH public key lines, as the connector decodes them
//! for a key-based device, an SSH-key account or a key-conflict resolution. Whatever the file
//! holds, decoding never panics and answers a key or the typed `invalid_private_key` error.
//!
//! The PPK mutations recompute the file's MAC so the decoder gets past it; no property passes
//! a passphrase to an encrypted file here, since its key-derivation cost comes from the file
//! (capped separately before decoding).
//!
//! CI runs a small number of cases; `PROPTEST_CASES=N` runs N per property, e.g.
//! `PROPTEST_CASES=5000 cargo nextest run -p tumbler-connectors -E 'test(/key_files/)'`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use proptest::test_runner::Config;
use russh::keys::PrivateKey;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::sync::OnceLock;
use tumbler_connectors::ssh::{
    check_private_key, check_private_key_with, generate_key_pair, key_fingerprint,
    public_key_fingerprint, public_key_line, SshError,
};
use tumbler_domain::ssh_key::KeyAlgorithm;

/// The cases per property: `PROPTEST_CASES` when set (a long run), else `ci_cases`.
fn config(ci_cases: u32) -> Config {
    if std::env::var_os("PROPTEST_CASES").is_some() {
        Config::default()
    } else {
        Config::with_cases(ci_cases)
    }
}

/// A throwaway RSA-2048 key made for these tests with `ssh-keygen` (it opens nothing):
/// generating one per test process takes seconds in a debug build.
const THROWAWAY_RSA: &str = include_str!("fixtures/throwaway_rsa_2048.key");

/// One key per algorithm: Ed25519 and ECDSA generated once, RSA from the fixture.
fn keys() -> &'static [SecretString] {
    static KEYS: OnceLock<Vec<SecretString>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys: Vec<SecretString> = [
            KeyAlgorithm::Ed25519,
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
        ]
        .into_iter()
        .map(|a| generate_key_pair(a, "fuzz@tumbler").unwrap())
        .collect();
        keys.push(SecretString::from(THROWAWAY_RSA.to_owned()));
        keys
    })
}

/// A byte-level edit of a decoded key body.
#[derive(Debug, Clone)]
enum Edit {
    Flip(prop::sample::Index, u8),
    Set(prop::sample::Index, u8),
    Insert(prop::sample::Index, Vec<u8>),
    Remove(prop::sample::Index, usize),
    Truncate(prop::sample::Index),
    /// A 32-bit length or count (SSH's wire format is full of them) set to an edge value.
    Word(prop::sample::Index, u32),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1u8..).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<prop::sample::Index>(), 1usize..32).prop_map(|(i, n)| Edit::Remove(i, n)),
        any::<prop::sample::Index>().prop_map(Edit::Truncate),
        (
            any::<prop::sample::Index>(),
            prop_oneof![
                Just(0u32),
                Just(1),
                Just(0x7fff_ffff),
                Just(u32::MAX),
                any::<u32>()
            ]
        )
            .prop_map(|(i, w)| Edit::Word(i, w)),
    ]
}

fn apply(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for e in edits {
        if bytes.is_empty() {
            bytes.push(0);
        }
        let len = bytes.len();
        match e {
            Edit::Flip(i, b) => bytes[i.index(len)] ^= b,
            Edit::Set(i, b) => bytes[i.index(len)] = *b,
            Edit::Insert(i, b) => {
                let at = i.index(len + 1);
                bytes.splice(at..at, b.iter().copied());
            }
            Edit::Remove(i, n) => {
                let at = i.index(len);
                bytes.drain(at..(at + n).min(len));
            }
            Edit::Truncate(i) => bytes.truncate(i.index(len)),
            Edit::Word(i, w) => {
                let at = i.index(len);
                let end = (at + 4).min(len);
                bytes[at..end].copy_from_slice(&w.to_be_bytes()[..end - at]);
            }
        }
    }
}

/// The armour's label and the base64 body of a PEM-style key file.
fn armoured(pem: &str) -> (String, Vec<u8>) {
    let label = pem
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("-----BEGIN ")
        .trim_end_matches("-----")
        .to_owned();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    (label, STANDARD.decode(body).unwrap())
}

fn armour(label: &str, body: &[u8]) -> String {
    let b64 = STANDARD.encode(body);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Writes an SSH wire-format string.
fn ssh_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_be_bytes());
    out.extend_from_slice(bytes);
}

/// A PuTTY v3 unencrypted key file with a correct MAC over the given blobs.
fn ppk(algorithm: &str, comment: &str, public: &[u8], private: &[u8], extra: &str) -> String {
    let mut mac_data = Vec::new();
    ssh_string(&mut mac_data, algorithm.as_bytes());
    ssh_string(&mut mac_data, b"none");
    ssh_string(&mut mac_data, comment.as_bytes());
    ssh_string(&mut mac_data, public);
    ssh_string(&mut mac_data, private);
    let mut mac = Hmac::<Sha256>::new_from_slice(&[]).unwrap();
    mac.update(&mac_data);
    let mac = hex::encode(mac.finalize().into_bytes());
    let lines = |bytes: &[u8]| -> (usize, String) {
        let b64 = STANDARD.encode(bytes);
        let chunks: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        (chunks.len(), chunks.join("\n"))
    };
    let (np, pub_lines) = lines(public);
    let (nq, priv_lines) = lines(private);
    format!(
        "PuTTY-User-Key-File-3: {algorithm}\nEncryption: none\nComment: {comment}\n{extra}\
         Public-Lines: {np}\n{pub_lines}\nPrivate-Lines: {nq}\n{priv_lines}\nPrivate-MAC: {mac}\n"
    )
}

/// An Ed25519 key whose private half, read as a number, has neither a leading zero byte nor
/// its top bit set: the decoder refuses the 33-byte mpint PuTTY writes for the latter.
fn ppk_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| loop {
        let pem = generate_key_pair(KeyAlgorithm::Ed25519, "fuzz@tumbler").unwrap();
        let key = PrivateKey::from_openssh(pem.expose_secret()).unwrap();
        let first = key.key_data().ed25519().unwrap().private.to_bytes()[0];
        if (1..0x80).contains(&first) {
            return key;
        }
    })
}

/// The public and private blobs of an Ed25519 key, as PuTTY stores them (the private half
/// an mpint).
fn ed25519_blobs() -> (Vec<u8>, Vec<u8>) {
    let key = ppk_key();
    let public = key.public_key().to_bytes().unwrap();
    let secret = key.key_data().ed25519().unwrap().private.to_bytes();
    let mut private = Vec::new();
    ssh_string(&mut private, &secret);
    (public, private)
}

/// Every decoding entry point on one file: a key, `invalid_private_key` or (a key asking for
/// more key derivation than the caps allow) `key_derivation_too_costly`, never a panic.
fn check_file(text: &str) -> Result<(), TestCaseError> {
    let pem = SecretString::from(text.to_owned());
    let results = [
        check_private_key(&pem),
        check_private_key_with(&pem, None),
        key_fingerprint(&pem).map(|f| assert!(f.starts_with("SHA256:"))),
        public_key_line(&pem).map(|line| {
            // What a decoded key hands on is itself a key the decoder reads.
            assert!(public_key_fingerprint(&line).is_some(), "{line}");
        }),
    ];
    for r in results {
        if let Err(e) = r {
            prop_assert!(
                matches!(
                    e,
                    SshError::InvalidPrivateKey { .. } | SshError::KeyDerivationTooCostly { .. }
                ),
                "untyped error {e:?}"
            );
            prop_assert!(
                ["invalid_private_key", "key_derivation_too_costly"].contains(&e.code()),
                "{}",
                e.code()
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn any_text_is_a_key_or_refused(text in ".{0,300}") {
        check_file(&text)?;
    }

    #[test]
    fn any_armoured_bytes_are_a_key_or_refused(
        label in prop::sample::select(&[
            "OPENSSH PRIVATE KEY", "RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY",
            "ENCRYPTED PRIVATE KEY",
        ][..]),
        body in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        check_file(&armour(label, &body))?;
    }

    #[test]
    fn mutated_openssh_keys_are_a_key_or_refused(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let (label, mut body) = armoured(which.get(keys()).expose_secret());
        apply(&mut body, &edits);
        check_file(&armour(&label, &body))?;
    }

    #[test]
    fn mutated_ppk_keys_with_a_valid_mac_are_a_key_or_refused(
        public_edits in prop::collection::vec(edit(), 0..3),
        private_edits in prop::collection::vec(edit(), 0..3),
        algorithm in prop_oneof![
            4 => Just("ssh-ed25519"),
            1 => prop::sample::select(&["ssh-rsa", "ecdsa-sha2-nistp256", "ssh-dss", "nope"][..]),
        ],
        extra in prop_oneof![
            Just(String::new()),
            Just("Argon2-Memory: 18446744073709551615\n".to_owned()),
            Just("Key-Derivation: Argon2id\nArgon2-Passes: 4294967295\n".to_owned()),
            "[A-Za-z-]{1,12}: [0-9]{0,25}\n",
        ],
    ) {
        let (mut public, mut private) = ed25519_blobs();
        apply(&mut public, &public_edits);
        apply(&mut private, &private_edits);
        check_file(&ppk(algorithm, "fuzz", &public, &private, &extra))?;
    }

    #[test]
    fn mutated_ppk_text_is_a_key_or_refused(
        lines_edit in prop::collection::vec((any::<prop::sample::Index>(), prop_oneof![
            Just(String::new()),
            Just("Public-Lines: 18446744073709551615".to_owned()),
            Just("Private-Lines: 4294967295".to_owned()),
            Just("Encryption: aes256-cbc".to_owned()),
            Just("PuTTY-User-Key-File-2: ssh-ed25519".to_owned()),
            ".{0,40}",
        ]), 1..4),
    ) {
        let (public, private) = ed25519_blobs();
        let file = ppk("ssh-ed25519", "fuzz", &public, &private, "");
        let mut lines: Vec<String> = file.lines().map(str::to_owned).collect();
        for (at, line) in lines_edit {
            let i = at.index(lines.len());
            lines[i] = line;
        }
        check_file(&lines.join("\n"))?;
    }

    #[test]
    fn any_public_key_line_has_a_fingerprint_or_none(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 0..4),
        text in ".{0,120}",
        random in any::<bool>(),
    ) {
        let line = if random {
            text
        } else {
            let line = public_key_line(which.get(keys())).unwrap();
            let mut parts: Vec<String> = line.split(' ').map(str::to_owned).collect();
            let mut blob = STANDARD.decode(&parts[1]).unwrap();
            apply(&mut blob, &edits);
            parts[1] = STANDARD.encode(blob);
            parts.join(" ")
        };
        if let Some(f) = public_key_fingerprint(&line) {
            prop_assert!(f.starts_with("SHA256:"));
        }
    }

    /// The cost check and the decoder read the same block: whatever is put around a key's
    /// lines (an indented marker, text, a second block, CRLF, blank lines), the file is
    /// either that very key or refused as unreadable, never another key the check did not see.
    #[test]
    fn a_key_in_any_framing_is_that_key_or_refused(
        which in any::<prop::sample::Index>(),
        other in any::<prop::sample::Index>(),
        before in prop::sample::select(&["", "\n", " \n\t\n", "junk\n", " ", "OTHER"][..]),
        after in prop::sample::select(&["", "\n", "\n \n", "junk\n", "OTHER"][..]),
        indent in prop::sample::select(&["", " ", "\t"][..]),
        crlf in any::<bool>(),
    ) {
        let key = which.get(keys()).expose_secret();
        let other = other.get(keys()).expose_secret();
        let framed = format!(
            "{}{indent}{key}{}",
            before.replace("OTHER", other),
            after.replace("OTHER", other),
        );
        let framed = if crlf { framed.replace('\n', "\r\n") } else { framed };
        let expected = key_fingerprint(which.get(keys())).unwrap();
        match key_fingerprint(&SecretString::from(framed.clone())) {
            Ok(f) => prop_assert_eq!(f, expected, "{}", framed),
            Err(e) => prop_assert_eq!(e.code(), "invalid_private_key", "{}", framed),
        }
    }
}

/// A decoy block (its `BEGIN` line indented, which the decoder skips) before a key asking
/// for `u32::MAX` bcrypt rounds is refused as unreadable, not decoded.
#[test]
fn a_decoy_block_before_a_costly_key_is_refused() {
    let cheap = keys()[0].expose_secret();
    let (label, mut body) = armoured(cheap);
    // Make the real block a bcrypt one with u32::MAX rounds: magic, cipher, KDF, options.
    let mut blob = b"openssh-key-v1\0".to_vec();
    ssh_string(&mut blob, b"aes256-ctr");
    ssh_string(&mut blob, b"bcrypt");
    let mut options = Vec::new();
    ssh_string(&mut options, &[7; 16]);
    options.extend_from_slice(&u32::MAX.to_be_bytes());
    ssh_string(&mut blob, &options);
    blob.extend_from_slice(&body[blob.len().min(body.len())..]);
    body = blob;
    let file = format!(" {cheap}\n{}", armour(&label, &body));
    let err = check_private_key_with(
        &SecretString::from(file),
        Some(&SecretString::from("x".to_owned())),
    )
    .unwrap_err();
    assert_eq!(err.code(), "invalid_private_key");
}

/// The PPK builder makes a file the decoder accepts, so the mutations above start from a
/// valid key.
#[test]
fn the_unmutated_ppk_file_is_a_valid_key() {
    let (public, private) = ed25519_blobs();
    let file = SecretString::from(ppk("ssh-ed25519", "fuzz", &public, &private, ""));
    assert_eq!(
        key_fingerprint(&file).unwrap(),
        ppk_key()
            .public_key()
            .fingerprint(russh::keys::HashAlg::Sha256)
            .to_string()
    );
}
