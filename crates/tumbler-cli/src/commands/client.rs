//! `tumbler login` and `tumbler user ...`: a client of the REST API. The token from `login`
//! is kept in `$XDG_CONFIG_HOME/tumbler/credentials.json` (or `~/.config/...`), mode 0600.

use super::{other, CliError};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{BufRead, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::process::ExitCode;
use tumbler_api_types::users::{
    CreateTokenRequest, CreateUser, CreatedToken, CreatedUserOut, PatchUser, UserOut,
};
use tumbler_api_types::{ErrorAnswer, Page};

/// What `tumbler login` stores.
#[derive(Serialize, Deserialize)]
struct Credentials {
    url: String,
    token: String,
}

fn credentials_path(env: &[(String, String)]) -> Result<PathBuf, CliError> {
    let var = |k: &str| {
        env.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| PathBuf::from(v))
    };
    let base = var("XDG_CONFIG_HOME")
        .or_else(|| var("HOME").map(|h| h.join(".config")))
        .ok_or_else(|| other("neither XDG_CONFIG_HOME nor HOME is set"))?;
    Ok(base.join("tumbler").join("credentials.json"))
}

fn load(env: &[(String, String)]) -> Result<Credentials, CliError> {
    let path = credentials_path(env)?;
    let text = std::fs::read_to_string(&path).map_err(|_| {
        other(format!(
            "not logged in ({} missing): run `tumbler login` first",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| other(format!("{}: {e}", path.display())))
}

fn save(env: &[(String, String)], creds: &Credentials) -> Result<PathBuf, CliError> {
    let path = credentials_path(env)?;
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(other)?;
    }
    let tmp = path.with_extension("json.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(other)?;
    f.write_all(serde_json::to_string(creds).map_err(other)?.as_bytes())
        .map_err(other)?;
    f.sync_all().map_err(other)?;
    std::fs::rename(&tmp, &path).map_err(other)?;
    Ok(path)
}

/// The error message of an API answer, or the status.
async fn failure(res: reqwest::Response) -> CliError {
    let status = res.status();
    match res.json::<ErrorAnswer>().await {
        Ok(body) => other(format!(
            "{} ({}, HTTP {status})",
            body.error.message, body.error.code
        )),
        Err(_) => other(format!("the server answered HTTP {status}")),
    }
}

pub(crate) fn read_secret(prompt: &str, from_stdin: bool) -> Result<SecretString, CliError> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(other)?;
        Ok(SecretString::from(
            line.trim_end_matches(['\n', '\r']).to_owned(),
        ))
    } else {
        rpassword::prompt_password(prompt)
            .map(SecretString::from)
            .map_err(other)
    }
}

/// Logs in with a password (and a TOTP code when the account has one) and stores an API token.
pub async fn login(
    env: &[(String, String)],
    url: &str,
    username: &str,
    password_stdin: bool,
) -> Result<ExitCode, CliError> {
    let password = read_secret("Password: ", password_stdin)?;
    let client = reqwest::Client::new();
    let create = |totp: Option<String>| {
        client
            .post(format!("{url}/api/v1/users/me/tokens"))
            .basic_auth(username, Some(password.expose_secret()))
            .json(&CreateTokenRequest {
                name: "tumbler cli".to_owned(),
                expires_at: None,
                totp,
                current_password: None,
            })
            .send()
    };
    let mut res = create(None).await.map_err(other)?;
    if res.status() == 401 {
        // The server answers a missing code like a wrong password (it does not tell which
        // factor failed): ask for a code, and try again only if one is given.
        let code = read_secret(
            "Authentication code (leave empty if you use no authenticator app): ",
            password_stdin,
        )?;
        if code.expose_secret().trim().is_empty() {
            return Err(failure(res).await);
        }
        res = create(Some(code.expose_secret().trim().to_owned()))
            .await
            .map_err(other)?;
    }
    if !res.status().is_success() {
        return Err(failure(res).await);
    }
    let created: CreatedToken = res
        .json()
        .await
        .map_err(|e| other(format!("the server sent no token: {e}")))?;
    let token = created.token;
    let path = save(
        env,
        &Credentials {
            url: url.to_owned(),
            token,
        },
    )?;
    println!(
        "Logged in to {url} as {username}; token stored in {}.",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Sends a request with the stored token; an answer that is not a success is an error.
async fn send(
    env: &[(String, String)],
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<reqwest::Response, CliError> {
    let creds = load(env)?;
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", creds.url))
        .bearer_auth(&creds.token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.map_err(other)?;
    if !res.status().is_success() {
        return Err(failure(res).await);
    }
    Ok(res)
}

/// Sends a request and reads the answer into its API type (`tumbler-api-types`).
pub(crate) async fn request<T: DeserializeOwned>(
    env: &[(String, String)],
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<T, CliError> {
    send(env, method, path, body)
        .await?
        .json()
        .await
        .map_err(|e| {
            other(format!(
                "the server's answer to {path} could not be read: {e}"
            ))
        })
}

/// Sends a request whose answer has nothing the CLI reads.
pub(crate) async fn request_done(
    env: &[(String, String)],
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<(), CliError> {
    send(env, method, path, body).await.map(drop)
}

async fn user_id(env: &[(String, String)], username: &str) -> Result<String, CliError> {
    let list: Page<UserOut> = request(
        env,
        reqwest::Method::GET,
        &format!("/api/v1/users?limit=500&q={username}"),
        None,
    )
    .await?;
    list.items
        .into_iter()
        .find(|u| u.user.username == username)
        .map(|u| u.user.id)
        .ok_or_else(|| other(format!("no such user: {username}")))
}

/// Asks the caller to prove again who they are: the current password or, when that is left
/// empty, a fresh authentication code (`(current_password, totp)`).
fn ask_proof(from_stdin: bool) -> Result<(Option<String>, Option<String>), CliError> {
    let password = read_secret(
        "Your current password (leave empty to give an authentication code instead): ",
        from_stdin,
    )?;
    if !password.expose_secret().is_empty() {
        return Ok((Some(password.expose_secret().to_owned()), None));
    }
    let code = read_secret("Your authentication code: ", from_stdin)?;
    let code = code.expose_secret().trim().to_owned();
    Ok((None, Some(code).filter(|c| !c.is_empty())))
}

/// What `tumbler user add` creates.
#[derive(clap::Args)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// Email for notifications.
    #[arg(long)]
    pub email: Option<String>,
    /// Display name.
    #[arg(long)]
    pub display_name: Option<String>,
    /// A role (repeat for several).
    #[arg(long = "role")]
    pub roles: Vec<String>,
    /// A remote user (no local password).
    #[arg(long)]
    pub remote: bool,
    /// Read your current password (first line; an empty line, then a code on the next)
    /// from standard input instead of the terminal.
    #[arg(long)]
    pub password_stdin: bool,
}

/// `tumbler user add`: the caller gives their current password (or a code) first, read from
/// the terminal or, with `password_stdin`, from standard input.
pub async fn user_add(env: &[(String, String)], user: NewUser) -> Result<ExitCode, CliError> {
    let NewUser {
        username,
        email,
        display_name,
        roles,
        remote,
        password_stdin,
    } = user;
    let username = username.as_str();
    let (current_password, totp) = ask_proof(password_stdin)?;
    let body = CreateUser {
        username: username.to_owned(),
        display_name,
        email,
        kind: Some(if remote { "remote" } else { "local" }.to_owned()),
        roles,
        domains: Vec::new(),
        current_password,
        totp,
    };
    let body = serde_json::to_value(body).map_err(other)?;
    let created: CreatedUserOut =
        request(env, reqwest::Method::POST, "/api/v1/users", Some(body)).await?;
    println!("Created user {username} (id {}).", created.user.user.id);
    if let Some(pw) = created.temporary_password {
        println!("Temporary password (shown once; must be changed at first login): {pw}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `tumbler user list`
pub async fn user_list(env: &[(String, String)]) -> Result<ExitCode, CliError> {
    let list: Page<UserOut> =
        request(env, reqwest::Method::GET, "/api/v1/users?limit=500", None).await?;
    println!(
        "{:<24} {:<7} {:<9} {:<10} {:<7} roles",
        "username", "type", "status", "password", "locked"
    );
    for u in &list.items {
        println!(
            "{:<24} {:<7} {:<9} {:<10} {:<7} {}",
            u.user.username,
            u.user.kind,
            u.user.status,
            u.password_status,
            if u.locked_out { "yes" } else { "no" },
            u.user.roles.join(",")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `tumbler user disable`
pub async fn user_disable(env: &[(String, String)], username: &str) -> Result<ExitCode, CliError> {
    let id = user_id(env, username).await?;
    request_done(
        env,
        reqwest::Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(
            serde_json::to_value(PatchUser {
                status: Some("disabled".to_owned()),
                ..PatchUser::default()
            })
            .map_err(other)?,
        ),
    )
    .await?;
    println!("Disabled {username}; their sessions have ended.");
    Ok(ExitCode::SUCCESS)
}

/// `tumbler user unlock`
pub async fn user_unlock(env: &[(String, String)], username: &str) -> Result<ExitCode, CliError> {
    let id = user_id(env, username).await?;
    request_done(
        env,
        reqwest::Method::POST,
        &format!("/api/v1/users/{id}/unlock"),
        None,
    )
    .await?;
    println!("Unlocked {username}.");
    Ok(ExitCode::SUCCESS)
}
