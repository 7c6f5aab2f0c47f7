//! Users (admins): everyone with their role and whether they may sign in; create a user, change
//! a role, disable or enable. The API refuses anyone else, and so this page does.

use axum::extract::State;
use maud::{Markup, html};
use trellis_protocol::api::{Role, User};

use super::shown::{error_spot, segment};
use crate::Portal;
use crate::error::PageError;
use crate::layout;
use crate::viewer::Viewer;

/// `GET /users`.
pub async fn show(State(portal): State<Portal>, viewer: Viewer) -> Result<Markup, PageError> {
    let users: Vec<User> = portal.api.get(&viewer.token, "/users").await?;
    Ok(layout::page(
        &viewer,
        "Users",
        "/users",
        html! {
            h1 { "Users" }
            div.table-wrap { table #users {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "State" }
                    th scope="col" { "Created" }
                } }
                tbody { @for user in &users { (row(&viewer, user)) } }
            } }
            section.panel #new-user {
                h2 { "Create a user" }
                form.grid-form data-api="POST /api/v1/users" data-then="reload" {
                    label { "Name" input name="name" required autocomplete="off"; (error_spot("name")) }
                    label {
                        "Password (at least 8 characters)"
                        input name="password" type="password" required minlength="8" autocomplete="new-password";
                        (error_spot("password"))
                    }
                    label { "Role" (role_select(Role::EndUser)) (error_spot("role")) }
                    div { button type="submit" { "Create user" } (error_spot("")) }
                }
            }
        },
    ))
}

fn role_select(current: Role) -> Markup {
    html! {
        select name="role" {
            @for role in Role::ALL {
                option value=(role.as_str()) selected[role == current] { (role.as_str()) }
            }
        }
    }
}

fn row(viewer: &Viewer, user: &User) -> Markup {
    let change = format!("PATCH /api/v1/users/{}", segment(&user.name));
    let yourself = user.name == viewer.name;
    html! {
        tr {
            th scope="row" { (user.name) @if yourself { " (you)" } }
            td {
                form.actions data-api=(change) data-then="reload" {
                    label { span.skip { "Role of " (user.name) } (role_select(user.role)) }
                    button.secondary type="submit" { "Change role" }
                    (error_spot(""))
                }
            }
            td {
                form.actions data-api=(change) data-then="reload" {
                    @if user.disabled {
                        span.state data-state="failed" { "disabled" }
                        input type="hidden" name="disabled" data-type="json" value="false";
                        button.secondary type="submit" { "Enable" }
                    } @else {
                        span.state data-state="running" { "active" }
                        @if !yourself {
                            input type="hidden" name="disabled" data-type="json" value="true";
                            button.secondary type="submit" { "Disable" }
                        }
                    }
                    (error_spot(""))
                }
            }
            td { time datetime=(user.created_at) { (user.created_at) } }
        }
    }
}
