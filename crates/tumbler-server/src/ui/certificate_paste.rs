//! What the X.509 tab takes from a pasted PEM: the certificate only. A bundle of key and
//! certificate (what many tools export) gives its first CERTIFICATE block; every other block,
//! a private key above all, is dropped unread, and the page then says the key was discarded.

/// The pasted text, sorted.
#[derive(PartialEq, Eq)]
pub struct Pasted {
    /// The first `CERTIFICATE` block, in PEM, when there is one.
    pub certificate: Option<String>,
    /// Whether a private key was among the blocks (it was dropped, but it was sent).
    pub key_discarded: bool,
}

const BEGIN: &str = "-----BEGIN ";
const END: &str = "-----END ";
const DASHES: &str = "-----";

/// Sorts `text` into its certificate and whether it carried a private key. Text outside
/// PEM blocks (a bundle's comments, `Bag Attributes`) is ignored.
pub fn sort(text: &str) -> Pasted {
    let mut certificate = None;
    let mut key_discarded = false;
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let Some(label_end) = after.find(DASHES) else {
            break;
        };
        let label = after[..label_end].trim();
        if label.ends_with("PRIVATE KEY") {
            key_discarded = true;
        }
        let closing = format!("{END}{label}{DASHES}");
        let Some(close) = after.find(&closing) else {
            // An unclosed block: whatever it was, nothing after it is read.
            if label.contains("PRIVATE") {
                key_discarded = true;
            }
            break;
        };
        if label == "CERTIFICATE" && certificate.is_none() {
            let block = &rest[start..start + BEGIN.len() + close + closing.len()];
            certificate = Some(block.to_owned());
        }
        rest = &after[close + closing.len()..];
    }
    // A key pasted in a shape not recognised above is still a key sent to the server.
    if !key_discarded && text.contains("PRIVATE KEY") {
        key_discarded = true;
    }
    Pasted {
        certificate,
        key_discarded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----";
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIkey\n-----END PRIVATE KEY-----";

    #[test]
    fn a_certificate_alone_is_taken_as_it_is() {
        let p = sort(&format!("\n{CERT}\n"));
        assert_eq!(p.certificate.as_deref(), Some(CERT));
        assert!(!p.key_discarded);
    }

    #[test]
    fn a_bundle_gives_its_certificate_and_drops_the_key() {
        for text in [format!("{KEY}\n{CERT}\n"), format!("{CERT}\n{KEY}")] {
            let p = sort(&text);
            assert_eq!(p.certificate.as_deref(), Some(CERT), "{text}");
            assert!(p.key_discarded, "{text}");
        }
        let ec = "-----BEGIN EC PRIVATE KEY-----\nx\n-----END EC PRIVATE KEY-----";
        let p = sort(&format!("Bag Attributes\n{ec}\n{CERT}"));
        assert_eq!(p.certificate.as_deref(), Some(CERT));
        assert!(p.key_discarded);
    }

    #[test]
    fn a_chain_gives_its_first_certificate() {
        let ca = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----";
        let p = sort(&format!("{CERT}\n{ca}"));
        assert_eq!(p.certificate.as_deref(), Some(CERT));
    }

    #[test]
    fn a_key_alone_or_unclosed_is_reported_and_gives_no_certificate() {
        for text in [
            KEY.to_owned(),
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn".to_owned(),
            "junk PRIVATE KEY junk".to_owned(),
        ] {
            let p = sort(&text);
            assert_eq!(p.certificate, None, "{text}");
            assert!(p.key_discarded, "{text}");
        }
        let p = sort("nothing here");
        assert_eq!(p.certificate, None);
        assert!(!p.key_discarded);
    }
}
