//! Running the server: bind, serve HTTP or HTTPS, shut down gracefully.

use crate::config::{Config, TlsConfig};
use crate::startup::{open_services, StartupError};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tumbler_core::MasterKeySource;
use tumbler_domain::Clock;
use tumbler_store::Store;

/// Why the server stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Start-up failed.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS certificate or key could not be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// Serving failed.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// A server that is up and answering.
pub struct RunningServer {
    /// The address it listens on (the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// Whether it speaks HTTPS.
    pub tls: bool,
    /// The one-time password of `admin` when this start created it. Show once; never log.
    pub initial_admin_password: Option<SecretString>,
    /// The store, for tests and admin tasks running beside the server.
    pub store: Store,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<Result<(), ServeError>>,
}

impl RunningServer {
    /// The base URL, e.g. `http://127.0.0.1:8080`.
    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.addr
        )
    }

    /// Asks the server to stop: no new connections; in-flight requests finish.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Waits until the server has stopped and the store is closed.
    pub async fn wait(self) -> Result<(), ServeError> {
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(ServeError::Io(std::io::Error::other(e))),
        }
    }
}

/// How often the schedule and the stale-execution sweep run.
const SCHEDULER_TICK: std::time::Duration = std::time::Duration::from_secs(15);
/// How often stopped device-key jobs are looked for.
const KEY_JOBS_TICK: std::time::Duration = std::time::Duration::from_secs(60);

/// Opens everything, binds `config.listen`, and serves until [`RunningServer::shutdown`].
pub async fn start(
    config: &Config,
    master: &MasterKeySource,
    clock: Arc<dyn Clock>,
) -> Result<RunningServer, ServeError> {
    config
        .validate()
        .map_err(|e| ServeError::Tls(e.to_string()))?;
    let services = open_services(config, master, clock, true).await?;
    let initial_admin_password = services
        .auth
        .bootstrap_admin()
        .await
        .map_err(StartupError::from)?;
    // The first administrator joins the default domain.
    services
        .domains
        .ensure_default()
        .await
        .map_err(StartupError::from)?;
    if !services.change_secret.settings().secure_mode {
        tracing::warn!(
            "change_secret.secure_mode is off: privileged accounts, root and the accounts Tumbler logs in with will be changed too"
        );
    }
    // Runs this node's previous process left unfinished, and accounts left staged, are
    // settled in the background, so that start-up does not wait on targets; `/readyz`
    // answers not ready until it is done.
    let _recovery = services.change_secret.spawn_start_recovery();
    // The system key exists before the first request; an interrupted regeneration resumes.
    services
        .device_keys
        .start()
        .await
        .map_err(StartupError::from)?;
    let scheduler = services.change_secret.spawn_background(SCHEDULER_TICK);
    let key_jobs = services.device_keys.spawn_background(KEY_JOBS_TICK);
    let drift = services.change_secret.spawn_drift();
    let tls = config.tls.as_ref().map(rustls_config).transpose()?;
    let state = services.app_state(tls.is_some());
    let app = crate::app(state).into_make_service_with_connect_info::<SocketAddr>();
    let listener =
        std::net::TcpListener::bind(config.listen).map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let (shutdown, mut rx) = watch::channel(false);
    let store = services.store.clone();
    let is_tls = tls.is_some();
    let task = tokio::spawn(async move {
        let stopped = async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let served = match tls {
            None => {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await
            }
            Some(tls) => {
                let handle = axum_server::Handle::new();
                let h = handle.clone();
                tokio::spawn(async move {
                    stopped.await;
                    h.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
                });
                let acceptor = crate::middleware::client_cert::ClientCertAcceptor::new(
                    axum_server::tls_rustls::RustlsAcceptor::new(tls),
                );
                axum_server::from_tcp(listener)
                    .acceptor(acceptor)
                    .handle(handle)
                    .serve(app)
                    .await
            }
        };
        scheduler.abort();
        key_jobs.abort();
        if let Some(d) = drift {
            d.abort();
        }
        services.store.close().await;
        served.map_err(ServeError::Io)
    });
    Ok(RunningServer {
        addr,
        tls: is_tls,
        initial_admin_password,
        store,
        shutdown,
        task,
    })
}

fn rustls_config(tls: &TlsConfig) -> Result<axum_server::tls_rustls::RustlsConfig, ServeError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let err = |what: &str, e: &dyn std::fmt::Display| ServeError::Tls(format!("{what}: {e}"));
    let certs = CertificateDer::pem_file_iter(&tls.cert_file)
        .map_err(|e| err(&format!("reading {}", tls.cert_file.display()), &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(&format!("parsing {}", tls.cert_file.display()), &e))?;
    let key = PrivateKeyDer::from_pem_file(&tls.key_file)
        .map_err(|e| err(&format!("reading {}", tls.key_file.display()), &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| err("protocol versions", &e))?
        .with_client_cert_verifier(client_verifier(tls, &provider)?)
        .with_single_cert(certs, key)
        .map_err(|e| err("certificate and key", &e))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(axum_server::tls_rustls::RustlsConfig::from_config(
        Arc::new(cfg),
    ))
}

/// No client certificates, or (with `client_ca_file`) optional ones signed by that CA.
fn client_verifier(
    tls: &TlsConfig,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, ServeError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let Some(ca_file) = &tls.client_ca_file else {
        return Ok(Arc::new(rustls::server::NoClientAuth));
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| ServeError::Tls(format!("reading {}: {e}", ca_file.display())))?
    {
        let cert =
            cert.map_err(|e| ServeError::Tls(format!("parsing {}: {e}", ca_file.display())))?;
        roots
            .add(cert)
            .map_err(|e| ServeError::Tls(format!("{}: {e}", ca_file.display())))?;
    }
    rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| ServeError::Tls(format!("client certificate verifier: {e}")))
}
