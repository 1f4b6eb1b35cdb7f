//! Property tests ("fuzzing" on stable Rust) of CSV import against a real server: random
//! text and structured mutations of valid asset and account files are posted to the import
//! endpoints. Every answer is a report (200) or the JSON error envelope with a 4xx status,
//! never a server error or a dropped connection; a report never lists more rows than the
//! file has lines, and a file with errors stores nothing unless asked to skip them.
//!
//! CI runs a small number of cases; `PROPTEST_CASES=N` runs N per property, e.g.
//! `PROPTEST_CASES=2000 cargo nextest run -p tumbler-server -E 'test(/fuzz_import/)'`.

use super::support::typed;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Client;
use serde_json::Value;
use tumbler_api_types::transfer::{ImportOut, ProblemOut};
use tumbler_api_types::ErrorAnswer;
use tumbler_testkit::app::TestApp;

/// The cases per property: `PROPTEST_CASES` when set (a long run), else `ci_cases`.
fn config(ci_cases: u32) -> Config {
    if std::env::var_os("PROPTEST_CASES").is_some() {
        Config::default()
    } else {
        Config::with_cases(ci_cases)
    }
}

/// Cell values a user may type or a crafted file may hold.
fn cell(valid: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        12 => prop::sample::select(valid).prop_map(str::to_owned),
        1 => prop::sample::select(&[
            "", " ", "\"", "\"\"", ",", ";", "\n", "\r\n", "=1+1", "@SUM(A1)", "-0", "+1",
            "0", "65535", "65536", "-1", "99999999999999999999", "/", "//", "/Default/",
            "a=b", "=", ";;", "true", "yes", "maybe", "password", "ssh_key", "\u{0}", "é",
            "\u{202e}", "x\ty",
        ][..]).prop_map(str::to_owned),
        1 => ".{0,24}",
    ]
}

/// One CSV line from cells, quoted the way a spreadsheet writes them.
fn line(cells: &[String]) -> String {
    cells
        .iter()
        .map(|c| {
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A text-level edit of a whole file: what a broken export or a hand edit does.
fn mutate(text: String, edits: Vec<(prop::sample::Index, u8, String)>) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for (at, kind, s) in edits {
        let i = at.index(chars.len() + 1);
        match kind % 3 {
            0 => {
                let inserted: Vec<char> = s.chars().collect();
                chars.splice(i..i, inserted);
            }
            1 if i < chars.len() => {
                chars.remove(i);
            }
            _ => chars.truncate(i),
        }
    }
    chars.into_iter().collect()
}

fn edits() -> impl Strategy<Value = Vec<(prop::sample::Index, u8, String)>> {
    prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            any::<u8>(),
            prop::sample::select(&["\"", ",", "\n", "\r", "\"\"", ",,", "\u{feff}", "x"][..])
                .prop_map(str::to_owned),
        ),
        0..2,
    )
}

/// How many columns, first in each list, an import requires.
const REQUIRED: usize = 3;

