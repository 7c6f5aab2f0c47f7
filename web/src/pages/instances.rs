//! Instances: the registered sensors and controllers, grouped by site → building → room,
//! filtered and paged on the server, with each sensor's reading count and last value and each
//! controller's reported state. Every row names its instance for the page's one live stream,
//! so live updates flow only for the rows on screen.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use maud::{Markup, html};
use serde::Deserialize;
use trellis_protocol::api::{ControllerType, Device, Role, SensorType};

use super::shown::{query, segment, value_text, with_unit};
use crate::Portal;
use crate::assets;
use crate::error::PageError;
use crate::layout;
use crate::viewer::Viewer;

/// Rows on one page of a list.
pub const PAGE_ROWS: usize = 50;

/// Sensors or controllers: one table holds both in the API, each with routes of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sensor,
    Controller,
}

impl Kind {
    /// The kind as a page's address spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Sensor => "sensor",
            Kind::Controller => "controller",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        match text {
            "sensor" => Some(Kind::Sensor),
            "controller" => Some(Kind::Controller),
            _ => None,
        }
    }

    /// Where the API lists this kind.
    pub fn api_path(self) -> &'static str {
        match self {
            Kind::Sensor => "/sensors",
            Kind::Controller => "/controllers",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Kind::Sensor => "Sensors",
            Kind::Controller => "Controllers",
        }
    }
}

/// An instance as the API lists it (with its last reading or commands).
#[derive(Deserialize)]
#[serde(transparent)]
pub struct Row {
    pub device: Device,
}

/// The page's filter and where each list's page starts, as its address carries them.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    site: String,
    #[serde(default)]
    building: String,
    #[serde(default)]
    room: String,
    #[serde(default, rename = "type")]
    type_name: String,
    /// Text in the name (or the place).
    #[serde(default)]
    q: String,
    #[serde(default)]
    sensors_from: usize,
    #[serde(default)]
    controllers_from: usize,
}

impl Filter {
    fn from(&self, kind: Kind) -> usize {
        match kind {
            Kind::Sensor => self.sensors_from,
            Kind::Controller => self.controllers_from,
        }
    }

    /// This page's address with `kind`'s list starting at `from`.
    fn href(&self, kind: Kind, from: usize) -> String {
        let mut moved = self.clone();
        match kind {
            Kind::Sensor => moved.sensors_from = from,
            Kind::Controller => moved.controllers_from = from,
        }
        let (sensors, controllers) = (nonzero(moved.sensors_from), nonzero(moved.controllers_from));
        format!(
            "/instances?{}",
            query([
                ("site", moved.site.as_str()),
                ("building", &moved.building),
                ("room", &moved.room),
                ("type", &moved.type_name),
                ("q", &moved.q),
                ("sensors_from", &sensors),
                ("controllers_from", &controllers),
            ])
        )
    }

    /// What the API narrows a list by, besides text and paging.
    fn narrowing(&self) -> [(&str, &str); 4] {
        [
            ("type", self.type_name.as_str()),
            ("site", &self.site),
            ("building", &self.building),
            ("room", &self.room),
        ]
    }
}

/// A position as a query value, empty (left out) at the start.
fn nonzero(from: usize) -> String {
    if from == 0 {
        String::new()
    } else {
        from.to_string()
    }
}

/// One page of a list, and how many match in all.
struct Listing {
    rows: Vec<Row>,
    total: usize,
    from: usize,
}

/// A page of `kind` matching `filter`, paged by the API (`limit`, `offset`, `q`, and the total
/// in `X-Total-Count`). An API that does not page yet refuses those parameters or leaves the
/// header out; then the whole list is read and paged here, the same way.
async fn listing(
    portal: &Portal,
    viewer: &Viewer,
    kind: Kind,
    filter: &Filter,
) -> Result<Listing, PageError> {
    let from = filter.from(kind);
    let (limit, offset) = (PAGE_ROWS.to_string(), from.to_string());
    let paged = query(filter.narrowing().into_iter().chain([
        ("q", filter.q.as_str()),
        ("limit", &limit),
        ("offset", &offset),
    ]));
    let path = format!("{}?{paged}", kind.api_path());
    let answer = portal
        .api
        .call(Method::GET, &path, Some(&viewer.token), None)
        .await?;
    let total = answer
        .headers
        .get("x-total-count")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok());
    if answer.status.is_success() {
        let rows: Vec<Row> = answer.json()?;
        return Ok(match total {
            Some(total) => Listing { rows, total, from },
            None => page_here(rows, &filter.q, from),
        });
    }
    let unpaged = answer.status == StatusCode::BAD_REQUEST
        && String::from_utf8_lossy(&answer.body).contains("unknown field");
    if !unpaged {
        return Err(answer.error());
    }
    let path = format!("{}?{}", kind.api_path(), query(filter.narrowing()));
    let rows: Vec<Row> = portal.api.get(&viewer.token, &path).await?;
    Ok(page_here(rows, &filter.q, from))
}

