//! Reading the configuration through figment: the defaults of the structs, then the TOML
//! file, then `TUMBLER_*` environment variables, where `__` separates nested keys
//! (`TUMBLER_CHANGE_SECRET__TIME_ZONE` sets `change_secret.time_zone`).
//!
//! The variables come in as a list (not read from the process here), so tests stay
//! independent of each other and of the machine's environment.

use super::{Config, ConfigError};
use figment::error::Kind;
use figment::providers::{Format, Serialized, Toml};
use figment::value::Value;
use figment::Figment;
use std::path::Path;

/// The prefix of every variable Tumbler reads.
pub const ENV_PREFIX: &str = "TUMBLER_";

/// `TUMBLER_*` variables read for other purposes than configuration keys.
pub const OTHER_ENV_VARS: &[&str] = &[
    "TUMBLER_CONFIG",
    "TUMBLER_MASTER_KEY",
    "TUMBLER_MASTER_PASSPHRASE",
    "TUMBLER_NEW_MASTER_KEY",
    "TUMBLER_NEW_MASTER_PASSPHRASE",
    "TUMBLER_URL",
];

/// The dotted key a configuration variable sets (`TUMBLER_DATABASE__URL` -> `database.url`),
/// or `None` for a variable that is not a configuration key.
pub fn env_key(var: &str) -> Option<String> {
    if OTHER_ENV_VARS.contains(&var) {
        return None;
    }
    let rest = var.strip_prefix(ENV_PREFIX)?;
    Some(rest.to_ascii_lowercase().replace("__", "."))
}

/// The variable that sets a dotted key (`database.url` -> `TUMBLER_DATABASE__URL`).
pub fn env_var(key: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        key.replace('.', "__").to_ascii_uppercase()
    )
}

/// Where a value came from, for messages.
enum Origin<'a> {
    File(&'a Path),
    Env(&'a [(String, String)]),
}

impl Config {
    /// Loads the configuration from an optional file and the given environment, and checks it.
    pub fn load(file: Option<&Path>, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            // The syntax first: figment's own message for it names no file.
            toml::from_str::<toml::Table>(&text).map_err(|e| ConfigError::Syntax {
                path: path.display().to_string(),
                message: e.message().to_owned(),
            })?;
            figment = figment.merge(Toml::string(&text));
            // The file alone first, so that its errors name the file.
            figment
                .extract::<Config>()
                .map_err(|e| refusal(e, &Origin::File(path)))?;
        }
        for (var, value) in env.iter().filter(|(k, _)| k.starts_with(ENV_PREFIX)) {
            let Some(key) = env_key(var) else { continue };
            if key.is_empty() || key.split('.').any(str::is_empty) {
                return Err(ConfigError::UnknownEnv(var.clone()));
            }
            // Numbers and booleans as such, anything else as a string.
            let value: Value = value.parse().unwrap_or_else(|e| match e {});
            figment = figment.merge(Serialized::default(&key, value));
        }
        let config: Config = figment
            .extract()
            .map_err(|e| refusal(e, &Origin::Env(env)))?;
        config.validate()?;
        Ok(config)
    }
}

/// The first of figment's errors, as ours, naming the key and where it came from.
fn refusal(error: figment::Error, origin: &Origin<'_>) -> ConfigError {
    let Some(error) = error.into_iter().next() else {
        return ConfigError::Invalid {
            path: String::new(),
            message: "invalid configuration".to_owned(),
        };
    };
    let mut key = error.path.join(".");
    let field = match &error.kind {
        Kind::UnknownField(field, _) => Some(field.as_str()),
        Kind::MissingField(field) => Some(field.as_ref()),
        _ => None,
    };
    if let Some(field) = field {
        if !key.ends_with(field) {
            key = if key.is_empty() {
                field.to_string()
            } else {
                format!("{key}.{field}")
            };
        }
    }
    match (origin, &error.kind) {
        (Origin::File(path), Kind::UnknownField(..)) => ConfigError::UnknownKey {
            path: path.display().to_string(),
            key,
        },
        (Origin::Env(env), Kind::UnknownField(..)) => {
            // The variable whose key is, or lies under, the unknown one.
            let var = env
                .iter()
                .map(|(var, _)| var)
                .find(|var| {
                    env_key(var).is_some_and(|k| k == key || k.starts_with(&format!("{key}.")))
                })
                .cloned()
                .unwrap_or_else(|| env_var(&key));
            ConfigError::UnknownEnv(var)
        }
        (Origin::File(path), kind) => ConfigError::Invalid {
            message: format!(
                "config file {}: {key}: {}",
                path.display(),
                what(&key, kind)
            ),
            path: key,
        },
        (Origin::Env(env), kind) => {
            let var = env_var(&key);
            let source = if env.iter().any(|(v, _)| *v == var) {
                format!("environment variable {var}")
            } else {
                "environment".to_owned()
            };
            ConfigError::Invalid {
                message: format!("{source}: {key}: {}", what(&key, kind)),
                path: key,
            }
        }
    }
}

/// What is wrong with a value, without the password of a database URL.
fn what(key: &str, kind: &Kind) -> String {
    match kind {
        Kind::InvalidValue(figment::error::Actual::Str(value), expected)
            if key == "database.url" =>
        {
            format!("invalid value {:?}: {expected}", super::redact_url(value))
        }
        // url's own message quotes the whole value, password and all: keep only its reason.
        Kind::Message(message) if key == "database.url" => match message.split_once(": \"") {
            Some((reason, _)) => format!("not a valid URL: {reason}"),
            None => "not a valid URL".to_owned(),
        },
        _ if key == "database.url" => "not a valid URL".to_owned(),
        kind => kind.to_string(),
    }
}
