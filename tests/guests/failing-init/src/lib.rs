//! An app whose `init` always fails: for testing that a node reports it failing without ever
//! running it, and that an upgrade to it is rolled back.

use trellis_sdk::{App, Param, Reading};

/// What `init` fails with, for tests to look for.
pub const REFUSAL: &str = "failing-init refuses to start";

struct FailingInit;

impl App for FailingInit {
    fn init(_config: Vec<Param>) -> Result<(), String> {
        Err(REFUSAL.into())
    }

    fn on_reading(_reading: Reading) -> Result<(), String> {
        Ok(())
    }
}

trellis_sdk::export_app!(FailingInit);
