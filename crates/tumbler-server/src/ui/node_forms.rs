//! Managing the node tree from the Assets page: create, rename, move, delete.

use super::console_form::ConsoleForm;
use super::flash::{redirect_after, Flash};
use super::frame::{ConsoleError, ConsoleResult};
use crate::state::AppState;
use axum::extract::{Path, State};
use serde::Deserialize;
use tumbler_core::inventory::InventoryError;
use tumbler_domain::ids::NodeId;
use tumbler_domain::object::ObjectKind;

/// The node forms.
#[derive(Deserialize)]
pub struct NodeForm {
    action: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    parent: String,
    /// Sent by the delete dialog; a delete without it is refused.
    confirm: Option<String>,
}

/// The Assets page, opened at the node `path` (the root when none).
fn list_at(path: Option<&str>) -> String {
    match path {
        Some(p) => format!(
            "/assets?{}",
            serde_urlencoded::to_string([("node", p)]).unwrap_or_default()
        ),
        None => "/assets".to_owned(),
    }
}

/// `POST /nodes`: create a node (and its missing ancestors).
pub async fn create(State(state): State<AppState>, form: ConsoleForm<NodeForm>) -> ConsoleResult {
    handle(state, form, None).await
}

/// `POST /nodes/{id}`: rename, move or delete a node.
pub async fn change(
    State(state): State<AppState>,
    Path(id): Path<NodeId>,
    form: ConsoleForm<NodeForm>,
) -> ConsoleResult {
    handle(state, form, Some(id)).await
}

async fn handle(state: AppState, form: ConsoleForm<NodeForm>, id: Option<NodeId>) -> ConsoleResult {
    let (p, frame, origin, form) = form.active()?;
    let inventory = &state.inventory;
    if form.action == "delete" && form.confirm.is_none() {
        return Ok(redirect_after(
            &state,
            &frame,
            &list_at(None),
            Flash::unconfirmed(),
        ));
    }
    let mut deleted: Option<String> = None;
    let result: Result<Option<String>, InventoryError> = match (form.action.as_str(), &id) {
        ("create", _) => match inventory.create_node(&p, &form.path, &origin).await {
            Ok(_) => Ok(Some(form.path.trim().trim_end_matches('/').to_owned())),
            Err(e) => Err(e),
        },
        ("rename", Some(id)) => inventory
            .update_node(&p, id, Some(form.name.trim()), None, &origin)
            .await
            .map(|n| Some(n.path.to_string())),
        ("move", Some(id)) => {
            let parent = form.parent.trim();
            let parent = if parent.is_empty() || parent == "/" {
                None
            } else {
                Some(parent)
            };
            inventory
                .update_node(&p, id, None, Some(parent), &origin)
                .await
                .map(|n| Some(n.path.to_string()))
        }
        ("delete", Some(id)) => {
            deleted = inventory
                .nodes(&p)
                .await?
                .into_iter()
                .find(|n| n.id == *id)
                .map(|n| n.path.to_string());
            inventory.delete_node(&p, id, &origin).await.map(|()| None)
        }
        _ => return Err(InventoryError::NotFound(ObjectKind::NodeAction).into()),
    };
    let done = match (form.action.as_str(), deleted) {
        ("create", _) => "Node created.".to_owned(),
        ("rename", _) => "Node renamed.".to_owned(),
        ("move", _) => "Node moved.".to_owned(),
        (_, Some(path)) => format!("Node {path} deleted with the nodes under it."),
        _ => "Node deleted.".to_owned(),
    };
    match result {
        Ok(path) => Ok(redirect_after(
            &state,
            &frame,
            &list_at(path.as_deref()),
            Flash::success(done),
        )),
        Err(e) => {
            let code = e.code();
            let error = ConsoleError::from(e).inline()?;
            Ok(redirect_after(
                &state,
                &frame,
                &list_at(None),
                Flash::error(error).with_code(code),
            ))
        }
    }
}
