//! The REST API, one file per resource. Each handler carries its OpenAPI description, and
//! `utoipa-axum` builds the router and the document from the same list, so they cannot drift.

mod admin;
mod apps;
mod artifacts;
mod auth;
mod bindable;
mod deployment_lifecycle;
mod deployments;
mod device_types;
mod devices;
mod gateway;
mod jobs;
mod json_body;
mod live;
mod locations;
mod logs;
pub(crate) mod metrics;
mod model_stats;
mod models;
mod names;
pub(crate) mod node_api;
mod node_load;
mod node_logs;
mod node_notifications;
mod node_state;
mod nodes;
mod notifications;
mod owners;
mod readings;
mod schedules;
mod sessions;
mod smtp;
mod users;

pub use deployment_lifecycle::STOPPED;
pub(crate) use models::pipeline as model_pipeline;
pub use nodes::issue_node_token;
pub(crate) use users::check_password;
pub use users::insert_user;

use axum::Router;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Every route under `/api/v1` and the OpenAPI document describing them.
pub fn api() -> (Router<AppState>, OpenApi) {
    let v1 = OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(sessions::list))
        .routes(routes!(sessions::revoke))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::change))
        .routes(routes!(users::set_password))
        .routes(routes!(
            device_types::list_sensor_types,
            device_types::create_sensor_type
        ))
        .routes(routes!(device_types::get_sensor_type))
        .routes(routes!(
            device_types::list_controller_types,
            device_types::create_controller_type
        ))
        .routes(routes!(device_types::get_controller_type))
        .routes(routes!(devices::list_sensors, devices::create_sensor))
        .routes(routes!(devices::get_sensor))
        .routes(routes!(devices::rotate_sensor_token))
        .routes(routes!(devices::set_sensor_users))
        .routes(routes!(
            devices::list_controllers,
            devices::create_controller
        ))
        .routes(routes!(devices::get_controller))
        .routes(routes!(devices::rotate_controller_token))
        .routes(routes!(devices::set_controller_users))
        .routes(routes!(nodes::list, nodes::create))
        .routes(routes!(nodes::remove))
        .routes(routes!(nodes::rotate_token))
        .routes(routes!(nodes::drain))
        .routes(routes!(nodes::undrain))
        .routes(routes!(models::list, models::upload))
        .routes(routes!(models::versions))
        .routes(routes!(models::predict))
        .routes(routes!(models::delete))
        .routes(routes!(apps::list, apps::upload))
        .routes(routes!(apps::versions))
        .routes(routes!(apps::delete))
        .routes(routes!(deployments::list, deployments::create))
        .routes(routes!(
            deployments::get,
            deployment_lifecycle::update,
            deployment_lifecycle::delete
        ))
        .routes(routes!(deployment_lifecycle::stop))
        .routes(routes!(deployment_lifecycle::start))
        .routes(routes!(deployment_lifecycle::upgrade))
        .routes(routes!(deployment_lifecycle::rollback))
        .routes(routes!(deployment_lifecycle::history))
        .routes(routes!(artifacts::download))
        .routes(routes!(admin::collect))
        .routes(routes!(node_api::heartbeat))
        .routes(routes!(node_api::assignments))
        .routes(routes!(node_api::artifact))
        .routes(routes!(node_state::get, node_state::put))
        .routes(routes!(gateway::post_reading))
        .routes(routes!(gateway::post_readings))
        .routes(routes!(gateway::commands))
        .routes(routes!(gateway::post_state))
        // Notifications: the SMTP server, recipients, deliveries, and apps' notifications from
        // their nodes.
        .routes(routes!(smtp::get, smtp::put, smtp::delete))
        .routes(routes!(
            notifications::admin_recipients,
            notifications::set_admin_recipients
        ))
        .routes(routes!(notifications::admin_deliveries))
        .routes(routes!(
            notifications::deployment_recipients,
            notifications::set_deployment_recipients
        ))
        .routes(routes!(notifications::deployment_deliveries))
        .routes(routes!(node_notifications::post))
        // Prediction jobs.
        .routes(routes!(jobs::submit))
        .routes(routes!(jobs::list))
        .routes(routes!(jobs::get))
        .routes(routes!(jobs::cancel))
        .routes(routes!(jobs::results))
        // The log service: nodes ship lines; people read, download and follow them.
        .routes(routes!(node_logs::ship))
        .routes(routes!(logs::list))
        .routes(routes!(logs::tail))
        // Readings history and fleet-size lists: a sensor's downsampled history, the places
        // instances are at.
        .routes(routes!(readings::history))
        .routes(routes!(locations::tree))
        // Live views: one event stream per page, and what their charts start from.
        .routes(routes!(live::stream))
        .routes(routes!(node_load::load))
        .routes(routes!(model_stats::stats))
        .routes(routes!(schedules::preview))
        // End users: what they may bind into a deployment, for the deploy form.
        .routes(routes!(bindable::sensors))
        .routes(routes!(bindable::controllers))
        .routes(routes!(bindable::places));
    let (router, mut document) = OpenApiRouter::with_openapi(crate::openapi::document())
        .nest("/api/v1", v1)
        // Prometheus metrics: beside /api/v1, where scrapers look for them.
        .routes(routes!(metrics::serve))
        .split_for_parts();
    crate::openapi::add_common_statuses(&mut document);
    (router, document)
}
