//! tumbler-core
