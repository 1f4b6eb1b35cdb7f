//! tumbler-testkit

pub mod sshd;
