//! Generating one-time passwords for console users. The rules their own passwords must meet
//! are in [`crate::password_policy`].

use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use secrecy::SecretString;

/// Characters of generated one-time passwords: no look-alikes, no comma, no quotes.
const GENERATED_ALPHABET: &[u8] =
    b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.+=!@#%";

/// Length of generated one-time passwords.
pub const GENERATED_LENGTH: usize = 24;

/// A random one-time password from the operating system's cryptographic RNG.
pub fn generate_one_time_password() -> SecretString {
    let mut rng = OsRng;
    let s: String = (0..GENERATED_LENGTH)
        .filter_map(|_| GENERATED_ALPHABET.choose(&mut rng).map(|b| *b as char))
        .collect();
    SecretString::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password_policy::{PasswordOwner, PasswordPolicy};
    use secrecy::ExposeSecret;

    #[test]
    fn generated_passwords_meet_the_default_policy_and_differ() {
        let a = generate_one_time_password();
        let b = generate_one_time_password();
        assert_ne!(a.expose_secret(), b.expose_secret());
        let owner = PasswordOwner {
            username: "admin",
            display_name: "Administrator",
            mfa: false,
        };
        assert!(PasswordPolicy::default()
            .check(a.expose_secret(), owner)
            .is_empty());
    }
}