/// Pages a whole list as the API does: text found in the name or place (ignoring ASCII case),
/// by name.
fn page_here(mut rows: Vec<Row>, q: &str, from: usize) -> Listing {
    let q = q.to_ascii_lowercase();
    rows.retain(|row| {
        let device = &row.device;
        let location = &device.location;
        [
            &device.name,
            &location.site,
            &location.building,
            &location.room,
        ]
        .iter()
        .any(|text| text.to_ascii_lowercase().contains(&q))
    });
    rows.sort_by(|a, b| a.device.name.cmp(&b.device.name));
    let total = rows.len();
    let rows = rows.into_iter().skip(from).take(PAGE_ROWS).collect();
    Listing { rows, total, from }
}

/// The places instances are at, for the filter's and the registration's suggestions (once the
/// API offers `/locations`; none before).
#[derive(Default)]
pub struct Places {
    pub sites: Vec<String>,
    pub buildings: Vec<String>,
    pub rooms: Vec<String>,
}

#[derive(Deserialize)]
struct Tree {
    sites: Vec<Branch>,
}

#[derive(Deserialize)]
struct Branch {
    name: String,
    #[serde(default)]
    buildings: Vec<Branch>,
    #[serde(default)]
    rooms: Vec<Branch>,
}

impl Places {
    pub async fn of(portal: &Portal, viewer: &Viewer) -> Places {
        let Ok(answer) = portal
            .api
            .call(Method::GET, "/locations", Some(&viewer.token), None)
            .await
        else {
            return Places::default();
        };
        let Ok(tree) = answer.json::<Tree>() else {
            return Places::default();
        };
        let mut places = Places::default();
        for site in tree.sites {
            for building in site.buildings {
                places
                    .rooms
                    .extend(building.rooms.into_iter().map(|r| r.name));
                places.buildings.push(building.name);
            }
            places.sites.push(site.name);
        }
        for names in [&mut places.sites, &mut places.buildings, &mut places.rooms] {
            names.sort();
            names.dedup();
        }
        places
    }

    /// The suggestion lists the inputs name (`list="sites"`, ...).
    pub fn datalists(&self) -> Markup {
        html! {
            @for (id, names) in [("sites", &self.sites), ("buildings", &self.buildings), ("rooms", &self.rooms)] {
                datalist id=(id) { @for name in names { option value=(name) {} } }
            }
        }
    }
}

/// `GET /instances`.
pub async fn show(
    State(portal): State<Portal>,
    viewer: Viewer,
    Query(filter): Query<Filter>,
) -> Result<Markup, PageError> {
    let sensor_types: Vec<SensorType> = portal.api.get(&viewer.token, "/sensor-types").await?;
    let controller_types: Vec<ControllerType> =
        portal.api.get(&viewer.token, "/controller-types").await?;
    let units: BTreeMap<&str, &str> = sensor_types
        .iter()
        .map(|kind| (kind.name.as_str(), kind.unit.as_str()))
        .collect();
    // A type names one kind: only that kind's list can hold it.
    let is_sensor_type = sensor_types.iter().any(|k| k.name == filter.type_name);
    let is_controller_type = controller_types.iter().any(|k| k.name == filter.type_name);
    let mut lists = Vec::new();
    for kind in [Kind::Sensor, Kind::Controller] {
        let excluded = match kind {
            Kind::Sensor => is_controller_type,
            Kind::Controller => is_sensor_type,
        };
        if !excluded {
            lists.push((kind, listing(&portal, &viewer, kind, &filter).await?));
        }
    }
    let places = Places::of(&portal, &viewer).await;
    let filtered = !(filter.site.is_empty()
        && filter.building.is_empty()
        && filter.room.is_empty()
        && filter.type_name.is_empty()
        && filter.q.is_empty());
    Ok(layout::page(
        &viewer,
        "Instances",
        "/instances",
        html! {
            h1 { "Instances" }
            @if viewer.is(&[Role::PlatformConfigurer]) {
                p { a.button href="/instances/new" { "Register a sensor or controller" } }
            }
            (filter_form(&filter, &sensor_types, &controller_types, &places))
            @for (kind, listing) in &lists {
                (list(*kind, listing, &units, &filter, filtered))
            }
            script defer src=(assets::url("instances.js")) {}
        },
    ))
}

