//! The frame every page shares: head, assets, the navigation the viewer's role can use, and who
//! is signed in.

use maud::{DOCTYPE, Markup, html};
use trellis_protocol::api::Role::{self, *};

use crate::assets;
use crate::viewer::Viewer;

/// A section of the portal, and the roles (besides admins) whose work it holds.
struct Section {
    href: &'static str,
    label: &'static str,
    roles: &'static [Role],
}

/// The navigation, in the order people meet the work.
const SECTIONS: &[Section] = &[
    Section {
        href: "/catalogue",
        label: "Apps to deploy",
        roles: &[EndUser],
    },
    Section {
        href: "/deployments",
        label: "Deployments",
        roles: &[EndUser, AppDeveloper, PlatformConfigurer, DataScientist],
    },
    Section {
        href: "/device-types",
        label: "Device types",
        roles: &[PlatformConfigurer],
    },
    Section {
        href: "/instances",
        label: "Instances",
        roles: &[PlatformConfigurer],
    },
    Section {
        href: "/nodes",
        label: "Nodes",
        roles: &[PlatformConfigurer],
    },
    Section {
        href: "/models",
        label: "Models",
        roles: &[DataScientist],
    },
    Section {
        href: "/apps",
        label: "Apps",
        roles: &[AppDeveloper],
    },
    Section {
        href: "/users",
        label: "Users",
        roles: &[],
    },
];

/// The sections `viewer` may open, as (href, label).
pub fn sections(viewer: &Viewer) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    SECTIONS
        .iter()
        .filter(|section| viewer.is(section.roles))
        .map(|section| (section.href, section.label))
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Trellis" }
            link rel="stylesheet" href=(assets::url("portal.css"));
            link rel="stylesheet" href=(assets::url("uPlot.min.css"));
            script defer src=(assets::url("uPlot.iife.min.js")) {}
            script defer src=(assets::url("portal.js")) {}
            script defer src=(assets::url("charts.js")) {}
        }
    }
}

/// A page for a signed-in viewer, with `current` (an href of [`SECTIONS`]) marked in the
/// navigation.
pub fn page(viewer: &Viewer, title: &str, current: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to the content" }
                header.top {
                    a.brand href="/" { "Trellis" }
                    nav aria-label="Sections" {
                        ul {
                            @for (href, label) in sections(viewer) {
                                li {
                                    a href=(href) aria-current=[(href == current).then_some("page")] { (label) }
                                }
                            }
                        }
                    }
                    form.signout method="post" action="/logout" {
                        input type="hidden" name="csrf" value=(viewer.csrf);
                        span.who { (viewer.name) " · " (viewer.role.as_str()) }
                        button type="submit" { "Sign out" }
                    }
                }
                main #main data-csrf=(viewer.csrf) {
                    (content)
                }
            }
        }
    }
}

/// A page for anyone (signing in, errors): no navigation.
pub fn bare(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top { a.brand href="/" { "Trellis" } }
                (content)
            }
        }
    }
}
