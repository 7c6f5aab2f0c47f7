//! The instances a user may bind into a deployment, and the places that hold them: the rule
//! `deployment_checks::check_bindings` applies (admins may use every instance, anyone else those
//! whose `users` names them or holds `*`: `device_access`), asked of the `devices` table in SQL
//! so a form pages through them instead of loading the fleet.

use sqlx::AnyPool;
use trellis_protocol::api::{BindableFilter, BindablePlace, EVERY_USER};

use super::devices::{DeviceKind, DeviceRow};
use super::to_json;

/// Who is asking: admins may use every instance.
pub struct User<'a> {
    pub name: &'a str,
    pub admin: bool,
}

/// A `WHERE` condition that holds for the rows `user` may use, with its texts to bind from
/// placeholder `$first` on. `users` is a JSON list written compactly, and inside a JSON string a
/// quote is always escaped, so `"name"` set off by `[` or `,` before and `,` or `]` after can only
/// be a whole entry.
fn usable_by(user: &User, first: usize) -> sqlx::Result<(String, Vec<String>)> {
    if user.admin {
        return Ok(("1 = 1".into(), Vec::new()));
    }
    let entry = like_escaped(&to_json(user.name)?);
    let mut texts = Vec::new();
    // `"*"` set off by quotes can only be a whole entry, as a name is below.
    let mut found = vec![format!("users LIKE '%{}%'", to_json(EVERY_USER)?)];
    for (before, after) in [("[", "]"), ("[", ","), (",", ","), (",", "]")] {
        found.push(format!("users LIKE ${} ESCAPE '!'", first + texts.len()));
        texts.push(format!("%{before}{entry}{after}%"));
    }
    Ok((format!("({})", found.join(" OR ")), texts))
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

/// The page of instances of `kind` matching `filter` that `user` may use, by name; and how many
/// match in all.
pub async fn instances(
    db: &AnyPool,
    kind: DeviceKind,
    filter: &BindableFilter,
    user: &User<'_>,
    limit: u32,
    offset: u32,
) -> sqlx::Result<(Vec<DeviceRow>, u64)> {
    let q = filter
        .q
        .as_deref()
        .filter(|q| !q.is_empty())
        .map(|q| format!("%{}%", like_escaped(&q.to_lowercase())));
    let (usable, texts) = usable_by(user, 7)?;
    let conditions = format!(
        "kind = $1 AND type_name = $2 AND ($3 IS NULL OR site = $3) \
         AND ($4 IS NULL OR building = $4) AND ($5 IS NULL OR room = $5) \
         AND ($6 IS NULL OR LOWER(name) LIKE $6 ESCAPE '!') AND {usable}"
    );
    // The columns `DeviceRow` reads.
    let rows_sql = format!(
        "SELECT id, name, type_name, site, building, room, latitude, longitude, labels, users, \
         created_at, state FROM devices WHERE {conditions} ORDER BY name, id \
         LIMIT {limit} OFFSET {offset}"
    );
    let count_sql = format!("SELECT COUNT(*) FROM devices WHERE {conditions}");
    let mut rows = sqlx::query_as::<_, DeviceRow>(&rows_sql);
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    for value in [
        Some(kind.as_str()),
        Some(filter.type_name.as_str()),
        filter.site.as_deref(),
        filter.building.as_deref(),
        filter.room.as_deref(),
        q.as_deref(),
    ] {
        rows = rows.bind(value);
        count = count.bind(value);
    }
    for text in &texts {
        rows = rows.bind(text.as_str());
        count = count.bind(text.as_str());
    }
    let rows = rows.fetch_all(db).await?;
    let total = count.fetch_one(db).await?;
    Ok((rows, total as u64))
}

/// The sites (no `site`), the buildings of `site` (no `building`) or the rooms of `site` and
/// `building` that hold instances of `kind` and `type_name` that `user` may use, each with how
/// many, by name.
pub async fn places(
    db: &AnyPool,
    kind: DeviceKind,
    type_name: &str,
    site: Option<&str>,
    building: Option<&str>,
    user: &User<'_>,
) -> sqlx::Result<Vec<BindablePlace>> {
    let level = match (site, building) {
        (None, _) => "site",
        (Some(_), None) => "building",
        (Some(_), Some(_)) => "room",
    };
    let (usable, texts) = usable_by(user, 5)?;
    let sql = format!(
        "SELECT {level}, COUNT(*) FROM devices WHERE kind = $1 AND type_name = $2 \
         AND ($3 IS NULL OR site = $3) AND ($4 IS NULL OR building = $4) AND {usable} \
         GROUP BY {level} ORDER BY {level}"
    );
    let mut query = sqlx::query_as::<_, (String, i64)>(&sql)
        .bind(kind.as_str())
        .bind(type_name)
        .bind(site)
        .bind(building);
    for text in &texts {
        query = query.bind(text.as_str());
    }
    Ok(query
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|(name, count)| BindablePlace {
            name,
            instances: count as u64,
        })
        .collect())
}
