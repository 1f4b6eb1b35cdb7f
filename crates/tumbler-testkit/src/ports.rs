//! Free TCP ports on the loopback interface.

use std::net::{Ipv4Addr, TcpListener};

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// The port is found by binding port 0 and closing the listener again, so a
/// process started right afterwards can bind it. Another process could take it
/// in between; Linux hands out port-0 binds at random over a large range, so
/// that is rare, and the spawners in this crate retry with a fresh port when
/// their server fails to start.
pub fn free_port() -> u16 {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0 to find a free port");
    listener
        .local_addr()
        .expect("local address of a bound listener")
        .port()
}
