//! A private PostgreSQL cluster for tests against PostgreSQL *targets*.
//!
//! The machine's PostgreSQL trusts every local connection, so a password test
//! against it proves nothing. [`PgCluster`] runs `initdb` into a temporary
//! directory with `scram-sha-256` authentication for host and local
//! connections, starts `postgres` on its own free port on 127.0.0.1 with
//! `log_statement = all` written to a file the test reads back, and kills it
//! on `Drop` (or when the test process dies, see the crate's process handling).
//!
//! `initdb` and `postgres` refuse to run as root: as root they run as the
//! `postgres` OS user, in a temporary directory that user owns.

use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};
use tempfile::TempDir;

use crate::ports::free_port;
use crate::util::{
    contained_command, is_root, percent_encode, poll_until, quote_ident, quote_literal,
    random_password, user_ids, ChildGuard,
};

/// OS user the cluster runs as when the tests run as root.
const OS_USER: &str = "postgres";
/// How long the server may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(30);
/// How many ports to try if the chosen one was taken meanwhile.
const START_ATTEMPTS: usize = 3;

/// Directory holding `initdb` and `postgres`: `$TUMBLER_TEST_PG_BINDIR`, else
/// the newest `/usr/lib/postgresql/*/bin`, else `/usr/local/bin`.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TUMBLER_TEST_PG_BINDIR") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").exists() && bin.join("postgres").exists()).then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => PathBuf::from("/usr/local/bin"),
    }
}

/// A running private PostgreSQL cluster with password authentication.
pub struct PgCluster {
    // Field order matters: the server must die before its directory goes.
    server: ChildGuard,
    port: u16,
    superuser: String,
    password: String,
    log_path: PathBuf,
    dir: TempDir,
}

