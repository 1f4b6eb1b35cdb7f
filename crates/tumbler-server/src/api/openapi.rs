//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use serde_json::{json, Value};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tumbler",
        description = "Privileged-credential custodian: REST API"
    ),
    components(schemas(crate::error::ErrorBody))
)]
struct ApiDoc;

/// Error statuses every API operation may answer, each with the error envelope.
const ERROR_STATUSES: [(&str, &str); 8] = [
    (
        "400",
        "The request is malformed or a value is refused (`invalid_json`, `invalid_request`, ...)",
    ),
    (
        "401",
        "Not signed in, or a credential or second factor was wrong",
    ),
    (
        "403",
        "The caller lacks the permission, domain or a fresh second factor",
    ),
    ("409", "The request conflicts with the object's state"),
    ("415", "The body is not `application/json`"),
    (
        "422",
        "The body is JSON but not the expected object (`invalid_json`)",
    ),
    ("429", "Too many attempts; see `Retry-After`"),
    ("500", "Internal error; the log has the request id"),
];

/// Paths that need no credentials.
const PUBLIC_PATHS: [&str; 4] = ["/healthz", "/readyz", "/metrics", "/api/v1/auth/login"];

/// The string fields whose values are data rather than a Rust type: platform ids come from
/// the catalogue, and regeneration accepts the family names (`ecdsa`, `rsa`) beside the
/// algorithms. Every other state field is typed (or documented with `value_type`) and takes
/// its values from the enum that owns them.
fn vocabularies() -> Vec<(&'static str, Vec<&'static str>)> {
    use tumbler_domain::ssh_key::KeyAlgorithm;
    let algorithms = || KeyAlgorithm::ALL.iter().map(|a| a.as_str());
    vec![
        (
            "platform",
            tumbler_domain::platform::catalogue()
                .iter()
                .map(|p| p.id)
                .collect(),
        ),
        (
            "regenerate_algorithm",
            std::iter::once("ed25519")
                .chain(["ecdsa", "rsa"])
                .chain(algorithms().skip(1))
                .collect(),
        ),
    ]
}

/// Which component properties carry which of those vocabularies.
const SCHEMA_ENUMS: [(&str, &str, &str); 4] = [
    ("AssetOut", "platform", "platform"),
    ("CreateAsset", "platform", "platform"),
    ("Platform", "id", "platform"),
    ("RegenerateIn", "algorithm", "regenerate_algorithm"),
];

/// Which query parameters carry which of them: (path, parameter, vocabulary).
const PARAM_ENUMS: [(&str, &str, &str); 1] = [("/api/v1/assets", "platform", "platform")];

/// Gives a string schema its allowed values (keeping `null` allowed where it was).
fn set_enum(schema: &mut Value, values: &[&str]) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let nullable = match obj.get("type") {
        Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
        _ => false,
    };
    let mut list: Vec<Value> = values.iter().map(|v| json!(v)).collect();
    if nullable {
        list.push(Value::Null);
    }
    obj.insert("enum".to_owned(), Value::Array(list));
}

