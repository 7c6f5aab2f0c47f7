//! The `devices` table: sensor and controller instances, one table for both, told apart by
//! `kind`.

use sqlx::AnyPool;
use trellis_protocol::api::{Device, DeviceFilter, Location, NewDevice};

use super::logs::Dialect;
use super::{from_json, to_json};
use crate::error::ApiResult;
use crate::ids::rfc3339;

/// Sensor or controller: the `kind` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    Sensor,
    Controller,
}

impl DeviceKind {
    /// As stored, and as named in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Sensor => "sensor",
            DeviceKind::Controller => "controller",
        }
    }

    /// The start of an instance id, so an id says what it names (`sen_…`, `ctl_…`).
    pub fn id_prefix(self) -> &'static str {
        match self {
            DeviceKind::Sensor => "sen",
            DeviceKind::Controller => "ctl",
        }
    }
}

/// A stored instance, without its kind (the query asked for one) or its token hash (never
/// shown). `labels` and `users` are JSON; `state` is the JSON a controller last reported.
#[derive(sqlx::FromRow)]
pub struct DeviceRow {
    pub id: String,
    pub name: String,
    pub type_name: String,
    pub site: String,
    pub building: String,
    pub room: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub labels: String,
    pub users: String,
    pub created_at: i64,
    pub state: Option<String>,
}

impl DeviceRow {
    /// The instance as the API shows it, before the gateway adds its counts.
    pub fn into_api(self) -> ApiResult<Device> {
        Ok(Device {
            id: self.id,
            name: self.name,
            type_name: self.type_name,
            location: Location {
                site: self.site,
                building: self.building,
                room: self.room,
                latitude: self.latitude,
                longitude: self.longitude,
            },
            labels: from_json(&self.labels)?,
            users: from_json(&self.users)?,
            created_at: rfc3339(self.created_at),
            // A state that does not parse is shown as none rather than failing the listing.
            state: self.state.and_then(|s| serde_json::from_str(&s).ok()),
            readings: None,
            last_reading: None,
            last_commands: None,
            token: None,
        })
    }
}

/// The device a gateway token belongs to.
#[derive(sqlx::FromRow)]
pub struct TokenHolder {
    pub id: String,
    pub kind: String,
}

/// What a [`DeviceRow`] reads.
const COLUMNS: &str = "id, name, type_name, site, building, room, latitude, longitude, labels, users, created_at, state";

/// Instances of `kind` matching `filter`, by name, the filter's page of them; and how many
/// match in all. Labels are JSON text, which the SQL both databases share cannot look into, so
/// a label is found as text: the map is written compactly with its keys in order, and
/// `"key":"value"` set off by `{` or `,` before and `,` or `}` after can only be a whole entry
/// (a quote inside a string is always escaped).
pub async fn list(
    db: &AnyPool,
    dialect: Dialect,
    kind: DeviceKind,
    filter: &DeviceFilter,
    label: Option<(&str, &str)>,
) -> sqlx::Result<(Vec<DeviceRow>, u64)> {
    let mut conditions = String::from(
        "kind = $1 AND ($2 IS NULL OR type_name = $2) AND ($3 IS NULL OR site = $3) \
         AND ($4 IS NULL OR building = $4) AND ($5 IS NULL OR room = $5)",
    );
    let mut texts: Vec<String> = Vec::new();
    if let Some(q) = filter.q.as_deref().filter(|q| !q.is_empty()) {
        let n = 6 + texts.len();
        conditions.push_str(&format!(
            " AND (LOWER(name) LIKE ${n} ESCAPE '!' OR LOWER(site) LIKE ${n} ESCAPE '!' \
             OR LOWER(building) LIKE ${n} ESCAPE '!' OR LOWER(room) LIKE ${n} ESCAPE '!')"
        ));
        texts.push(format!("%{}%", like_escaped(&q.to_lowercase())));
    }
    if let Some((key, value)) = label {
        let entry = format!("{}:{}", to_json(key)?, to_json(value)?);
        let find = match dialect {
            Dialect::Sqlite => "instr",
            Dialect::Postgres => "strpos",
        };
        let mut found = Vec::new();
        for (before, after) in [("{", ","), ("{", "}"), (",", ","), (",", "}")] {
            found.push(format!("{find}(labels, ${}) > 0", 6 + texts.len()));
            texts.push(format!("{before}{entry}{after}"));
        }
        conditions.push_str(&format!(" AND ({})", found.join(" OR ")));
    }
    let mut page = String::new();
    if let Some(limit) = filter.limit {
        page.push_str(&format!(" LIMIT {limit}"));
    }
    if let Some(offset) = filter.offset {
        if filter.limit.is_none() {
            // Both databases need a LIMIT before an OFFSET; this one holds every row.
            page.push_str(&format!(" LIMIT {}", i64::MAX));
        }
        page.push_str(&format!(" OFFSET {offset}"));
    }
    let rows_sql =
        format!("SELECT {COLUMNS} FROM devices WHERE {conditions} ORDER BY name, id{page}");
    let count_sql = format!("SELECT COUNT(*) FROM devices WHERE {conditions}");
    let mut rows = sqlx::query_as::<_, DeviceRow>(&rows_sql);
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    for value in [
        Some(kind.as_str()),
        filter.type_name.as_deref(),
        filter.site.as_deref(),
        filter.building.as_deref(),
        filter.room.as_deref(),
    ] {
        rows = rows.bind(value);
        count = count.bind(value);
    }
    for text in &texts {
        rows = rows.bind(text.as_str());
        count = count.bind(text.as_str());
    }
    let rows = rows.fetch_all(db).await?;
    // A page that holds every match needs no count.
    let total = if filter.limit.is_none() && filter.offset.is_none() {
        rows.len() as i64
    } else {
        count.fetch_one(db).await?
    };
    Ok((rows, total as u64))
}

