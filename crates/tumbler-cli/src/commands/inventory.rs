//! `tumbler asset ...` and `tumbler account ...`: the inventory through the REST API (after
//! `tumbler login`). Secrets are read from a prompt, standard input or a key file, never from
//! the command line.

use super::client::{read_secret, request};
use super::{other, CliError};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;
use std::process::ExitCode;
use tumbler_api_types::inventory::{AccountOut, AssetOut, CreateAccount, CreateAsset, VerifyOut};
use tumbler_api_types::Page;

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)])
        .map(|s| s.trim_start_matches("v=").to_owned())
        .unwrap_or_default()
}

/// The id of the asset named `name_or_id` (an exact name in your visible domains, or an id).
pub(crate) async fn asset_id(
    env: &[(String, String)],
    name_or_id: &str,
) -> Result<String, CliError> {
    let list: Page<AssetOut> = request(
        env,
        Method::GET,
        &format!("/api/v1/assets?limit=1000&q={}", encode(name_or_id)),
        None,
    )
    .await?;
    if let Some(a) = list.items.into_iter().find(|a| a.name == name_or_id) {
        return Ok(a.id);
    }
    let found: AssetOut = request(
        env,
        Method::GET,
        &format!("/api/v1/assets/{}", encode(name_or_id)),
        None,
    )
    .await
    .map_err(|_| other(format!("no such asset: {name_or_id}")))?;
    Ok(found.id)
}

fn print_assets(items: &[AssetOut]) {
    println!(
        "{:<24} {:<28} {:<11} {:<12} {:<21} nodes",
        "name", "address", "platform", "connectivity", "host key"
    );
    for a in items {
        println!(
            "{:<24} {:<28} {:<11} {:<12} {:<21} {}",
            a.name,
            format!("{}:{}", a.address, a.port),
            a.platform,
            a.connectivity,
            a.host_key_status,
            a.nodes.join(",")
        );
    }
}

/// What `tumbler asset add` sends.
pub struct NewAsset {
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Port.
    pub port: Option<u16>,
    /// Platform id.
    pub platform: String,
    /// Node paths.
    pub nodes: Vec<String>,
    /// Domain name.
    pub domain: Option<String>,
    /// Host key fingerprint from a trusted source.
    pub fingerprint: Option<String>,
    /// Database TLS mode.
    pub tls_mode: Option<String>,
    /// A PEM file of CA certificates for `verify_full`.
    pub tls_ca_file: Option<std::path::PathBuf>,
}

/// `tumbler asset add`
pub async fn asset_add(env: &[(String, String)], a: NewAsset) -> Result<ExitCode, CliError> {
    let ca = a.tls_ca_file.as_deref().map(read_bounded).transpose()?;
    let body = CreateAsset {
        name: a.name,
        address: a.address,
        port: a.port.map(i64::from),
        platform: a.platform,
        nodes: a.nodes,
        domain: a.domain,
        comment: String::new(),
        host_key_fingerprint: a.fingerprint,
        trust_on_first_use: None,
        tls_mode: a.tls_mode,
        tls_ca_pem: ca,
        plaintext_auth_allowed: None,
    };
    let body = serde_json::to_value(body).map_err(other)?;
    let created: AssetOut = request(env, Method::POST, "/api/v1/assets", Some(body)).await?;
    println!(
        "Created asset {} (id {}), host key {}.",
        created.name, created.id, created.host_key_status
    );
    Ok(ExitCode::SUCCESS)
}

/// `tumbler asset list`
pub async fn asset_list(
    env: &[(String, String)],
    node: Option<String>,
    platform: Option<String>,
    search: Option<String>,
) -> Result<ExitCode, CliError> {
    let mut path = "/api/v1/assets?limit=1000".to_owned();
    for (k, v) in [("node", node), ("platform", platform), ("q", search)] {
        if let Some(v) = v {
            path.push_str(&format!("&{k}={}", encode(&v)));
        }
    }
    let list: Page<AssetOut> = request(env, Method::GET, &path, None).await?;
    print_assets(&list.items);
    println!("{} asset(s)", list.total);
    Ok(ExitCode::SUCCESS)
}

/// `tumbler asset test`
pub async fn asset_test(env: &[(String, String)], asset: &str) -> Result<ExitCode, CliError> {
    let id = asset_id(env, asset).await?;
    let a: AssetOut = request(
        env,
        Method::POST,
        &format!("/api/v1/assets/{id}/test"),
        None,
    )
    .await?;
    print_assets(std::slice::from_ref(&a));
    if let Some(fp) = &a.host_key_fingerprint {
        println!("Host key: {fp} ({})", a.host_key_status);
    }
    if let Some(fp) = &a.presented_host_key_fingerprint {
        println!("Presented now: {fp} (differs from the pinned key: nothing was sent)");
    }
    if a.connectivity == "ok" {
        Ok(ExitCode::SUCCESS)
    } else {
        println!("Unreachable: {}", a.connectivity_error);
        Ok(ExitCode::FAILURE)
    }
}