fn add_enums(doc: &mut Value) {
    let vocabularies = vocabularies();
    let values = |name: &str| {
        vocabularies
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    for (component, property, vocabulary) in SCHEMA_ENUMS {
        if let Some(schema) = doc.pointer_mut(&format!(
            "/components/schemas/{component}/properties/{property}"
        )) {
            set_enum(schema, &values(vocabulary));
        }
    }
    for (path, parameter, vocabulary) in PARAM_ENUMS {
        let Some(params) = doc
            .pointer_mut(&format!(
                "/paths/{}/get/parameters",
                path.replace('/', "~1")
            ))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for p in params {
            if p["name"] == parameter {
                if let Some(schema) = p.get_mut("schema") {
                    set_enum(schema, &values(vocabulary));
                }
            }
        }
    }
}

/// The document's fixed parts (title, shared components); the router adds every path.
pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The OpenAPI document of this server, as [`super::routes`] serves it.
pub fn openapi() -> Value {
    complete(super::router().into_openapi())
}

/// The handlers' annotations completed with what holds for every operation (security
/// schemes, the error envelope on every error status, unique operation ids, tags named
/// after the API's areas) and the values of vocabularies.
pub fn complete(doc: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).unwrap_or_else(|_| json!({}));
    add_enums(&mut doc);
    add_policy_read(&mut doc);
    let error = json!({"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}});
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                if !["get", "put", "post", "patch", "delete"].contains(&method.as_str()) {
                    continue;
                }
                complete_operation(path, op, &error);
            }
        }
    }
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) {
        components.insert(
            "securitySchemes".to_owned(),
            json!({
                "bearer": {"type": "http", "scheme": "bearer",
                    "description": "An API token from `POST /api/v1/users/me/tokens`"},
                "basic": {"type": "http", "scheme": "basic",
                    "description": "Username and password"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": crate::middleware::auth::SESSION_COOKIE,
                    "description": "A session from `POST /api/v1/auth/login`; unsafe requests echo its CSRF token in `X-CSRF-Token`"},
            }),
        );
    }
    doc
}

/// The policy as read: the writable shape, except that `custom_blocklist` is there only for
/// callers who may manage settings (the GET leaves it out for everyone else).
fn add_policy_read(doc: &mut Value) {
    let Some(mut read) = doc.pointer("/components/schemas/PolicyBody").cloned() else {
        return;
    };
    if let Some(required) = read.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|field| field != "custom_blocklist");
    }
    read["description"] = json!(
        "The password policy as read; `custom_blocklist` only for callers with settings_manage."
    );
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert("PolicyRead".to_owned(), read);
    }
    if let Some(schema) = doc.pointer_mut(
        "/paths/~1api~1v1~1settings~1password-policy/get/responses/200/content/application~1json/schema",
    ) {
        *schema = json!({"$ref": "#/components/schemas/PolicyRead"});
    }
}

fn complete_operation(path: &str, op: &mut Value, error: &Value) {
    let Some(op) = op.as_object_mut() else {
        return;
    };
    // utoipa tags an operation with its Rust module path (`super::users`): name the area.
    let tag = op
        .get("tags")
        .and_then(|t| t.get(0))
        .and_then(Value::as_str)
        .map(|t| t.rsplit("::").next().unwrap_or(t).to_owned())
        .unwrap_or_else(|| "api".to_owned());
    let id = op
        .get("operationId")
        .and_then(Value::as_str)
        .unwrap_or("operation")
        .to_owned();
    // Handlers in different modules share names (`list`, `create`): prefix the area.
    if !id.starts_with(&format!("{tag}_")) {
        op.insert("operationId".to_owned(), json!(format!("{tag}_{id}")));
    }
    op.insert("tags".to_owned(), json!([tag.replace('_', "-")]));
    let public = PUBLIC_PATHS.contains(&path);
    op.insert(
        "security".to_owned(),
        if public {
            json!([])
        } else {
            json!([{"bearer": []}, {"basic": []}, {"cookie": []}])
        },
    );
    if !path.starts_with("/api/") {
        return;
    }
    let Some(responses) = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
    else {
        return;
    };
    for (status, description) in ERROR_STATUSES {
        if public && (status == "403" || status == "409") {
            continue;
        }
        responses
            .entry(status.to_owned())
            .or_insert_with(|| json!({"description": description}));
    }
    for (status, response) in responses.iter_mut() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if let Some(r) = response.as_object_mut() {
            if is_error && !r.contains_key("content") {
                r.insert("content".to_owned(), error.clone());
            }
            if r.get("description").and_then(Value::as_str) == Some("") {
                let text = ERROR_STATUSES
                    .iter()
                    .find(|(s, _)| s == status)
                    .map_or("", |(_, d)| d);
                r.insert("description".to_owned(), json!(text));
            }
        }
    }
}

/// `GET /api/v1/openapi.json`: the document built once with the router.
pub async fn document(doc: std::sync::Arc<Value>) -> Json<Value> {
    Json(Value::clone(&doc))
}
