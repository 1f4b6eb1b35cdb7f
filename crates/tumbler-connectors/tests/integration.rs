#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The connectors crate's one integration-test binary: real targets only
//! (OpenSSH test hosts from `tumbler-testkit`).

mod integration {
    mod authorized_keys;
    mod change;
    mod key_files;
    mod ssh;
}
