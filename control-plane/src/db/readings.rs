//! The `readings` table: what the device gateway accepted from each sensor, for its history.
//! Ranges are summarised in SQL both databases share: the bucket of a reading is
//! `(at - since) / width`, an integer division in SQLite and PostgreSQL alike.

use std::collections::HashMap;

use sqlx::AnyPool;

/// A reading to store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewReading {
    pub sensor_id: String,
    pub at: i64,
    /// The value's JSON.
    pub value: String,
    /// The value as a number, when it is one (a bool as 0 or 1).
    pub number: Option<f64>,
}

/// Rows per statement, 4 values each. Few enough that binding stays cheap: SQLite finds each
/// numbered parameter's name by scanning the statement's list of them, so binding a statement's
/// values costs the square of their count. At 1,000 rows that scan took a quarter of the CPU of
/// a node taking 10,000 readings a second through the gateway.
const ROWS_PER_INSERT: usize = 64;

/// Stores `readings` in one transaction.
pub async fn insert(db: &AnyPool, readings: &[NewReading]) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    for chunk in readings.chunks(ROWS_PER_INSERT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|row| {
                let base = row * 4;
                format!(
                    "(${}, ${}, ${}, ${})",
                    base + 1,
                    base + 2,
                    base + 3,
                    base + 4
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO readings (sensor_id, at, value, number) VALUES {}",
            rows.join(", ")
        );
        let mut insert = sqlx::query(&sql);
        for reading in chunk {
            insert = insert
                .bind(reading.sensor_id.as_str())
                .bind(reading.at)
                .bind(reading.value.as_str())
                .bind(reading.number);
        }
        insert.execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// A sensor's reading count and newest reading.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub last_at: i64,
    /// The newest reading's JSON.
    pub last_value: String,
}

/// The summary of each of `sensors` that has readings, in one query.
pub async fn summaries(db: &AnyPool, sensors: &[String]) -> sqlx::Result<HashMap<String, Summary>> {
    if sensors.is_empty() {
        return Ok(HashMap::new());
    }
    let marks: Vec<String> = (1..=sensors.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT r.sensor_id, c.n, r.at, r.value FROM \
         (SELECT sensor_id, COUNT(*) AS n, MAX(at) AS last_at FROM readings \
          WHERE sensor_id IN ({}) GROUP BY sensor_id) c \
         JOIN readings r ON r.sensor_id = c.sensor_id AND r.at = c.last_at",
        marks.join(", ")
    );
    let mut select = sqlx::query_as::<_, (String, i64, i64, String)>(&sql);
    for sensor in sensors {
        select = select.bind(sensor.as_str());
    }
    let mut found = HashMap::new();
    // Two readings at the newest millisecond: either is the last.
    for (sensor, count, at, value) in select.fetch_all(db).await? {
        found.entry(sensor).or_insert(Summary {
            count: count as u64,
            last_at: at,
            last_value: value,
        });
    }
    Ok(found)
}

/// How many readings `sensor` has in `[since, until)` (either bound open when absent), and the
/// oldest and newest of their times.
pub async fn extent(
    db: &AnyPool,
    sensor: &str,
    since: Option<i64>,
    until: Option<i64>,
) -> sqlx::Result<(u64, Option<i64>, Option<i64>)> {
    let (count, first, last): (i64, Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(at), MAX(at) FROM readings WHERE sensor_id = $1 \
         AND at >= $2 AND at < $3",
    )
    .bind(sensor)
    .bind(since.unwrap_or(i64::MIN))
    .bind(until.unwrap_or(i64::MAX))
    .fetch_one(db)
    .await?;
    Ok((count as u64, first, last))
}

/// `sensor`'s readings in `[since, until)`, oldest first: (time, value JSON).
pub async fn in_range(
    db: &AnyPool,
    sensor: &str,
    since: i64,
    until: i64,
) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "SELECT at, value FROM readings WHERE sensor_id = $1 AND at >= $2 AND at < $3 ORDER BY at",
    )
    .bind(sensor)
    .bind(since)
    .bind(until)
    .fetch_all(db)
    .await
}

/// One bucket of a summarised range.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Bucket {
    /// Its number: it starts at `since + index * width`.
    pub bucket: i64,
    pub count: i64,
    pub min: Option<f64>,
    pub mean: Option<f64>,
    pub max: Option<f64>,
}

/// `sensor`'s readings in `[since, until)` in buckets `width` ms wide from `since`, the ones
/// holding readings, in order.
pub async fn buckets(
    db: &AnyPool,
    sensor: &str,
    since: i64,
    until: i64,
    width: i64,
) -> sqlx::Result<Vec<Bucket>> {
    sqlx::query_as(
        "SELECT (at - $2) / $4 AS bucket, COUNT(*) AS count, MIN(number) AS min, \
         AVG(number) AS mean, MAX(number) AS max FROM readings \
         WHERE sensor_id = $1 AND at >= $2 AND at < $3 GROUP BY 1 ORDER BY 1",
    )
    .bind(sensor)
    .bind(since)
    .bind(until)
    .bind(width)
    .fetch_all(db)
    .await
}

/// Removes the readings taken before `at`; returns how many.
pub async fn delete_older_than(db: &AnyPool, at: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM readings WHERE at < $1")
        .bind(at)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
