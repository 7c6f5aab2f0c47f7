//! The `controller_commands` table: the commands the device gateway handed each controller, so
//! the last few can be shown with it.

use std::collections::HashMap;

use sqlx::AnyPool;

/// A command handed to a controller.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct SentCommandRow {
    pub controller_id: String,
    pub at: i64,
    pub deployment_id: String,
    /// The command's JSON.
    pub command: String,
}

/// Stores `commands` in one statement.
pub async fn insert(db: &AnyPool, commands: &[SentCommandRow]) -> sqlx::Result<()> {
    if commands.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (0..commands.len())
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
        "INSERT INTO controller_commands (controller_id, at, deployment_id, command) VALUES {}",
        rows.join(", ")
    );
    let mut insert = sqlx::query(&sql);
    for command in commands {
        insert = insert
            .bind(command.controller_id.as_str())
            .bind(command.at)
            .bind(command.deployment_id.as_str())
            .bind(command.command.as_str());
    }
    insert.execute(db).await?;
    Ok(())
}

/// The newest `per_controller` commands of each of `controllers`, newest first, in one query.
pub async fn latest(
    db: &AnyPool,
    controllers: &[String],
    per_controller: i64,
) -> sqlx::Result<HashMap<String, Vec<SentCommandRow>>> {
    if controllers.is_empty() {
        return Ok(HashMap::new());
    }
    let marks: Vec<String> = (2..controllers.len() + 2)
        .map(|i| format!("${i}"))
        .collect();
    let sql = format!(
        "SELECT controller_id, at, deployment_id, command FROM \
         (SELECT controller_id, at, deployment_id, command, ROW_NUMBER() OVER \
          (PARTITION BY controller_id ORDER BY at DESC) AS place FROM controller_commands \
          WHERE controller_id IN ({})) ranked \
         WHERE place <= $1 ORDER BY controller_id, at DESC",
        marks.join(", ")
    );
    let mut select = sqlx::query_as::<_, SentCommandRow>(&sql).bind(per_controller);
    for controller in controllers {
        select = select.bind(controller.as_str());
    }
    let mut found: HashMap<String, Vec<SentCommandRow>> = HashMap::new();
    for row in select.fetch_all(db).await? {
        found
            .entry(row.controller_id.clone())
            .or_default()
            .push(row);
    }
    Ok(found)
}

/// Removes the commands handed out before `at`; returns how many.
pub async fn delete_older_than(db: &AnyPool, at: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM controller_commands WHERE at < $1")
        .bind(at)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
