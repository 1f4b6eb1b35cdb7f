//! The built-in blocklist: the ~30,000 common and breached passwords of the zxcvbn estimator's
//! dictionary, shipped inside the binary with it. A candidate is refused when it is, as a
//! whole, one of them (ignoring case, and reversed or with common l33t substitutions, as
//! zxcvbn matches them).

use zxcvbn::matching::patterns::MatchPattern;

/// Whether `candidate` as a whole is a common or breached password.
pub fn is_common(candidate: &str) -> bool {
    if candidate.is_empty() || candidate.chars().count() > 256 {
        return false;
    }
    let len = candidate.chars().count();
    zxcvbn::zxcvbn(candidate, &[]).sequence().iter().any(|m| {
        m.i == 0
            && m.j + 1 == len
            && matches!(&m.pattern, MatchPattern::Dictionary(d) if format!("{:?}", d.dictionary_name) == "Passwords")
    })
}
