//! SSH key pairs: generating one, and reading the public half and fingerprint of a private key.

use russh::keys::ssh_key::private::{KeypairData, RsaKeypair};
use russh::keys::ssh_key::LineEnding;
use russh::keys::{Algorithm, EcdsaCurve, HashAlg, PrivateKey, PublicKey};
use secrecy::{ExposeSecret, SecretString};
use tumbler_domain::ssh_key::KeyAlgorithm;

use super::SshError;

fn key_error(reason: &'static str) -> SshError {
    SshError::InvalidPrivateKey { reason }
}

/// Generates a key pair and returns its private key in OpenSSH format (unencrypted: it is
/// sealed in the vault), with `comment` on its public key.
pub fn generate_key_pair(algorithm: KeyAlgorithm, comment: &str) -> Result<SecretString, SshError> {
    let mut rng = rand::rngs::OsRng;
    let generated = match algorithm {
        KeyAlgorithm::Ed25519 => PrivateKey::random(&mut rng, Algorithm::Ed25519),
        KeyAlgorithm::EcdsaP256 => PrivateKey::random(
            &mut rng,
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256,
            },
        ),
        KeyAlgorithm::EcdsaP384 => PrivateKey::random(
            &mut rng,
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP384,
            },
        ),
        KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
            let bits = match algorithm {
                KeyAlgorithm::Rsa2048 => 2048,
                KeyAlgorithm::Rsa3072 => 3072,
                _ => 4096,
            };
            RsaKeypair::random(&mut rng, bits)
                .and_then(|k| PrivateKey::new(KeypairData::from(k), ""))
        }
    };
    let mut key = generated.map_err(|_| key_error("the key pair could not be generated"))?;
    key.set_comment(comment);
    let pem = key
        .to_openssh(LineEnding::LF)
        .map_err(|_| key_error("the key pair could not be encoded"))?;
    Ok(SecretString::from(pem.as_str().to_owned()))
}

fn decode(pem: &SecretString) -> Result<PrivateKey, SshError> {
    let text = super::key_limits::checked_key_text(pem.expose_secret())?;
    russh::keys::decode_secret_key(text.expose_secret(), None)
        .map_err(|_| key_error("not an unencrypted OpenSSH/PEM private key"))
}

/// The public half of a private key as an `authorized_keys` line (`ssh-ed25519 AAAA... comment`).
pub fn public_key_line(pem: &SecretString) -> Result<String, SshError> {
    let key = decode(pem)?;
    key.public_key()
        .to_openssh()
        .map_err(|_| key_error("the public key could not be encoded"))
}

/// `pem` encrypted with `passphrase` in OpenSSH's format (bcrypt-pbkdf, AES-256-CTR).
pub fn encrypt_private_key(
    pem: &SecretString,
    passphrase: &SecretString,
) -> Result<String, SshError> {
    let key = decode(pem)?;
    let encrypted = key
        .encrypt(
            &mut rand::rngs::OsRng,
            passphrase.expose_secret().as_bytes(),
        )
        .map_err(|_| key_error("the key could not be encrypted"))?;
    let text = encrypted
        .to_openssh(LineEnding::LF)
        .map_err(|_| key_error("the key could not be encoded"))?;
    Ok(text.as_str().to_owned())
}

/// Checks that `pem` is a private key that `passphrase` (if any) opens.
pub fn check_private_key_with(
    pem: &SecretString,
    passphrase: Option<&SecretString>,
) -> Result<(), SshError> {
    let text = super::key_limits::checked_key_text(pem.expose_secret())?;
    russh::keys::decode_secret_key(text.expose_secret(), passphrase.map(|p| p.expose_secret()))
        .map(|_| ())
        .map_err(|e| match e {
            russh::keys::Error::KeyIsEncrypted => {
                key_error("the key is encrypted and needs its passphrase")
            }
            _ => key_error("not an OpenSSH/PEM private key, or the passphrase is wrong"),
        })
}

/// The SHA-256 fingerprint of a private key's public half (`SHA256:...`).
pub fn key_fingerprint(pem: &SecretString) -> Result<String, SshError> {
    Ok(decode(pem)?
        .public_key()
        .fingerprint(HashAlg::Sha256)
        .to_string())
}

/// The SHA-256 fingerprint of a public key in OpenSSH format, if it is one.
pub fn public_key_fingerprint(openssh: &str) -> Option<String> {
    PublicKey::from_openssh(openssh)
        .ok()
        .map(|k| k.fingerprint(HashAlg::Sha256).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_decode_and_match_their_fingerprint() {
        for alg in [
            KeyAlgorithm::Ed25519,
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
        ] {
            let pem = generate_key_pair(alg, "tumbler test").expect("generated");
            assert!(pem
                .expose_secret()
                .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
            let line = public_key_line(&pem).expect("public");
            assert!(line.ends_with(" tumbler test"), "{line}");
            assert_eq!(
                public_key_fingerprint(&line),
                Some(key_fingerprint(&pem).expect("fingerprint"))
            );
        }
        let a = generate_key_pair(KeyAlgorithm::Ed25519, "").expect("a");
        let b = generate_key_pair(KeyAlgorithm::Ed25519, "").expect("b");
        assert_ne!(key_fingerprint(&a).ok(), key_fingerprint(&b).ok());
    }

    #[test]
    fn rsa_keys_have_the_asked_size() {
        let pem = generate_key_pair(KeyAlgorithm::Rsa2048, "").expect("rsa");
        let line = public_key_line(&pem).expect("public");
        assert!(line.starts_with("ssh-rsa "), "{line}");
        let key = PublicKey::from_openssh(&line).expect("parse");
        let bits = key
            .key_data()
            .rsa()
            .map(|k| k.n.as_positive_bytes().map(<[u8]>::len));
        assert_eq!(bits, Some(Some(256)));
    }

    #[test]
    fn an_exported_key_opens_only_with_its_passphrase() {
        let pem = generate_key_pair(KeyAlgorithm::Ed25519, "").expect("key");
        let phrase = SecretString::from("correct horse battery".to_owned());
        let text = encrypt_private_key(&pem, &phrase).expect("encrypted");
        let exported = SecretString::from(text);
        assert!(check_private_key_with(&exported, None).is_err());
        assert!(
            check_private_key_with(&exported, Some(&SecretString::from("wrong".to_owned())))
                .is_err()
        );
        check_private_key_with(&exported, Some(&phrase)).expect("opens");
    }

    #[test]
    fn garbage_is_not_a_key() {
        assert!(public_key_line(&SecretString::from("nope".to_owned())).is_err());
        assert_eq!(public_key_fingerprint("ssh-ed25519 garbage"), None);
    }
}
