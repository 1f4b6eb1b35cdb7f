//! Time-based one-time passwords (RFC 6238 over RFC 4226: HMAC-SHA1, 30-second steps, six
//! digits), their secrets, and one-time recovery codes.

use chrono::{DateTime, Utc};
use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

/// Seconds per step.
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps either side of now that are accepted (clock drift).
pub const WINDOW: i64 = 1;
/// Bytes of a secret (160 bits, as RFC 4226 recommends).
pub const SECRET_LEN: usize = 20;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A fresh random secret.
pub fn generate_secret() -> Zeroizing<Vec<u8>> {
    let mut s = Zeroizing::new(vec![0u8; SECRET_LEN]);
    OsRng.fill_bytes(&mut s);
    s
}

/// RFC 4648 base32 without padding, as authenticator apps expect.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            let index = usize::try_from((n >> (35 - i * 5)) & 31).unwrap_or(0);
            out.push(char::from(BASE32[index]));
        }
    }
    out
}

/// The step a time falls in.
pub fn step_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(STEP_SECONDS)
}

/// The code for `step` (RFC 4226 dynamic truncation), computed by `totp-rs`. Its copy of
/// the secret is zeroized when dropped. A step before 1970 has no code (an empty string).
pub fn code_at(secret: &[u8], step: i64) -> String {
    let Some(time) = step
        .checked_mul(STEP_SECONDS)
        .and_then(|t| u64::try_from(t).ok())
    else {
        return String::new();
    };
    let step_seconds = STEP_SECONDS.unsigned_abs();
    let totp = totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        DIGITS as usize,
        0,
        step_seconds,
        secret.to_vec(),
    );
    totp.generate(time)
}

/// The step whose code is `code`, within the window around `now` and later than
/// `last_used_step` (a code is accepted once). Comparison is constant-time per candidate.
pub fn verify(
    secret: &[u8],
    code: &str,
    now: DateTime<Utc>,
    last_used_step: Option<i64>,
) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_of(now);
    let mut found = None;
    for step in (current - WINDOW)..=(current + WINDOW) {
        let expected = code_at(secret, step);
        let same = expected
            .bytes()
            .zip(code.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if same && last_used_step.is_none_or(|last| step > last) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// The `otpauth://` URI an authenticator app reads from the QR code.
pub fn otpauth_uri(issuer: &str, account: &str, secret_base32: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_base32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

/// Base32 characters of a recovery code (120 bits).
pub const RECOVERY_CODE_LEN: usize = 24;
/// Leading characters of a recovery code kept in clear to find its hash (the other 20
/// characters, 100 bits, are secret).
pub const RECOVERY_SELECTOR_LEN: usize = 4;
/// Characters of the recovery codes issued before they were hashed with Argon2id.
pub const LEGACY_RECOVERY_CODE_LEN: usize = 10;

/// Ten fresh recovery codes, each 24 base32 characters (120 random bits) grouped
/// `XXXXXX-XXXXXX-XXXXXX-XXXXXX`.
pub fn generate_recovery_codes() -> Vec<Zeroizing<String>> {
    (0..10)
        .map(|_| {
            let mut b = Zeroizing::new([0u8; 15]);
            OsRng.fill_bytes(b.as_mut());
            let s = Zeroizing::new(base32(b.as_ref()));
            Zeroizing::new(format!(
                "{}-{}-{}-{}",
                &s[..6],
                &s[6..12],
                &s[12..18],
                &s[18..24]
            ))
        })
        .collect()
}

/// A recovery code as typed, normalised for matching (upper case, no separators).
pub fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B (SHA-1), the eight-digit codes, through the same crate.
        for (t, code) in [
            (59u64, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            let totp = totp_rs::TOTP::new_unchecked(
                totp_rs::Algorithm::SHA1,
                8,
                0,
                30,
                RFC_SECRET.to_vec(),
            );
            assert_eq!(totp.generate(t), code, "t={t}");
        }
        // RFC 6238 appendix B, last six digits of the eight-digit codes.
        for (t, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1111111111, "050471"),
            (1234567890, "005924"),
            (2000000000, "279037"),
        ] {
            assert_eq!(code_at(RFC_SECRET, t / STEP_SECONDS), code, "t={t}");
        }
    }

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(RFC_SECRET), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn codes_are_accepted_once_and_only_near_now() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let step = step_of(now);
        let code = code_at(RFC_SECRET, step);
        assert_eq!(verify(RFC_SECRET, &code, now, None), Some(step));
        assert_eq!(
            verify(RFC_SECRET, &code, now, Some(step)),
            None,
            "reuse is refused"
        );
        let late = now + chrono::Duration::seconds(90);
        assert_eq!(
            verify(RFC_SECRET, &code, late, None),
            None,
            "outside the window"
        );
        assert_eq!(verify(RFC_SECRET, "12345", now, None), None);
        assert_eq!(code_at(RFC_SECRET, -1), "", "no code before 1970");
    }

    #[test]
    fn recovery_codes_normalise() {
        let codes = generate_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(
            normalize_recovery_code(&codes[0].to_lowercase()).len(),
            RECOVERY_CODE_LEN
        );
    }
}
