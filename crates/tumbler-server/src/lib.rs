//! tumbler-server
