//! A runtime that panics on a malformed model (tract does, on some broken graphs) must not take
//! the caller's thread with it, be that an upload's check in the control plane or a node's
//! instance: the panic becomes that model's error and everything else goes on.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `work`; a panic inside it comes back as its message.
pub fn caught<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    // Unwind safety: what `work` touches is either dropped with it (a model being built) or
    // read-only (a planned model run with inputs of its own).
    catch_unwind(AssertUnwindSafe(work)).map_err(|payload| panic_message(payload.as_ref()))
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    format!("the runtime failed on this model: {text}")
}
