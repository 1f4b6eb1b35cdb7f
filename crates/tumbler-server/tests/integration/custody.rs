//! An operator must not obtain a secret they may not reveal: moving an asset sends nothing
//! until someone who may reveal its secrets accepts the new location; secret placeholders in
//! templates, the privileged flag, role and domain grants and foreign nodes are out of an
//! operator's reach; a task that matches nothing does not claim success.

mod foreign_nodes;
mod grants;
mod nothing_matched;
mod relocation;
mod root_shell;
mod secret_templates;
mod secure_mode;

use super::support::ok;
use reqwest::Method;
use serde_json::Value;
use tumbler_testkit::app::TestApp;

async fn audit_text(app: &TestApp, token: &str) -> String {
    ok(
        app,
        token,
        Method::GET,
        "/api/v1/audit?limit=500",
        None,
        200,
    )
    .await
    .to_string()
}

fn names(page: &Value, field: &str) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[field].as_str().unwrap().to_owned())
        .collect()
}
