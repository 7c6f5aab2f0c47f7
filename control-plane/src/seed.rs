//! A fleet-size registry made quickly, for benchmarks and tests of paging, the location tree
//! and downsampling: instances and readings written straight through the registry's own
//! queries (in batches), not one API call each.

use sqlx::AnyPool;
use trellis_protocol::api::{Location, NewDevice};

use crate::db;
use crate::db::devices::DeviceKind;
use crate::db::readings::NewReading;
use crate::ids::{new_id, now_ms, random_hex};

/// Registers `count` sensors of `type_name` named `{prefix}-00000`…, ten to a room, ten rooms to
/// a building, ten buildings to a site (`{prefix}-site-0`…); returns their ids in name order.
pub async fn sensors(
    db: &AnyPool,
    prefix: &str,
    type_name: &str,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(count);
    let created_at = now_ms();
    for n in 0..count {
        let new = NewDevice {
            name: format!("{prefix}-{n:05}"),
            type_name: type_name.to_string(),
            location: Location {
                site: format!("{prefix}-site-{}", n / 1000),
                building: format!("building-{}", n / 100 % 10),
                room: format!("room-{}", n / 10 % 10),
                latitude: None,
                longitude: None,
            },
            labels: [("floor".to_string(), (n / 10 % 10).to_string())].into(),
            users: vec![trellis_protocol::api::EVERY_USER.into()],
        };
        let id = new_id(DeviceKind::Sensor.id_prefix());
        db::devices::insert(
            db,
            DeviceKind::Sensor,
            &id,
            &new,
            created_at,
            &random_hex(16),
        )
        .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// Stores `count` numeric readings of `sensor`, one every `every_ms` from `since_ms`, the value
/// of the i-th given by `value(i)`, in batches of 10,000.
pub async fn readings(
    db: &AnyPool,
    sensor: &str,
    since_ms: i64,
    every_ms: i64,
    count: usize,
    value: impl Fn(usize) -> f64,
) -> anyhow::Result<()> {
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..count {
        let number = value(i);
        batch.push(NewReading {
            sensor_id: sensor.to_string(),
            at: since_ms + i as i64 * every_ms,
            value: serde_json::Value::from(number).to_string(),
            number: Some(number),
        });
        if batch.len() == 10_000 || i + 1 == count {
            db::readings::insert(db, &batch).await?;
            batch.clear();
        }
    }
    Ok(())
}
