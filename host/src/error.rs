//! What can go wrong loading a component or calling into one, in words a developer can act on.

use std::time::Duration;

/// A component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not a WebAssembly component (a core module, or not WebAssembly at all).
    #[error("not a WebAssembly component: {0}")]
    NotAComponent(String),
    /// The component does not implement the world; the text names each thing missing or wrong.
    #[error("component does not implement {world}: {problems}")]
    WorldMismatch {
        world: &'static str,
        problems: String,
    },
    /// The engine could not compile or prepare the component.
    #[error("could not prepare component: {0}")]
    Engine(String),
}

/// A call into a guest (or its instantiation) failed. The host and every other instance go on.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The guest ran past its wall-clock deadline and was stopped.
    #[error("`{export}` ran past its deadline of {deadline:?} and was stopped")]
    DeadlineExceeded { export: String, deadline: Duration },
    /// The guest tried to use more memory, tables or instances than its limits allow.
    #[error("`{export}` exceeded a resource limit: {detail}")]
    ResourceLimit { export: String, detail: String },
    /// The guest recursed too deeply.
    #[error("`{export}` exhausted the call stack (runaway recursion?)")]
    StackExhausted { export: String },
    /// The guest trapped: a panic, an `unreachable`, a bad memory access.
    #[error("`{export}` trapped: {message}")]
    Trap { export: String, message: String },
    /// The guest returned something larger than the host accepts.
    #[error("`{export}` returned {bytes} bytes; the limit is {limit}")]
    ResultTooLarge {
        export: String,
        bytes: usize,
        limit: usize,
    },
    /// The guest ran to the end and reported an error of its own.
    #[error("`{export}` failed: {message}")]
    Failed { export: String, message: String },
    /// The instance trapped earlier; a trapped instance is never entered again.
    #[error("the instance stopped after an earlier trap and must be restarted")]
    Stopped,
}

impl CallError {
    /// True if the instance can take further calls after this error.
    pub fn instance_survives(&self) -> bool {
        matches!(
            self,
            CallError::Failed { .. } | CallError::ResultTooLarge { .. }
        )
    }
}
