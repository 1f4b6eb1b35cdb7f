//! PostgreSQL's SCRAM-SHA-256 password verifier, computed here (by `postgres-protocol`, which
//! applies SASLprep as PostgreSQL and libpq do) so that `ALTER ROLE ... PASSWORD` carries the
//! verifier and the clear password never reaches the server, its statement log or its
//! replication stream.

/// Why a password cannot be turned into a verifier. Never carries the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnsupportedPassword {
    /// It holds a NUL character, which no PostgreSQL client can send.
    #[error("a password with a NUL character cannot log in to PostgreSQL")]
    Nul,
    /// SASLprep changes it (compatibility characters such as ligatures, non-ASCII spaces,
    /// characters it removes or prohibits): clients disagree on what to send for it (libpq
    /// normalises it, sqlx, which Tumbler logs in with, does not), so it could not be verified.
    #[error(
        "a password that SASLprep would normalise (ligatures, non-ASCII spaces, control \
         characters...) cannot be sent as a SCRAM verifier"
    )]
    NotNormalised,
}

/// The verifier for `password` with a fresh random 16-byte salt and PostgreSQL's default
/// 4096 iterations: `SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>`. Any Unicode password
/// that SASLprep leaves as it is is accepted (letters with accents, other scripts, symbols);
/// see [`UnsupportedPassword`] for the rest.
pub fn scram_sha256_verifier(password: &str) -> Result<String, UnsupportedPassword> {
    if password.contains('\0') {
        return Err(UnsupportedPassword::Nul);
    }
    match stringprep::saslprep(password) {
        Ok(prepared) if prepared == password => {}
        _ => return Err(UnsupportedPassword::NotNormalised),
    }
    Ok(postgres_protocol::password::scram_sha_256(
        password.as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    #[test]
    fn verifiers_have_postgresqls_shape_and_a_fresh_salt() {
        let a = scram_sha256_verifier("pässword ✓").expect("unicode");
        let b = scram_sha256_verifier("pässword ✓").expect("unicode");
        assert_ne!(a, b);
        assert!(!a.contains("pässword"));
        let rest = a.strip_prefix("SCRAM-SHA-256$4096:").expect("prefix");
        let (salt, keys) = rest.split_once('$').expect("salt");
        assert_eq!(STANDARD.decode(salt).expect("base64").len(), 16);
        let (stored, server) = keys.split_once(':').expect("keys");
        assert_eq!(STANDARD.decode(stored).expect("base64").len(), 32);
        assert_eq!(STANDARD.decode(server).expect("base64").len(), 32);
    }

    #[test]
    fn passwords_that_saslprep_would_change_are_refused() {
        use UnsupportedPassword::*;
        assert_eq!(scram_sha256_verifier("a\0b"), Err(Nul));
        // A ligature (NFKC), a no-break space (mapped to a space), a soft hyphen (removed),
        // a control character (prohibited).
        for p in ["\u{FB01}x", "a\u{A0}b", "a\u{AD}b", "a\u{7}b"] {
            assert_eq!(scram_sha256_verifier(p), Err(NotNormalised), "{p:?}");
        }
        for p in ["plain ascii ~!@#$%^&*()'\"", "pässwörd", "日本語-✓-Ωmega"] {
            scram_sha256_verifier(p).expect(p);
        }
    }
}