impl std::fmt::Debug for PgCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No password in Debug output.
        f.debug_struct("PgCluster")
            .field("port", &self.port)
            .field("superuser", &self.superuser)
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl PgCluster {
    /// Creates and starts a cluster; returns once it accepts the superuser.
    ///
    /// # Panics
    /// If `initdb` or `postgres` are missing or fail, or the server does not
    /// accept connections within 30 seconds; the message includes their output.
    pub async fn start() -> Self {
        let bin = bin_dir();
        let run_as = is_root().then_some(OS_USER);
        let dir = tempfile::Builder::new()
            .prefix("tumbler-pg-")
            .tempdir()
            .expect("create a temporary directory for the cluster");
        if run_as.is_some() {
            let (uid, gid) = user_ids(OS_USER);
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .expect("give the cluster directory to the postgres user");
        }
        let superuser = "postgres".to_owned();
        let password = random_password();
        let data = dir.path().join("data");
        init_cluster(&bin, run_as, dir.path(), &data, &superuser, &password).await;

        let log_path = dir.path().join("postgres.log");
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let mut server = start_server(&bin, run_as, dir.path(), &data, &log_path, port);
            let url = make_url(&superuser, &password, port);
            let ready = poll_until(READY_WITHIN, || {
                let exited = server.exited();
                let url = url.clone();
                async move {
                    if let Some(why) = exited {
                        return Some(Err(why));
                    }
                    PgConnection::connect(&url).await.ok().map(Ok)
                }
            })
            .await;
            match ready {
                Some(Ok(conn)) => {
                    let _ = conn.close().await;
                    return Self {
                        server,
                        port,
                        superuser,
                        password,
                        log_path,
                        dir,
                    };
                }
                Some(Err(why)) => failures.push(format!("port {port}: {why}")),
                None => failures.push(format!(
                    "port {port}: not accepting connections after {READY_WITHIN:?}"
                )),
            }
        }
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        panic!(
            "private PostgreSQL cluster did not start ({}).\nserver log:\n{log}",
            failures.join("; ")
        );
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Name of the cluster's superuser.
    pub fn superuser(&self) -> &str {
        &self.superuser
    }

    /// Password of the cluster's superuser.
    pub fn superuser_password(&self) -> &str {
        &self.password
    }

    /// `postgres://USER:PASSWORD@127.0.0.1:PORT/postgres`, both parts
    /// percent-encoded.
    pub fn url_for(&self, user: &str, password: &str) -> String {
        make_url(user, password, self.port)
    }

    /// URL logging in as the superuser.
    pub fn superuser_url(&self) -> String {
        self.url_for(&self.superuser, &self.password)
    }

    /// A new connection as the superuser to database `postgres`.
    pub async fn connect_superuser(&self) -> PgConnection {
        PgConnection::connect(&self.superuser_url())
            .await
            .unwrap_or_else(|e| panic!("superuser connection to the private cluster: {e}"))
    }

    /// Runs `sql` (one or more statements) as the superuser.
    ///
    /// # Panics
    /// If a statement fails.
    pub async fn exec(&self, sql: &str) {
        let mut conn = self.connect_superuser().await;
        sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("private cluster rejected {sql:?}: {e}"));
        let _ = conn.close().await;
    }

    /// Creates a login role `name` with `password`.
    ///
    /// The statement runs with `log_statement = none` so this set-up password
    /// does not appear in the statement log that tests inspect.
    pub async fn create_role(&self, name: &str, password: &str) {
        let mut conn = self.connect_superuser().await;
        sqlx::raw_sql("SET log_statement = 'none'")
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("SET log_statement failed: {e}"));
        sqlx::raw_sql(&format!(
            "CREATE ROLE {} LOGIN PASSWORD {}",
            quote_ident(name),
            quote_literal(password)
        ))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("CREATE ROLE {name} failed: {e}"));
        let _ = conn.close().await;
    }

    /// Path of the server log (statements, connections, errors).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Everything the server has logged so far.
    pub fn log_contents(&self) -> String {
        std::fs::read_to_string(&self.log_path).expect("read the private cluster's log")
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Turns TLS on with a server certificate for `127.0.0.1` and `localhost` signed by a
    /// throwaway CA (made with the `openssl` command), and returns the CA's certificate
    /// (PEM). Returns once a TLS connection verified against that CA logs in.
    ///
    /// # Panics
    /// If `openssl` fails or TLS does not come up within 20 seconds.
    pub async fn enable_tls(&self) -> String {
        self.tls_with(false).await
    }

    /// Turns TLS on with a self-signed server certificate (not a CA) for `127.0.0.1` and
    /// `localhost`, and returns that certificate (PEM): given as an asset's CA, it pins this
    /// one server certificate. Returns once a TLS connection verified against it logs in.
    ///
    /// # Panics
    /// As [`PgCluster::enable_tls`].
    pub async fn enable_self_signed_tls(&self) -> String {
        self.tls_with(true).await
    }

    async fn tls_with(&self, self_signed: bool) -> String {
        let tls = self
            .dir
            .path()
            .join(if self_signed { "tls-self" } else { "tls" });
        std::fs::create_dir_all(&tls).expect("create the TLS directory");
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(&tls)
                .stdin(Stdio::null())
                .output()
                .expect("run openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let extensions = "subjectAltName=IP:127.0.0.1,DNS:localhost\n\
                          basicConstraints=CA:FALSE\n\
                          keyUsage=digitalSignature\n\
                          extendedKeyUsage=serverAuth\n";
        std::fs::write(tls.join("server.ext"), extensions).expect("write the extensions");
        std::fs::write(
            tls.join("server.cnf"),
            format!("[req]\ndistinguished_name=dn\n[dn]\n[v3_server]\n{extensions}"),
        )
        .expect("write the openssl configuration");
        let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2";
        let run = |line: &str| openssl(&line.split_whitespace().collect::<Vec<_>>());
        let trusted = if self_signed {
            run(&format!(
                "req -x509 {ec} -keyout server.key -out server.crt -subj /CN=127.0.0.1 \
                 -config server.cnf -extensions v3_server"
            ));
            "server.crt"
        } else {
            run(&format!(
                "req -x509 {ec} -keyout ca.key -out ca.crt -subj /CN=tumbler-test-ca"
            ));
            run(&format!(
                "req {ec} -keyout server.key -out server.csr -subj /CN=127.0.0.1"
            ));
            run(
                "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
                 -out server.crt -days 2 -extfile server.ext",
            );
            "ca.crt"
        };
        let data = self.data_dir();
        for name in ["server.crt", "server.key"] {
            let to = data.join(name);
            std::fs::copy(tls.join(name), &to).expect("copy the server certificate");
            if is_root() {
                let (uid, gid) = user_ids(OS_USER);
                std::os::unix::fs::chown(&to, Some(uid), Some(gid)).expect("chown");
            }
            std::fs::set_permissions(&to, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .expect("chmod the server certificate");
        }
        self.exec("ALTER SYSTEM SET ssl = on").await;
        self.exec("SELECT pg_reload_conf()").await;
        let ca_pem = std::fs::read_to_string(tls.join(trusted)).expect("read the certificate");
        let options = sqlx::postgres::PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username(&self.superuser)
            .password(&self.password)
            .database("postgres")
            .ssl_mode(sqlx::postgres::PgSslMode::VerifyFull)
            .ssl_root_cert_from_pem(ca_pem.as_bytes().to_vec());
        let up = poll_until(Duration::from_secs(20), || {
            let options = options.clone();
            async move {
                sqlx::ConnectOptions::connect(&options)
                    .await
                    .ok()
                    .map(|c: PgConnection| drop(c))
            }
        })
        .await;
        assert!(up.is_some(), "TLS did not come up on the private cluster");
        ca_pem
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // Kill the server first, then wait (bounded) for its port to close
        // so the directory is not removed under a still-running postmaster.
        self.server.kill();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline
            && TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok()
        {
            std::thread::sleep(crate::util::POLL_INTERVAL);
        }
    }
}

fn make_url(user: &str, password: &str, port: u16) -> String {
    format!(
        "postgres://{}:{}@127.0.0.1:{port}/postgres",
        percent_encode(user),
        percent_encode(password)
    )
}

/// A command running `program` as `run_as` (or as ourselves), in `cwd`.
fn as_user(program: &Path, run_as: Option<&str>, cwd: &Path) -> Command {
    let mut cmd = match run_as {
        Some(user) => {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={user}"),
                &format!("--regid={user}"),
                "--init-groups",
                "--",
            ]);
            c.arg(program);
            c
        }
        None => Command::new(program),
    };
    cmd.current_dir(cwd).env("LC_ALL", "C").env_remove("PGDATA");
    cmd
}

