//! The node tree.

use crate::api::json_body::JsonBody;
use crate::api::Page;
use crate::error::ApiError;
use crate::middleware::auth::{Caller, Origin};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use tumbler_api_types::nodes::{CreateNode, NodeOut, PatchNode};
use tumbler_core::inventory::NodeView;
use tumbler_domain::ids::NodeId;

/// The API view of a node.
fn node_out(n: NodeView) -> NodeOut {
    NodeOut {
        id: n.id.to_string(),
        name: n.path.name().to_owned(),
        path: n.path.to_string(),
        parent_id: n.parent_id.map(|p| p.to_string()),
        assets: n.assets,
        assets_in_subtree: n.assets_in_subtree,
    }
}

/// Every node, by path, with asset counts.
#[utoipa::path(get, path = "/api/v1/nodes", responses((status = 200, description = "The node tree", body = Page<NodeOut>)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<Page<NodeOut>>, ApiError> {
    let page: Page<NodeOut> = state
        .inventory
        .nodes(&p)
        .await?
        .into_iter()
        .map(node_out)
        .collect();
    Ok(Json(page))
}

/// Creates a node (and its missing ancestors).
#[utoipa::path(post, path = "/api/v1/nodes", request_body = CreateNode, responses((status = 201, body = NodeOut), (status = 400), (status = 409)))]
pub async fn create(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(req): JsonBody<CreateNode>,
) -> Result<(StatusCode, Json<NodeOut>), ApiError> {
    let id = state.inventory.create_node(&p, &req.path, &origin).await?;
    let node = state
        .inventory
        .nodes(&p)
        .await?
        .into_iter()
        .find(|n| n.id == id)
        .ok_or_else(ApiError::not_found)?;
    Ok((StatusCode::CREATED, Json(node_out(node))))
}

/// Renames and/or moves a node.
#[utoipa::path(patch, path = "/api/v1/nodes/{id}", params(("id" = String, Path)), request_body = PatchNode, responses((status = 200, body = NodeOut), (status = 400), (status = 404), (status = 409)))]
pub async fn patch(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<NodeId>,
    JsonBody(req): JsonBody<PatchNode>,
) -> Result<Json<NodeOut>, ApiError> {
    let parent = req
        .parent
        .as_deref()
        .map(|p| if p.trim() == "/" { None } else { Some(p) });
    let node = state
        .inventory
        .update_node(&p, &id, req.name.as_deref(), parent, &origin)
        .await?;
    Ok(Json(node_out(node)))
}

/// Deletes a node and the empty nodes below it; refused while any holds an asset.
#[utoipa::path(delete, path = "/api/v1/nodes/{id}", params(("id" = String, Path)), responses((status = 204), (status = 404), (status = 409, description = "node_not_empty")))]
pub async fn delete(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<NodeId>,
) -> Result<StatusCode, ApiError> {
    state.inventory.delete_node(&p, &id, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}
