//! What the caller may bind into a deployment: the instances of a type they may use, paged, and
//! the places holding them, level by level. The deploy form (and `trellis bindable`) asks these
//! rather than listing the fleet, and they answer by the rule deployments are checked by, so
//! what they offer is what `POST /deployments` accepts.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::{Extension, http::HeaderValue};
use trellis_protocol::api::{BindableFilter, BindableKind, BindablePlace, Device, PlaceFilter};

use crate::auth::{Caller, Role};
use crate::db;
use crate::db::bindable::User;
use crate::db::devices::DeviceKind;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// A page's size when none is asked for, and the most one may ask for.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

fn user(caller: &Caller) -> User<'_> {
    User {
        name: &caller.name,
        admin: caller.role == Role::Admin,
    }
}

fn query_of<T>(query: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    query
        .map(|Query(query)| query)
        .map_err(|e| ApiError::bad_request(format!("the query is not valid: {}", e.body_text())))
}

async fn instances(
    state: &AppState,
    caller: &Caller,
    kind: DeviceKind,
    filter: Result<Query<BindableFilter>, QueryRejection>,
) -> ApiResult<(HeaderMap, Json<Vec<Device>>)> {
    let filter = query_of(filter)?;
    let limit = filter.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit: {limit} is not between 1 and {MAX_LIMIT}"
        ))
        .on("limit"));
    }
    let (rows, total) = db::bindable::instances(
        &state.db,
        kind,
        &filter,
        &user(caller),
        limit,
        filter.offset.unwrap_or(0),
    )
    .await?;
    let devices = rows
        .into_iter()
        .map(|row| row.into_api())
        .collect::<ApiResult<Vec<_>>>()?;
    let mut headers = HeaderMap::new();
    headers.insert("x-total-count", HeaderValue::from(total));
    Ok((headers, Json(devices)))
}

/// Sensor instances of a type the caller may bind into a deployment, by name, a page at a time
/// (the total in `X-Total-Count`).
#[utoipa::path(get, path = "/bindable/sensors", tag = "deployments", security(("token" = [])),
    params(BindableFilter),
    responses((status = 200, body = Vec<Device>, headers(("x-total-count" = u64, description = "How many match in all"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn sensors(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    filter: Result<Query<BindableFilter>, QueryRejection>,
) -> ApiResult<(HeaderMap, Json<Vec<Device>>)> {
    instances(&state, &caller, DeviceKind::Sensor, filter).await
}

/// Controller instances of a type the caller may bind into a deployment, by name, a page at a
/// time (the total in `X-Total-Count`).
#[utoipa::path(get, path = "/bindable/controllers", tag = "deployments", security(("token" = [])),
    params(BindableFilter),
    responses((status = 200, body = Vec<Device>, headers(("x-total-count" = u64, description = "How many match in all"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn controllers(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    filter: Result<Query<BindableFilter>, QueryRejection>,
) -> ApiResult<(HeaderMap, Json<Vec<Device>>)> {
    instances(&state, &caller, DeviceKind::Controller, filter).await
}

/// The sites, the buildings of a site, or the rooms of a building that hold instances of a type
/// the caller may bind into a deployment, each with how many.
#[utoipa::path(get, path = "/bindable/places", tag = "deployments", security(("token" = [])),
    params(PlaceFilter),
    responses((status = 200, body = Vec<BindablePlace>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn places(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    filter: Result<Query<PlaceFilter>, QueryRejection>,
) -> ApiResult<Json<Vec<BindablePlace>>> {
    let filter = query_of(filter)?;
    if filter.building.is_some() && filter.site.is_none() {
        return Err(ApiError::bad_request("building: give the site it is at as well").on("site"));
    }
    let kind = match filter.kind {
        BindableKind::Sensor => DeviceKind::Sensor,
        BindableKind::Controller => DeviceKind::Controller,
    };
    let places = db::bindable::places(
        &state.db,
        kind,
        &filter.type_name,
        filter.site.as_deref(),
        filter.building.as_deref(),
        &user(&caller),
    )
    .await?;
    Ok(Json(places))
}