/// A file: a header of known (and rarely unknown) columns in any order, rows of cells for
/// them, then a few text edits; or any text at all.
fn csv_file(
    columns: &'static [(&'static str, &'static [&'static str])],
) -> impl Strategy<Value = String> {
    // The required columns (listed first) nearly always, then any of the others, in any order.
    let optional = columns[REQUIRED..].to_vec();
    let header = (
        prop::bool::weighted(0.95),
        prop::sample::subsequence(optional.clone(), 0..=optional.len()),
    )
        .prop_map(move |(with_required, rest)| {
            let mut cols = if with_required {
                columns[..REQUIRED].to_vec()
            } else {
                Vec::new()
            };
            cols.extend(rest);
            cols
        })
        .prop_shuffle()
        .prop_flat_map(|cols| {
            let extra = prop::option::weighted(0.05, "[a-z_ ]{0,10}");
            (Just(cols), extra)
        });
    let structured = header
        .prop_flat_map(|(cols, extra)| {
            let rows = prop::collection::vec(
                cols.iter()
                    .map(|(_, valid)| cell(valid))
                    .collect::<Vec<_>>(),
                0..6,
            );
            (Just(cols), Just(extra), rows)
        })
        .prop_map(|(cols, extra, rows)| {
            let mut names: Vec<String> = cols.iter().map(|(n, _)| (*n).to_owned()).collect();
            names.extend(extra);
            let mut text = line(&names);
            for row in rows {
                text.push('\n');
                text.push_str(&line(&row));
            }
            text
        });
    prop_oneof![
        4 => structured.clone(),
        4 => (structured, edits()).prop_map(|(t, e)| mutate(t, e)),
        1 => ".{0,200}",
        1 => prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// Asset columns (the required ones first) and values each may take.
const ASSET_COLUMNS: &[(&str, &[&str])] = &[
    ("name", &["web-1", "db-1", "router", "a b", "x"]),
    (
        "address",
        &["10.0.0.1", "host.example", "::1", "a b", "256.1.1.1"],
    ),
    (
        "platform",
        &["linux", "unix", "postgresql", "redis", "junos", "windows"],
    ),
    ("port", &["22", "", "5432", "0"]),
    (
        "nodes",
        &[
            "/Default/Web",
            "/Default/DB;/Default/Prod",
            "",
            "Web",
            "/x//y",
        ],
    ),
    ("domain", &["", "Default", "Nope"]),
    ("comment", &["", "first", "=HYPERLINK(\"x\")"]),
    ("host_key_fingerprint", &["", "SHA256:abc", "SHA256:"]),
];

/// Account columns (the required ones first) and values each may take.
const ACCOUNT_COLUMNS: &[(&str, &[&str])] = &[
    ("asset", &["seed-linux", "seed-db", "nope", ""]),
    ("username", &["alice", "root", "", "a b", "postgres"]),
    (
        "secret",
        &["S3cret-value-1", "", "-----BEGIN OPENSSH PRIVATE KEY-----"],
    ),
    ("domain", &["", "Default", "Nope"]),
    ("secret_type", &["", "password", "ssh_key", "token"]),
    ("privileged", &["", "true", "false", "1"]),
    (
        "options",
        &["", "become=sudo", "become=su;x=y", "bad", "=x"],
    ),
];

/// Posts a file; the status and the JSON body (the server must answer JSON).
async fn post(app: &TestApp, token: &str, path: &str, skip: bool, body: String) -> (u16, Value) {
    let res = Client::new()
        .post(app.url(&format!("{path}?skip_invalid={skip}")))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .expect("the server answers (no dropped connection)");
    let status = res.status().as_u16();
    let text = res.text().await.expect("a body");
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status}: not JSON: {text:?}"));
    (status, json)
}

/// Checks one answer to an import of `file`.
fn check_answer(file: &str, skip: bool, status: u16, body: &Value) -> Result<(), TestCaseError> {
    // Generous: a quoted field may span lines, and the csv reader counts the last line too.
    let lines = file.split('\n').count() as u64 + 1;
    match status {
        200 => {
            let report: ImportOut = typed(body.clone());
            let (imported, skipped) = (report.imported as u64, report.skipped as u64);
            let problems = report.problems;
            prop_assert_eq!(problems.len() as u64, skipped);
            prop_assert!(
                imported + skipped <= lines,
                "{imported} + {skipped} rows from {lines} lines"
            );
            if !skip {
                prop_assert_eq!(
                    skipped,
                    0,
                    "without skip_invalid, a file with errors is refused"
                );
            }
            for p in problems {
                prop_assert!(p.line <= lines, "{p:?}");
            }
        }
        400 | 422 => {
            // The envelope, read whole: a missing code or message fails here.
            let error = typed::<ErrorAnswer>(body.clone()).error;
            let code = error.code.as_str();
            prop_assert!(
                ["invalid_request", "import_rejected"].contains(&code),
                "unexpected code {code}: {body}"
            );
            if code == "import_rejected" {
                let problems: Vec<ProblemOut> = typed(
                    error
                        .details
                        .and_then(|d| d.more.get("problems").cloned())
                        .expect("problems"),
                );
                prop_assert!(!problems.is_empty());
                prop_assert!(problems.len() as u64 <= lines);
            }
        }
        other => prop_assert!(false, "status {other} for an import: {body}"),
    }
    Ok(())
}

/// Runs `cases` posts of generated files to `path`, checking every answer.
fn run(
    rt: &tokio::runtime::Runtime,
    app: &TestApp,
    token: &str,
    path: &str,
    cases: u32,
    columns: &'static [(&'static str, &'static [&'static str])],
) {
    let mut runner = TestRunner::new(config(cases));
    runner
        .run(&(csv_file(columns), any::<bool>()), |(file, skip)| {
            let (status, body) = rt.block_on(post(app, token, path, skip, file.clone()));
            check_answer(&file, skip, status, &body)
        })
        .unwrap();
}

#[test]
fn any_csv_import_is_a_report_or_a_json_error() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(TestApp::spawn());
    rt.block_on(app.activate_admin());
    let token = rt.block_on(app.admin_token());
    // Two assets the account files name, so account rows get past the asset lookup.
    let (status, body) = rt.block_on(post(
        &app,
        &token,
        "/api/v1/assets/import",
        false,
        "name,address,platform\nseed-linux,10.9.0.1,linux\nseed-db,10.9.0.2,postgresql\n"
            .to_owned(),
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(typed::<ImportOut>(body).imported, 2);

    run(
        &rt,
        &app,
        &token,
        "/api/v1/assets/import",
        40,
        ASSET_COLUMNS,
    );
    run(
        &rt,
        &app,
        &token,
        "/api/v1/accounts/import",
        40,
        ACCOUNT_COLUMNS,
    );

    // Still serving after everything it was fed.
    let status = rt
        .block_on(
            Client::new()
                .get(app.url("/api/v1/assets"))
                .bearer_auth(&token)
                .send(),
        )
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 200);
    rt.block_on(app.stop());
}
