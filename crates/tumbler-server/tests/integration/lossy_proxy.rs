//! A small TCP proxy in front of a target that can fail like a network does: refuse every
//! connection (the target is down), or let one command through to the server and then drop
//! its reply and the connection (the command was carried out, the client never hears it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The proxy's switches, shared with its connections.
#[derive(Debug, Default)]
struct Faults {
    /// Connections are refused (closed at once).
    down: AtomicBool,
    /// The next client chunk containing these bytes reaches the server, its reply is
    /// dropped and the connection closed.
    lose_reply_to: Mutex<Option<Vec<u8>>>,
    /// The next client chunk containing these bytes is dropped with the connection (the
    /// command never reaches the server; the client cannot tell this from a lost reply).
    lose_command: Mutex<Option<Vec<u8>>>,
    /// How many replies (or commands) were dropped.
    dropped: std::sync::atomic::AtomicUsize,
}

/// A running proxy (its task lives on the runtime that started it).
#[derive(Debug, Clone)]
pub struct LossyProxy {
    port: u16,
    faults: Arc<Faults>,
}

impl LossyProxy {
    /// Starts a proxy on a free loopback port in front of `127.0.0.1:upstream`.
    pub async fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let faults = Arc::new(Faults::default());
        let shared = faults.clone();
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if shared.down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                tokio::spawn(relay(client, upstream, shared.clone()));
            }
        });
        Self { port, faults }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Refuses (`true`) or passes (`false`) new connections.
    pub fn set_down(&self, down: bool) {
        self.faults.down.store(down, Ordering::SeqCst);
    }

    /// Arms (or with `None` disarms) the loss of the reply to the next command containing
    /// `needle`.
    pub fn lose_reply_to(&self, needle: Option<&[u8]>) {
        *self.faults.lose_reply_to.lock().expect("proxy lock") = needle.map(<[u8]>::to_vec);
    }

    /// Arms the loss of the next command containing `needle` itself, before the server.
    pub fn lose_command(&self, needle: Option<&[u8]>) {
        *self.faults.lose_command.lock().expect("proxy lock") = needle.map(<[u8]>::to_vec);
    }

    /// How many replies (or commands) were dropped so far.
    pub fn dropped(&self) -> usize {
        self.faults.dropped.load(Ordering::SeqCst)
    }
}

/// Relays one connection both ways, one chunk at a time (the clients here send a command and
/// wait for its reply).
async fn relay(mut client: TcpStream, upstream: u16, faults: Arc<Faults>) {
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
        return;
    };
    let mut from_client = vec![0u8; 16 * 1024];
    let mut from_server = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            n = client.read(&mut from_client) => {
                let Ok(n) = n else { return };
                if n == 0 {
                    return;
                }
                let chunk = &from_client[..n];
                let lose = take_hit(&faults.lose_reply_to, chunk);
                if take_hit(&faults.lose_command, chunk) {
                    faults.dropped.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                if server.write_all(chunk).await.is_err() {
                    return;
                }
                if lose {
                    // The server carries the command out; its answer goes nowhere.
                    let _ = server.read(&mut from_server).await;
                    faults.dropped.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            }
            n = server.read(&mut from_server) => {
                let Ok(n) = n else { return };
                if n == 0 || client.write_all(&from_server[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Whether `chunk` holds the armed needle (disarming it when it does).
fn take_hit(armed: &Mutex<Option<Vec<u8>>>, chunk: &[u8]) -> bool {
    let mut armed = armed.lock().expect("proxy lock");
    let hit = armed
        .as_ref()
        .is_some_and(|needle| chunk.windows(needle.len()).any(|w| w == needle.as_slice()));
    if hit {
        *armed = None;
    }
    hit
}
