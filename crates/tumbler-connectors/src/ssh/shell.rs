//! Building the command lines run on targets. Shell code lives in `.sh` files beside the
//! connector (`scripts/`); values reach it as positional parameters, each quoted once by
//! [`quote`], never spliced into the code. Secrets are never values here: they travel on
//! standard input.

use super::become_root::ChangeError;

/// `word` as one POSIX shell word: inside single quotes, each `'` written as `'\''`. The
/// shell gives back exactly `word`, whatever it holds; only a NUL byte cannot be passed
/// (no command line can carry one), and is refused.
pub(super) fn quote(word: &str) -> Result<String, ChangeError> {
    if word.contains('\0') {
        return Err(ChangeError::Unsupported(
            "a value for the target's shell holds a NUL byte",
        ));
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for c in word.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    Ok(out)
}

/// A command line of `words`, each quoted by [`quote`] and separated by spaces.
pub(super) fn command_line(words: &[&str]) -> Result<String, ChangeError> {
    let quoted = words
        .iter()
        .map(|w| quote(w))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(quoted.join(" "))
}

/// Whether `shell` is a plain absolute path (letters, digits, `/`, `.`, `_`, `-`).
pub(super) fn check_shell(shell: &str) -> Result<(), ChangeError> {
    let plain = shell
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'));
    if !shell.starts_with('/') || !plain {
        return Err(ChangeError::Unsupported(
            "the shell must be an absolute path",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::process::Command;

    /// What a real `/bin/sh` makes of `line`'s words: each printed as `<word>`.
    fn words_of(line: &str) -> Vec<u8> {
        let script = ["for w in ", line, "; do printf '<%s>' \"$w\"; done"].concat();
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .output()
            .expect("run /bin/sh");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn expected(words: &[&str]) -> Vec<u8> {
        words
            .iter()
            .flat_map(|w| ["<", w, ">"].concat().into_bytes())
            .collect()
    }

    #[test]
    fn quoting_is_single_quotes_with_quotes_escaped() {
        assert_eq!(quote("").expect("q"), "''");
        assert_eq!(quote("plain").expect("q"), "'plain'");
        assert_eq!(quote("it's").expect("q"), "'it'\\''s'");
        assert!(quote("a\0b").is_err());
    }

    #[test]
    fn the_shell_reads_back_hostile_words_unchanged() {
        let words = [
            "",
            "'",
            "''",
            "a b",
            "$(touch /tmp/tumbler-quote-canary)",
            "`id`",
            "\"$HOME\"",
            "\\",
            "line\nbreak",
            "*",
            "-n",
            "; exit 1 #",
            "ünïcödé ✓",
        ];
        assert_eq!(
            words_of(&command_line(&words).expect("line")),
            expected(&words)
        );
        assert!(!std::path::Path::new("/tmp/tumbler-quote-canary").exists());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_words_survive_the_shell(words in proptest::collection::vec("[^\u{0}]{0,12}", 1..4)) {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let line = command_line(&words).expect("no NUL");
            prop_assert_eq!(words_of(&line), expected(&words));
        }
    }

    #[test]
    fn only_plain_absolute_shells_pass() {
        check_shell("/bin/sh").expect("plain");
        for bad in ["sh", "/bin/sh -x", "/bin/'sh", "/bin/$x", ""] {
            assert!(check_shell(bad).is_err(), "{bad}");
        }
    }
}
