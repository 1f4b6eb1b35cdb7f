//! Credentials for an SSH login. Secrets stay in `secrecy` types and are
//! never printed.

use std::fmt;

use secrecy::SecretString;

/// The secret half of an SSH login.
pub enum SshSecret {
    /// A password, sent with the `password` method.
    Password(SecretString),
    /// An OpenSSH private key (PEM text), optionally encrypted.
    PrivateKey {
        /// The key file's text (`-----BEGIN OPENSSH PRIVATE KEY-----` ...).
        pem: SecretString,
        /// The passphrase, if the key is encrypted.
        passphrase: Option<SecretString>,
    },
}

impl SshSecret {
    /// Whether this is a password (which needs a verified host key).
    pub fn is_password(&self) -> bool {
        matches!(self, Self::Password(_))
    }
}

impl fmt::Debug for SshSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Password(_) => f.write_str("Password(<redacted>)"),
            Self::PrivateKey { passphrase, .. } => f
                .debug_struct("PrivateKey")
                .field("pem", &"<redacted>")
                .field("passphrase", &passphrase.as_ref().map(|_| "<redacted>"))
                .finish(),
        }
    }
}

/// A user name and its secret.
#[derive(Debug)]
pub struct SshCredentials {
    /// The login name on the target.
    pub username: String,
    /// The password or private key.
    pub secret: SshSecret,
}

impl SshCredentials {
    /// Password credentials.
    pub fn password(username: impl Into<String>, password: SecretString) -> Self {
        Self {
            username: username.into(),
            secret: SshSecret::Password(password),
        }
    }

    /// Private-key credentials (OpenSSH PEM text, optional passphrase).
    pub fn private_key(
        username: impl Into<String>,
        pem: SecretString,
        passphrase: Option<SecretString>,
    ) -> Self {
        Self {
            username: username.into(),
            secret: SshSecret::PrivateKey { pem, passphrase },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let creds = SshCredentials::password("root", SecretString::from("hunter2-canary"));
        let text = format!("{creds:?}");
        assert!(text.contains("root"));
        assert!(!text.contains("hunter2-canary"));
        let creds = SshCredentials::private_key(
            "root",
            SecretString::from("PEM-canary"),
            Some(SecretString::from("phrase-canary")),
        );
        let text = format!("{creds:?}");
        assert!(!text.contains("PEM-canary"));
        assert!(!text.contains("phrase-canary"));
    }
}
