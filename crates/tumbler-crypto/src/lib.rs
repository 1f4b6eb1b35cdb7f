//! tumbler-crypto