async fn init_cluster(
    bin: &Path,
    run_as: Option<&str>,
    dir: &Path,
    data: &Path,
    superuser: &str,
    password: &str,
) {
    let pwfile = dir.join("pwfile");
    std::fs::write(&pwfile, format!("{password}\n")).expect("write the initdb password file");
    if run_as.is_some() {
        let (uid, gid) = user_ids(OS_USER);
        std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).expect("chown the password file");
    }
    let mut cmd = as_user(&bin.join("initdb"), run_as, dir);
    cmd.arg("-D")
        .arg(data)
        .args(["-U", superuser])
        .arg(format!("--pwfile={}", pwfile.display()))
        .args([
            "--auth-host=scram-sha-256",
            "--auth-local=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        ])
        .stdin(Stdio::null());
    let out = tokio::process::Command::from(cmd)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.join("initdb").display()));
    let _ = std::fs::remove_file(&pwfile);
    assert!(
        out.status.success(),
        "initdb failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn start_server(
    bin: &Path,
    run_as: Option<&str>,
    dir: &Path,
    data: &Path,
    log_path: &Path,
    port: u16,
) -> ChildGuard {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .expect("open the cluster's log file");
    let postgres = bin.join("postgres");
    let mut cmd = contained_command(
        postgres
            .to_str()
            .expect("UTF-8 path of the postgres binary"),
        run_as,
    );
    cmd.arg("-D")
        .arg(data)
        .args(["-p", &port.to_string(), "-h", "127.0.0.1", "-k"])
        .arg(dir)
        .args([
            "-c",
            "log_statement=all",
            "-c",
            "log_connections=on",
            "-c",
            "log_destination=stderr",
            "-c",
            "logging_collector=off",
            "-c",
            "log_line_prefix=%m [%p] %q%u@%d ",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=50",
        ])
        .current_dir(dir)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    ChildGuard::spawn(cmd, "postgres (private cluster)")
}