/// `tumbler account add`
pub async fn account_add(
    env: &[(String, String)],
    asset: &str,
    username: &str,
    privileged: bool,
    key_file: Option<&Path>,
    secret_stdin: bool,
) -> Result<ExitCode, CliError> {
    let id = asset_id(env, asset).await?;
    let (secret_type, secret) = match key_file {
        Some(path) => ("ssh_key", SecretString::from(read_key_file(path)?)),
        None => ("password", read_secret("Password: ", secret_stdin)?),
    };
    let body = CreateAccount {
        asset_id: id,
        username: username.to_owned(),
        secret_type: Some(secret_type.to_owned()),
        secret: secret.expose_secret().to_owned(),
        privileged,
        options: Default::default(),
        totp: None,
    };
    let body = serde_json::to_value(body).map_err(other)?;
    let created: AccountOut = request(env, Method::POST, "/api/v1/accounts", Some(body)).await?;
    println!("Created account {username}@{asset} (id {}).", created.id);
    Ok(ExitCode::SUCCESS)
}

/// `tumbler account list`
pub async fn account_list(
    env: &[(String, String)],
    asset: Option<String>,
) -> Result<ExitCode, CliError> {
    let mut path = "/api/v1/accounts?limit=1000".to_owned();
    if let Some(a) = asset {
        path.push_str(&format!("&asset_id={}", asset_id(env, &a).await?));
    }
    let list: Page<AccountOut> = request(env, Method::GET, &path, None).await?;
    println!(
        "{:<36} {:<24} {:<20} {:<9} {:<16} reason",
        "id", "asset", "username", "type", "status"
    );
    for a in &list.items {
        println!(
            "{:<36} {:<24} {:<20} {:<9} {:<16} {}",
            a.id, a.asset_name, a.username, a.secret_type, a.status, a.status_reason
        );
    }
    println!("{} account(s)", list.total);
    Ok(ExitCode::SUCCESS)
}

/// `tumbler account verify`
pub async fn account_verify(
    env: &[(String, String)],
    asset: &str,
    username: &str,
) -> Result<ExitCode, CliError> {
    let asset_id = asset_id(env, asset).await?;
    let list: Page<AccountOut> = request(
        env,
        Method::GET,
        &format!(
            "/api/v1/accounts?asset_id={asset_id}&username={}",
            encode(username)
        ),
        None,
    )
    .await?;
    let id = list
        .items
        .first()
        .map(|a| a.id.as_str())
        .ok_or_else(|| other(format!("no account {username} on {asset}")))?;
    let out: VerifyOut = request(
        env,
        Method::POST,
        &format!("/api/v1/accounts/{id}/verify"),
        None,
    )
    .await?;
    if out.ok {
        println!("{username}@{asset}: verified.");
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "{username}@{asset}: not verified ({}): {}",
            out.code.as_deref().unwrap_or("error"),
            out.message
        );
        Ok(ExitCode::FAILURE)
    }
}

/// Reads a text file of at most 64 KiB (a key or a CA bundle); a longer one is refused.
fn read_bounded(path: &Path) -> Result<String, CliError> {
    use std::io::Read as _;
    use tumbler_connectors::ssh::MAX_KEY_FILE_BYTES;
    let file = std::fs::File::open(path)
        .map_err(|e| other(format!("cannot read {}: {e}", path.display())))?;
    let mut text = String::new();
    file.take(MAX_KEY_FILE_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| other(format!("cannot read {}: {e}", path.display())))?;
    if text.len() > MAX_KEY_FILE_BYTES {
        return Err(other(format!("{} is larger than 64 KiB", path.display())));
    }
    Ok(text)
}

/// Reads a private key file for upload: at most 64 KiB are read, and a file whose
/// key-derivation cost is past the server's caps is refused here with the same reason
/// (`key_derivation_too_costly`) before anything is sent.
pub(super) fn read_key_file(path: &Path) -> Result<String, CliError> {
    let text = read_bounded(path)?;
    tumbler_connectors::ssh::check_key_cost(&text)
        .map_err(|e| other(format!("{}: {} ({})", path.display(), e, e.code())))?;
    Ok(text)
}
