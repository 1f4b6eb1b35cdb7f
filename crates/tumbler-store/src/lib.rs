//! tumbler-store
