//! tumbler-connectors