fn filter_form(
    filter: &Filter,
    sensor_types: &[SensorType],
    controller_types: &[ControllerType],
    places: &Places,
) -> Markup {
    html! {
        form.panel.grid-form #filter method="get" action="/instances" role="search" {
            label { "Site" input name="site" list="sites" value=(filter.site); }
            label { "Building" input name="building" list="buildings" value=(filter.building); }
            label { "Room" input name="room" list="rooms" value=(filter.room); }
            label {
                "Type"
                select name="type" {
                    option value="" { "Any type" }
                    optgroup label="Sensor types" {
                        @for kind in sensor_types {
                            option value=(kind.name) selected[kind.name == filter.type_name] { (kind.name) }
                        }
                    }
                    optgroup label="Controller types" {
                        @for kind in controller_types {
                            option value=(kind.name) selected[kind.name == filter.type_name] { (kind.name) }
                        }
                    }
                }
            }
            label { "Name contains" input name="q" type="search" value=(filter.q); }
            div.actions { button type="submit" { "Filter" } a href="/instances" { "Clear" } }
            (places.datalists())
        }
    }
}

/// "1–50 of 120", with links to the pages before and after, keeping the filter.
fn pager(kind: Kind, listing: &Listing, filter: &Filter) -> Markup {
    let shown = listing.rows.len();
    let last = listing.from + shown;
    html! {
        nav.pager aria-label={ (kind.title()) " pages" } {
            span data-range {
                @if shown == 0 { "0" } @else { (listing.from + 1) "–" (last) }
                " of " (listing.total)
            }
            @if listing.from > 0 {
                a rel="prev" href=(filter.href(kind, listing.from.saturating_sub(PAGE_ROWS))) { "Previous" }
            }
            @if last < listing.total {
                a rel="next" href=(filter.href(kind, last)) { "Next" }
            }
        }
    }
}

/// One kind's page of rows, grouped by place.
fn list(
    kind: Kind,
    listing: &Listing,
    units: &BTreeMap<&str, &str>,
    filter: &Filter,
    filtered: bool,
) -> Markup {
    let mut rows: Vec<&Row> = listing.rows.iter().collect();
    rows.sort_by(|a, b| {
        let (a, b) = (&a.device, &b.device);
        (
            &a.location.site,
            &a.location.building,
            &a.location.room,
            &a.name,
        )
            .cmp(&(
                &b.location.site,
                &b.location.building,
                &b.location.room,
                &b.name,
            ))
    });
    let groups = rows.chunk_by(|a, b| {
        let (a, b) = (&a.device.location, &b.device.location);
        (&a.site, &a.building, &a.room) == (&b.site, &b.building, &b.room)
    });
    html! {
        section id={ (kind.as_str()) "-list" } {
            h2 { (kind.title()) }
            (pager(kind, listing, filter))
            @if listing.rows.is_empty() {
                p.muted {
                    @if filtered || listing.from > 0 { "None match." } @else { "None registered yet." }
                }
            } @else {
                div.table-wrap {
                    table {
                        thead { tr {
                            th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "Location" }
                            @match kind {
                                Kind::Sensor => { th.num scope="col" { "Readings" } th.num scope="col" { "Last value" } }
                                Kind::Controller => { th scope="col" { "Reported state" } }
                            }
                        } }
                        @for group in groups {
                            @let place = &group[0].device.location;
                            tbody {
                                tr.place {
                                    th colspan="5" scope="rowgroup" {
                                        (place.site) " › " (place.building) " › " (place.room)
                                    }
                                }
                                @for row in group {
                                    (instance_row(kind, row, units))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn instance_row(kind: Kind, row: &Row, units: &BTreeMap<&str, &str>) -> Markup {
    let device = &row.device;
    let place = &device.location;
    let href = format!("/instances/{}/{}", kind.as_str(), segment(&device.id));
    let unit = units.get(device.type_name.as_str()).copied().unwrap_or("");
    html! {
        @match kind {
            Kind::Sensor => {
                tr data-live-sensor=(device.id) data-unit=(unit) {
                    td { a href=(href) { (device.name) } }
                    td { (device.type_name) }
                    td { (place.site) " › " (place.building) " › " (place.room) }
                    td.num data-reading-count { (device.readings.map(|n| n.to_string()).unwrap_or_default()) }
                    td.num data-last-value {
                        @if let Some(last) = &row.device.last_reading {
                            (with_unit(&last.value, unit)) " "
                            small { time datetime=(last.at) { (last.at) } }
                        } @else { span.muted { "—" } }
                    }
                }
            }
            Kind::Controller => {
                tr data-live-controller=(device.id) {
                    td { a href=(href) { (device.name) } }
                    td { (device.type_name) }
                    td { (place.site) " › " (place.building) " › " (place.room) }
                    td data-reported-state {
                        @if let Some(state) = &device.state { code { (value_text(state)) } }
                        @else { span.muted { "not reported yet" } }
                    }
                }
            }
        }
    }
}
