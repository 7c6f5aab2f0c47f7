//! The `owners` table: who owns each model and app name. The first upload of a name claims it;
//! only its owner (and admins) may upload or delete its versions; deleting its last version
//! frees it.

use sqlx::{AnyConnection, AnyPool};

/// What kind of name is owned: the `kind` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owned {
    Model,
    App,
}

impl Owned {
    /// As stored, and as named in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Owned::Model => "model",
            Owned::App => "app",
        }
    }
}

/// The owner of `name`, if any version of it was ever kept.
pub async fn owner(db: &AnyPool, kind: Owned, name: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT owner FROM owners WHERE kind = $1 AND name = $2")
        .bind(kind.as_str())
        .bind(name)
        .fetch_optional(db)
        .await
}

/// Makes `owner` the owner of `name` unless someone already is, on the connection (or
/// transaction) that stores the version.
pub async fn claim(
    connection: &mut AnyConnection,
    kind: Owned,
    name: &str,
    owner: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO owners (kind, name, owner) VALUES ($1, $2, $3) ON CONFLICT (kind, name) DO NOTHING",
    )
    .bind(kind.as_str())
    .bind(name)
    .bind(owner)
    .execute(connection)
    .await?;
    Ok(())
}

/// Frees `name`, once its last version is gone.
pub async fn release(connection: &mut AnyConnection, kind: Owned, name: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM owners WHERE kind = $1 AND name = $2")
        .bind(kind.as_str())
        .bind(name)
        .execute(connection)
        .await?;
    Ok(())
}
