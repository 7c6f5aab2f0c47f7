//! An app that traps on every reading and every tick: for testing that a node restarts it with
//! backoff, reports why, and leaves its neighbours alone.

use trellis_sdk::{App, Reading};

struct Crashy;

impl App for Crashy {
    fn on_reading(_reading: Reading) -> Result<(), String> {
        panic!("crashy traps on every reading")
    }

    fn on_tick() -> Result<(), String> {
        panic!("crashy traps on every tick")
    }
}

trellis_sdk::export_app!(Crashy);
