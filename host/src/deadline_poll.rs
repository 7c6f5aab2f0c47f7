//! `wasi:io/poll`, bounded by the call's deadline. It is the one place a guest can block inside
//! the host: a sleep (`std::thread::sleep`, `time.sleep`, `setTimeout` in a loop) is a
//! monotonic-clock pollable and `pollable.block`, a timed wait is `poll`. Epoch interruption only
//! fires while guest code runs, so without a bound here a guest asleep in the host would hold its
//! call, and the thread calling it, for as long as it asked. Here every wait ends at the call's
//! deadline, and the call then traps as a deadline miss.
//!
//! Why this and not an async engine with epoch yields: the host's calls stay synchronous (no
//! `component-model-async`, which doubles the cost of every call, see `Cargo.toml`), and nothing
//! else in the host blocks on the guest's behalf: streams go to the log and never wait, stdin is
//! closed, there are no files or sockets.

use std::time::Instant;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::io::poll as async_poll;
use wasmtime_wasi::p2::bindings::sync::io::poll as sync_poll;
use wasmtime_wasi::runtime::in_tokio;

use crate::instance_state::InstanceState;

/// A guest's wait in the host (in `wasi:io/poll`, on a model or on a command's bus) reached the
/// deadline of the call it was made in.
#[derive(Debug)]
pub(crate) struct DeadlineReached;

impl std::fmt::Display for DeadlineReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the guest was still waiting in the host at the call's deadline")
    }
}

impl std::error::Error for DeadlineReached {}

/// Replaces the `wasi:io/poll` that `wasmtime_wasi::p2::add_to_linker_sync` added with one whose
/// waits end at the call's deadline.
pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let added = sync_poll::add_to_linker::<_, DeadlinePoll>(linker, |state| Bounded {
        deadline: state.call_deadline,
        table: &mut state.table,
    });
    linker.allow_shadowing(false);
    added
}

struct DeadlinePoll;

impl HasData for DeadlinePoll {
    type Data<'a> = Bounded<'a>;
}

/// The instance's resources, and when the call in progress must end (`None`: no bound).
struct Bounded<'a> {
    deadline: Option<Instant>,
    table: &'a mut ResourceTable,
}

impl Bounded<'_> {
    /// Runs a wait until it ends or the deadline comes, whichever is first.
    fn until_deadline<R>(
        deadline: Option<Instant>,
        wait: impl Future<Output = wasmtime::Result<R>>,
    ) -> wasmtime::Result<R> {
        let Some(deadline) = deadline else {
            return in_tokio(wait);
        };
        // A wait that is ready at once still succeeds after the deadline: `timeout_at` polls it
        // before looking at the clock.
        in_tokio(async { tokio::time::timeout_at(deadline.into(), wait).await })
            .map_err(|_| wasmtime::Error::new(DeadlineReached))?
    }
}

impl sync_poll::Host for Bounded<'_> {
    fn poll(&mut self, pollables: Vec<Resource<DynPollable>>) -> wasmtime::Result<Vec<u32>> {
        let table = &mut *self.table;
        Self::until_deadline(self.deadline, async_poll::Host::poll(table, pollables))
    }
}

impl sync_poll::HostPollable for Bounded<'_> {
    fn ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        sync_poll::HostPollable::ready(self.table, pollable)
    }

    fn block(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        let table = &mut *self.table;
        Self::until_deadline(
            self.deadline,
            async_poll::HostPollable::block(table, pollable),
        )
    }

    fn drop(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        sync_poll::HostPollable::drop(self.table, pollable)
    }
}
