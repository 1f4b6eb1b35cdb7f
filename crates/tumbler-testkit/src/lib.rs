//! tumbler-testkit
