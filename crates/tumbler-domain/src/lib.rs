//! tumbler-domain
