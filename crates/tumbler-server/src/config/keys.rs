//! Every configuration key, read from the structs themselves: meeting an unknown field, serde
//! names the fields the section expects, so probing each section with one lists its keys,
//! and a key that answers with anything else is a value. `tumbler check-config --help` lists
//! the variables from this, so the list cannot drift from the structs.

use super::Config;
use figment::error::Kind;
use figment::providers::Serialized;
use figment::Figment;

/// The field name the probe uses; no configuration key is called this.
const PROBE: &str = "__probe";

/// The fields the section at `prefix` (dotted; empty for the top) expects, or `None` when
/// `prefix` names a value, not a section.
fn fields_of(prefix: &str) -> Option<Vec<&'static str>> {
    let key = if prefix.is_empty() {
        PROBE.to_owned()
    } else {
        format!("{prefix}.{PROBE}")
    };
    let error = Figment::new()
        .merge(Serialized::default(&key, 1))
        .extract::<Config>()
        .err()?;
    error.into_iter().find_map(|e| match e.kind {
        Kind::UnknownField(field, expected) if field == PROBE => Some(expected.to_vec()),
        _ => None,
    })
}

/// Every configuration key, dotted (`change_secret.time_zone`), in the structs' order.
pub fn config_keys() -> Vec<String> {
    fn walk(prefix: &str, out: &mut Vec<String>) {
        let Some(fields) = fields_of(prefix) else {
            out.push(prefix.to_owned());
            return;
        };
        for field in fields {
            let key = if prefix.is_empty() {
                field.to_owned()
            } else {
                format!("{prefix}.{field}")
            };
            walk(&key, out);
        }
    }
    let mut out = Vec::new();
    walk("", &mut out);
    out
}
