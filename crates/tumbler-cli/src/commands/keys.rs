//! `tumbler key ...` and `tumbler device ...`: the system SSH key and key conflicts through the
//! REST API (after `tumbler login`). Passwords, private keys and passphrases are read from a
//! prompt, standard input or a file, never the command line. Commands that start a job wait
//! for it and exit non-zero unless every device succeeded.

use super::client::{read_secret, request};
use super::{other, CliError};
use reqwest::Method;
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tumbler_api_types::answers::JobStarted;
use tumbler_api_types::device_keys::{
    ConflictDevice, JobView, RegenerateIn, ResolveInput, ResolveMode, SystemKeyView,
};
use tumbler_domain::ids::AssetId;
use tumbler_domain::job::JobStatus;

/// How often a waiting command asks how the job is going.
const POLL: Duration = Duration::from_millis(500);
/// How long a waiting command waits.
const JOB_DEADLINE: Duration = Duration::from_secs(3600);

/// `tumbler key show`
pub async fn show(env: &[(String, String)]) -> Result<ExitCode, CliError> {
    let key: SystemKeyView = request(env, Method::GET, "/api/v1/system/ssh-key", None).await?;
    println!("algorithm:    {}", key.algorithm);
    println!("fingerprint:  {}", key.fingerprint);
    // As the API writes it (RFC 3339, `Z`, sub-seconds as stored).
    println!(
        "generated at: {}",
        key.generated_at
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
    if let Some(job) = &key.regeneration_job {
        println!("regeneration under way: job {job}");
    }
    println!("{}", key.public_key);
    Ok(ExitCode::SUCCESS)
}

/// Waits for a job and prints each device's outcome; success when every device succeeded or
/// was skipped.
async fn wait_for_job(env: &[(String, String)], id: &str) -> Result<ExitCode, CliError> {
    let deadline = Instant::now() + JOB_DEADLINE;
    let job = loop {
        let job: JobView = request(env, Method::GET, &format!("/api/v1/jobs/{id}"), None).await?;
        if job.status != JobStatus::Running {
            break job;
        }
        if Instant::now() > deadline {
            return Err(other(format!(
                "job {id} is still running; see GET /api/v1/jobs/{id}"
            )));
        }
        tokio::time::sleep(POLL).await;
    };
    for o in &job.outcomes {
        println!(
            "{:<24} {:<12} {}",
            o.asset_name,
            o.status.as_ref(),
            o.message
        );
    }
    println!("job {id}: {}", job.status.as_ref());
    Ok(if job.status == JobStatus::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `--algorithm` of `tumbler key regenerate`: the algorithms a system key may have.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum KeyAlgorithmArg {
    /// Ed25519 (the default).
    Ed25519,
    /// ECDSA over NIST P-256 or P-384 (`--bits`).
    Ecdsa,
    /// RSA of 2048, 3072 or 4096 bits (`--bits`).
    Rsa,
}

impl KeyAlgorithmArg {
    /// The name the API takes.
    fn as_str(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
            Self::Ecdsa => "ecdsa",
            Self::Rsa => "rsa",
        }
    }
}

/// `tumbler key regenerate`
pub async fn regenerate(
    env: &[(String, String)],
    algorithm: Option<KeyAlgorithmArg>,
    bits: Option<u32>,
) -> Result<ExitCode, CliError> {
    let started: JobStarted = request(
        env,
        Method::POST,
        "/api/v1/system/ssh-key/regenerate",
        Some(
            serde_json::to_value(RegenerateIn {
                algorithm: algorithm.map(|a| a.as_str().to_owned()),
                bits,
            })
            .map_err(other)?,
        ),
    )
    .await?;
    let id = started.job_id;
    println!("Regenerating the system key (job {id})...");
    wait_for_job(env, id.as_str()).await
}

/// What `tumbler device resolve-conflict` was given.
pub struct Resolve {
    /// Devices (names or ids).
    pub devices: Vec<String>,
    /// The device admin user.
    pub admin_user: String,
    /// Create the admin user through the privileged account when missing.
    pub create_user: bool,
    /// Use this private key file instead of the system key.
    pub key_file: Option<PathBuf>,
    /// Read the password or passphrase from standard input.
    pub secret_stdin: bool,
}

/// `tumbler device resolve-conflict`
pub async fn resolve_conflict(env: &[(String, String)], r: Resolve) -> Result<ExitCode, CliError> {
    let mut ids = Vec::new();
    for d in &r.devices {
        ids.push(super::inventory::asset_id(env, d).await?);
    }
    let (mode, admin_password, private_key, passphrase) = match &r.key_file {
        None => {
            let password = read_secret(
                &format!("Password of {} on the device(s): ", r.admin_user),
                r.secret_stdin,
            )?;
            let password = Some(password.expose_secret().to_owned());
            (ResolveMode::SystemKey, password, None, None)
        }
        Some(path) => {
            let key = super::inventory::read_key_file(path)?;
            let passphrase = read_secret("Key passphrase (empty if none): ", r.secret_stdin)?;
            let passphrase = (!passphrase.expose_secret().is_empty())
                .then(|| passphrase.expose_secret().to_owned());
            (ResolveMode::CustomKey, None, Some(key), passphrase)
        }
    };
    let body = ResolveInput {
        mode,
        devices: ids
            .iter()
            .map(|id| ConflictDevice {
                asset_id: AssetId::from_string(id.as_str()),
                admin_user: r.admin_user.clone(),
                admin_password: admin_password.clone(),
                // As before: a custom key logs in as an existing admin user.
                create_user: r.create_user && mode == ResolveMode::SystemKey,
                use_stored_password: false,
            })
            .collect(),
        private_key,
        passphrase,
        totp: None,
    };
    let body = serde_json::to_value(body).map_err(other)?;
    let started: JobStarted = request(
        env,
        Method::POST,
        "/api/v1/key-conflicts/resolve",
        Some(body),
    )
    .await?;
    let id = started.job_id;
    println!("Resolving {} device(s) (job {id})...", ids.len());
    wait_for_job(env, id.as_str()).await
}
