//! Property-based API testing: Schemathesis (from PyPI, installed into
//! `target/schemathesis-venv` when missing) generates requests from
//! `/api/v1/openapi.json` and checks that no answer is a server error and that every answer's
//! status, content type and body conform to the document. Bounded: a few examples per
//! operation, a fixed seed, a time budget.

use std::path::{Path, PathBuf};
use std::process::Command;
use tumbler_testkit::app::TestApp;

/// The pinned Schemathesis release.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// `target/schemathesis-venv`, created when missing.
fn venv() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/schemathesis-venv");
    let bin = dir.join("bin/schemathesis");
    let installed = Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("4.32.5"));
    if !installed {
        let ok = Command::new("/usr/bin/python3")
            .args(["-m", "venv"])
            .arg(&dir)
            .status()
            .unwrap()
            .success()
            && Command::new(dir.join("bin/pip"))
                .args(["install", "-q", SCHEMATHESIS])
                .status()
                .unwrap()
                .success();
        assert!(
            ok,
            "could not install {SCHEMATHESIS} into {}",
            dir.display()
        );
    }
    dir
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_or_contract_break() {
    let venv = tokio::task::spawn_blocking(venv).await.unwrap();
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let report = tempfile::tempdir().unwrap();
    let schema = app.url("/api/v1/openapi.json");
    let auth = format!("Authorization: Bearer {token}");
    let report_dir = report.path().to_path_buf();
    // Seconds of generation; `SCHEMATHESIS_SECONDS` runs it longer.
    let budget = std::env::var("SCHEMATHESIS_SECONDS").unwrap_or_else(|_| "150".to_owned());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(venv.join("bin/schemathesis"))
            .arg("run")
            .arg(&schema)
            .args(["--header", &auth])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                "8",
                "--seed",
                "20261204",
                "--generation-deterministic",
                "--max-time",
                &budget,
                "--request-timeout",
                "30",
                // One worker: Debian's Python 3.11 can fail inside Hypothesis with "AST
                // constructor recursion depth mismatch" when two threads parse at once.
                "--workers",
                "1",
                "--no-color",
                "--output-sanitize",
                "true",
                "--suppress-health-check",
                "all",
                // Logging out would end the token every later request uses.
                "--exclude-path",
                "/api/v1/auth/logout",
                // Requiring MFA for the token's own role (admin) would leave it nothing but
                // the enrolment, and every later operation would answer 403.
                "--exclude-path",
                "/api/v1/roles/{name}/mfa",
            ])
            .arg("--report-dir")
            .arg(&report_dir)
            // Its cache of crashes goes with the report, not into the source tree.
            .current_dir(&report_dir)
            .env("SCHEMATHESIS_HOOKS", "")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "Schemathesis found problems:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(" generated, ") && stdout.contains(" passed"),
        "no test case ran:\n{stdout}"
    );
    app.stop().await;
}