/// `text` for a LIKE pattern with `!` as its escape character, matching only itself.
fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '!' | '%' | '_') {
            escaped.push('!');
        }
        escaped.push(c);
    }
    escaped
}

/// How many instances of each kind and type are at each room: (site, building, room, kind,
/// type, count), by place.
pub async fn counts_by_place(
    db: &AnyPool,
) -> sqlx::Result<Vec<(String, String, String, String, String, i64)>> {
    sqlx::query_as(
        "SELECT site, building, room, kind, type_name, COUNT(*) FROM devices \
         GROUP BY site, building, room, kind, type_name ORDER BY site, building, room",
    )
    .fetch_all(db)
    .await
}

/// The instance `id` of `kind`, if there is one.
pub async fn find(db: &AnyPool, kind: DeviceKind, id: &str) -> sqlx::Result<Option<DeviceRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM devices WHERE kind = $1 AND id = $2"
    ))
    .bind(kind.as_str())
    .bind(id)
    .fetch_optional(db)
    .await
}

/// The device holding the gateway token kept as `token_hash`, if any.
pub async fn find_by_token(db: &AnyPool, token_hash: &str) -> sqlx::Result<Option<TokenHolder>> {
    sqlx::query_as("SELECT id, kind FROM devices WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(db)
        .await
}

/// The ids of every controller, whose commands the gateway keeps from startup on.
pub async fn controller_ids(db: &AnyPool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT id FROM devices WHERE kind = 'controller'")
        .fetch_all(db)
        .await
}

/// Registers `new` as instance `id` of `kind`, with the gateway token kept as `token_hash`; a
/// name already taken by an instance of the same kind fails on the unique key.
pub async fn insert(
    db: &AnyPool,
    kind: DeviceKind,
    id: &str,
    new: &NewDevice,
    created_at: i64,
    token_hash: &str,
) -> sqlx::Result<()> {
    let location = &new.location;
    sqlx::query(
        "INSERT INTO devices (kind, id, name, type_name, site, building, room, latitude, longitude, labels, users, created_at, token_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(kind.as_str())
    .bind(id)
    .bind(&new.name)
    .bind(&new.type_name)
    .bind(&location.site)
    .bind(&location.building)
    .bind(&location.room)
    .bind(location.latitude)
    .bind(location.longitude)
    .bind(to_json(&new.labels)?)
    .bind(to_json(&new.users)?)
    .bind(created_at)
    .bind(token_hash)
    .execute(db)
    .await?;
    Ok(())
}

/// Gives instance `id` of `kind` the gateway token kept as `token_hash`, so its old token is
/// refused from the next request on; false if there is no such instance.
pub async fn set_token(
    db: &AnyPool,
    kind: DeviceKind,
    id: &str,
    token_hash: &str,
) -> sqlx::Result<bool> {
    let updated = sqlx::query("UPDATE devices SET token_hash = $1 WHERE kind = $2 AND id = $3")
        .bind(token_hash)
        .bind(kind.as_str())
        .bind(id)
        .execute(db)
        .await?;
    Ok(updated.rows_affected() > 0)
}

/// Replaces the list of users device `id` is granted to; `false` if there is no such device.
pub async fn set_users(
    db: &AnyPool,
    kind: DeviceKind,
    id: &str,
    users: &[String],
) -> sqlx::Result<bool> {
    let updated = sqlx::query("UPDATE devices SET users = $1 WHERE kind = $2 AND id = $3")
        .bind(to_json(&users)?)
        .bind(kind.as_str())
        .bind(id)
        .execute(db)
        .await?;
    Ok(updated.rows_affected() > 0)
}

/// Keeps `state` (JSON) as what controller `id` last reported.
pub async fn set_state(db: &AnyPool, id: &str, state: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE devices SET state = $1 WHERE id = $2")
        .bind(state)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
