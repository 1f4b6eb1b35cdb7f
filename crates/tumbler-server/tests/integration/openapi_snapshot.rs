//! The OpenAPI document as a reviewed snapshot: any change to a path, a parameter, a schema
//! or a response shows in review as a change to `snapshots/*openapi*.snap`. After an
//! intended API change, run the test with `INSTA_UPDATE=always` (or `cargo insta review`)
//! and commit the new snapshot with the change.

#[test]
fn openapi_document_matches_the_reviewed_snapshot() {
    let doc = tumbler_server::api::openapi::openapi();
    let text = serde_json::to_string_pretty(&doc).expect("the document serialises");
    insta::assert_snapshot!("openapi", text);
}
