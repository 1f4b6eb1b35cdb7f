//! `[database]`: Tumbler's own store, and the redaction of its URL for messages.

use serde::Deserialize;

/// `[database]`. Its `Debug` shows the URL without its password.
#[derive(Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `postgres://...`; unset means SQLite in the data directory.
    pub url: Option<url::Url>,
}

impl DatabaseConfig {
    /// The URL with its password (in the user information or a `password` parameter)
    /// replaced by `***`, for messages and `check-config`.
    pub fn url_redacted(&self) -> Option<String> {
        self.url.as_ref().map(|u| redact_url(u.as_str()))
    }
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &self.url_redacted())
            .finish()
    }
}

/// `url` with the password of its user information and the value of any `password`
/// query parameter replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let mut out = match head.find("://") {
        Some(scheme) => {
            let rest = &head[scheme + 3..];
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let authority = &rest[..authority_end];
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split_once(':').map(|(u, _)| u);
                    format!(
                        "{}{}@{host}{}",
                        &head[..scheme + 3],
                        user.map(|u| format!("{u}:***"))
                            .unwrap_or_else(|| userinfo.to_owned()),
                        &rest[authority_end..]
                    )
                }
                None => head.to_owned(),
            }
        }
        None => head.to_owned(),
    };
    if let Some(q) = query {
        let params: Vec<String> = q
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}
