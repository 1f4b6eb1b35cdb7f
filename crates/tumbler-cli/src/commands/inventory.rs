//! `tumbler asset ...` and `tumbler account ...`: the inventory through the REST API (after
//! `tumbler login`). Secrets are read from a prompt, standard input or a key file, never from
//! the command line.

use super::client::{read_secret, request};
use super::{other, CliError};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::path::Path;
use std::process::ExitCode;

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
    let list = request(
        env,
        Method::GET,
        &format!("/api/v1/assets?limit=1000&q={}", encode(name_or_id)),
        None,
    )
    .await?;
    if let Some(id) = list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|a| a["name"] == name_or_id))
        .and_then(|a| a["id"].as_str())
    {
        return Ok(id.to_owned());
    }
    let found = request(
        env,
        Method::GET,
        &format!("/api/v1/assets/{}", encode(name_or_id)),
        None,
    )
    .await
    .map_err(|_| other(format!("no such asset: {name_or_id}")))?;
    found["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| other(format!("no such asset: {name_or_id}")))
}

fn print_assets(items: &[Value]) {
    println!(
        "{:<24} {:<28} {:<11} {:<12} {:<21} nodes",
        "name", "address", "platform", "connectivity", "host key"
    );
    for a in items {
        let nodes: Vec<&str> = a["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        println!(
            "{:<24} {:<28} {:<11} {:<12} {:<21} {}",
            a["name"].as_str().unwrap_or(""),
            format!(
                "{}:{}",
                a["address"].as_str().unwrap_or(""),
                a["port"].as_u64().unwrap_or(0)
            ),
            a["platform"].as_str().unwrap_or(""),
            a["connectivity"].as_str().unwrap_or(""),
            a["host_key_status"].as_str().unwrap_or(""),
            nodes.join(",")
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
    let mut body = json!({"name": a.name, "address": a.address, "port": a.port, "platform": a.platform,
        "nodes": a.nodes, "domain": a.domain, "host_key_fingerprint": a.fingerprint});
    if let Some(mode) = a.tls_mode {
        body["tls_mode"] = json!(mode);
    }
    if let Some(ca) = ca {
        body["tls_ca_pem"] = json!(ca);
    }
    let created = request(env, Method::POST, "/api/v1/assets", Some(body)).await?;
    println!(
        "Created asset {} (id {}), host key {}.",
        created["name"].as_str().unwrap_or("?"),
        created["id"].as_str().unwrap_or("?"),
        created["host_key_status"].as_str().unwrap_or("?")
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
    let list = request(env, Method::GET, &path, None).await?;
    print_assets(list["items"].as_array().map(Vec::as_slice).unwrap_or(&[]));
    println!("{} asset(s)", list["total"].as_i64().unwrap_or(0));
    Ok(ExitCode::SUCCESS)
}

/// `tumbler asset test`
pub async fn asset_test(env: &[(String, String)], asset: &str) -> Result<ExitCode, CliError> {
    let id = asset_id(env, asset).await?;
    let a = request(
        env,
        Method::POST,
        &format!("/api/v1/assets/{id}/test"),
        None,
    )
    .await?;
    print_assets(std::slice::from_ref(&a));
    if let Some(fp) = a["host_key_fingerprint"].as_str() {
        println!(
            "Host key: {fp} ({})",
            a["host_key_status"].as_str().unwrap_or("")
        );
    }
    if let Some(fp) = a["presented_host_key_fingerprint"].as_str() {
        println!("Presented now: {fp} (differs from the pinned key: nothing was sent)");
    }
    if a["connectivity"] == "ok" {
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "Unreachable: {}",
            a["connectivity_error"].as_str().unwrap_or("")
        );
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
    let body = json!({"asset_id": id, "username": username, "secret_type": secret_type,
        "secret": secret.expose_secret(), "privileged": privileged});
    let created = request(env, Method::POST, "/api/v1/accounts", Some(body)).await?;
    println!(
        "Created account {username}@{asset} (id {}).",
        created["id"].as_str().unwrap_or("?")
    );
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
    let list = request(env, Method::GET, &path, None).await?;
    println!(
        "{:<36} {:<24} {:<20} {:<9} {:<16} reason",
        "id", "asset", "username", "type", "status"
    );
    for a in list["items"].as_array().into_iter().flatten() {
        println!(
            "{:<36} {:<24} {:<20} {:<9} {:<16} {}",
            a["id"].as_str().unwrap_or(""),
            a["asset_name"].as_str().unwrap_or(""),
            a["username"].as_str().unwrap_or(""),
            a["secret_type"].as_str().unwrap_or(""),
            a["status"].as_str().unwrap_or(""),
            a["status_reason"].as_str().unwrap_or("")
        );
    }
    println!("{} account(s)", list["total"].as_i64().unwrap_or(0));
    Ok(ExitCode::SUCCESS)
}

/// `tumbler account verify`
pub async fn account_verify(
    env: &[(String, String)],
    asset: &str,
    username: &str,
) -> Result<ExitCode, CliError> {
    let asset_id = asset_id(env, asset).await?;
    let list = request(
        env,
        Method::GET,
        &format!(
            "/api/v1/accounts?asset_id={asset_id}&username={}",
            encode(username)
        ),
        None,
    )
    .await?;
    let id = list["items"][0]["id"]
        .as_str()
        .ok_or_else(|| other(format!("no account {username} on {asset}")))?;
    let out = request(
        env,
        Method::POST,
        &format!("/api/v1/accounts/{id}/verify"),
        None,
    )
    .await?;
    if out["ok"] == true {
        println!("{username}@{asset}: verified.");
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "{username}@{asset}: not verified ({}): {}",
            out["code"].as_str().unwrap_or("error"),
            out["message"].as_str().unwrap_or("")
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
