//! The places instances are registered at, as a site → building → room tree with counts per
//! type, for pickers that offer places before devices.

use axum::Json;
use axum::extract::State;
use trellis_protocol::api::{BuildingNode, DeviceCounts, LocationTree, RoomNode, SiteNode};

use crate::db;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;

/// Every site, building and room with instances, with how many of each type are at each.
#[utoipa::path(get, path = "/locations", tag = "registry", security(("token" = [])),
    responses((status = 200, body = LocationTree), (status = 401, body = ErrorBody)))]
pub async fn tree(State(state): State<AppState>) -> ApiResult<Json<LocationTree>> {
    let counts = db::devices::counts_by_place(&state.db).await?;
    Ok(Json(build(counts)))
}

/// The tree of `counts` (site, building, room, kind, type, count), given in place order.
fn build(counts: Vec<(String, String, String, String, String, i64)>) -> LocationTree {
    let mut tree = LocationTree::default();
    for (site, building, room, kind, type_name, count) in counts {
        if tree.sites.last().is_none_or(|s| s.name != site) {
            tree.sites.push(SiteNode {
                name: site,
                counts: DeviceCounts::default(),
                buildings: Vec::new(),
            });
        }
        let site = tree.sites.last_mut().expect("pushed above");
        if site.buildings.last().is_none_or(|b| b.name != building) {
            site.buildings.push(BuildingNode {
                name: building,
                counts: DeviceCounts::default(),
                rooms: Vec::new(),
            });
        }
        let building = site.buildings.last_mut().expect("pushed above");
        if building.rooms.last().is_none_or(|r| r.name != room) {
            building.rooms.push(RoomNode {
                name: room,
                counts: DeviceCounts::default(),
            });
        }
        let room = building.rooms.last_mut().expect("pushed above");
        let count = count as u64;
        for counts in [&mut site.counts, &mut building.counts, &mut room.counts] {
            let by_type = if kind == "sensor" {
                &mut counts.sensors
            } else {
                &mut counts.controllers
            };
            *by_type.entry(type_name.clone()).or_default() += count;
        }
    }
    tree
}
