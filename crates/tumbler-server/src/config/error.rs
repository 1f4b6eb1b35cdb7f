//! Why a configuration was refused.

use std::net::SocketAddr;

/// Why a configuration was refused. Every message names the file or variable and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("config file {path}: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// The file has a key Tumbler does not know.
    #[error("config file {path}: unknown key `{key}`")]
    UnknownKey {
        /// The file.
        path: String,
        /// The dotted key (`database.urll`).
        key: String,
    },
    /// An environment variable is not one Tumbler knows.
    #[error("unknown environment variable {0}; see `tumbler check-config --help` for the list")]
    UnknownEnv(String),
    /// A key's value is wrong: not of its type, out of its range, not a time zone or URL.
    #[error("{message}")]
    Invalid {
        /// The dotted key (`change_secret.time_zone`).
        path: String,
        /// What is wrong, naming the file or variable, the key and the value.
        message: String,
    },
    /// Plain HTTP was asked for on a non-loopback address.
    #[error("listen address {0} is not loopback: configure [tls] cert_file and key_file to serve beyond this machine")]
    PlainHttpNotLoopback(SocketAddr),
}
