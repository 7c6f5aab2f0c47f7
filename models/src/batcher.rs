//! Dynamic batching, as Triton's dynamic batcher does it: concurrent callers of one model
//! version queue their tensors for the version's batching threads, which stack them along the
//! first dimension into one run of the model and hand each caller its own rows back.
//!
//! A runtime's cost per run (dispatch, scheduling, a kernel's fixed work) is paid once a batch
//! rather than once a caller, and a batched kernel uses the cores better: that is the gain.
//! The price is the wait: the first caller of a batch waits up to `max-delay-us` for others.

use std::collections::VecDeque;
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::backend::{RunError, Session};
use crate::config::Batching;
use crate::tensor_data::TypedTensor;

/// One model version's batching threads and the queue they take callers from: one thread per
/// core, so while one runs a batch (tract runs each on one core) another gathers the next and
/// runs it beside. The threads end when the batcher (its pipeline) is dropped.
pub(crate) struct Batcher {
    queue: Arc<Queue>,
}

/// What a caller gets back.
pub(crate) struct Answer {
    /// Its own rows of the outputs, or the run's error.
    pub outputs: Result<Vec<TypedTensor>, RunError>,
    /// For the first caller of each run: the rows that run took (one caller reports each run).
    pub batch_rows: Option<usize>,
}

struct Job {
    inputs: Vec<TypedTensor>,
    /// The rows it brings: the first dimension its inputs share, or `None` where they do not
    /// share one (it then runs alone, so the model gives the error it would give unbatched).
    rows: Option<usize>,
    arrived: Instant,
    reply: SyncSender<Answer>,
}

struct Queue {
    state: Mutex<State>,
    /// Signalled when a caller arrives, a thread stops gathering, or the batcher closes.
    changed: Condvar,
}

struct State {
    waiting: VecDeque<Job>,
    /// Whether a thread is gathering a batch: one at a time, so callers who arrive together
    /// meet in one batch rather than in one per thread.
    gathering: bool,
    closed: bool,
}

impl Batcher {
    /// Starts the threads that run `session` in batches for the model `name`.
    pub(crate) fn start(
        name: &str,
        session: Arc<dyn Session>,
        batching: &Batching,
    ) -> std::io::Result<Batcher> {
        let queue = Arc::new(Queue {
            state: Mutex::new(State {
                waiting: VecDeque::new(),
                gathering: false,
                closed: false,
            }),
            changed: Condvar::new(),
        });
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        for _ in 0..threads {
            let (session, settings, theirs) = (session.clone(), batching.clone(), queue.clone());
            let started = std::thread::Builder::new()
                .name(format!("batch {name}"))
                .spawn(move || serve(session.as_ref(), &settings, &theirs));
            if let Err(e) = started {
                queue.close();
                return Err(e);
            }
        }
        Ok(Batcher { queue })
    }

    /// Runs the model on `inputs` as part of a batch; blocks until its rows are back.
    pub(crate) fn run(&self, inputs: Vec<TypedTensor>) -> Answer {
        let rows = inputs.first().and_then(|t| t.shape.first().copied());
        let rows = rows.filter(|&n| inputs.iter().all(|t| t.shape.first() == Some(&n)));
        let (reply, answer) = mpsc::sync_channel(1);
        self.queue.lock().waiting.push_back(Job {
            inputs,
            rows,
            arrived: Instant::now(),
            reply,
        });
        self.queue.changed.notify_all();
        answer.recv().unwrap_or_else(|_| Answer {
            outputs: Err(RunError::Failed(
                "the model's batching thread has stopped".into(),
            )),
            batch_rows: None,
        })
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        self.queue.close();
    }
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    fn wait<'a>(&self, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed
            .wait(state)
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Gathers and runs batches until the batcher is dropped.
fn serve(session: &dyn Session, settings: &Batching, queue: &Queue) {
    while let Some((batch, rows)) = gather(settings, queue) {
        run(session, batch, rows);
    }
}

/// The next batch and its rows: the first caller waiting, and those after it that fit, waiting
/// until `max-delay-us` after the first arrived for the batch to fill. `None` once the batcher
/// is dropped.
fn gather(settings: &Batching, queue: &Queue) -> Option<(Vec<Job>, usize)> {
    let most = settings.max_batch as usize;
    let mut state = queue.lock();
    while state.gathering || state.waiting.is_empty() {
        if state.closed && !state.gathering {
            return None;
        }
        state = queue.wait(state);
    }
    state.gathering = true;
    let first = state.waiting.pop_front().expect("someone is waiting");
    let deadline = first.arrived + settings.max_delay();
    let mut rows = first.rows.unwrap_or(most);
    let mut batch = vec![first];
    while rows < most {
        // A caller who does not fit stays first in line for the next batch.
        match state.waiting.front() {
            Some(next) => match next.rows {
                Some(more) if rows + more <= most && stacks(&batch[0], next) => {
                    rows += more;
                    batch.extend(state.waiting.pop_front());
                }
                _ => break,
            },
            None => {
                let now = Instant::now();
                if now >= deadline || state.closed {
                    break;
                }
                state = queue
                    .changed
                    .wait_timeout(state, deadline - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
    }
    state.gathering = false;
    drop(state);
    queue.changed.notify_all();
    Some((batch, rows))
}

/// Whether `job`'s inputs stack under `first`'s: the same dimensions after the first.
fn stacks(first: &Job, job: &Job) -> bool {
    first
        .inputs
        .iter()
        .zip(&job.inputs)
        .all(|(a, b)| a.shape.get(1..) == b.shape.get(1..))
}

/// Runs one batch and answers each of its callers. Where the model fails on the batch or does
/// not answer row for row, each caller's tensors run alone, so each gets the answer or error it
/// would have had unbatched.
fn run(session: &dyn Session, mut batch: Vec<Job>, rows: usize) {
    if batch.len() == 1 {
        let job = batch.remove(0);
        let outputs = session.run(job.inputs);
        let _ = job.reply.send(Answer {
            outputs,
            batch_rows: Some(job.rows.unwrap_or(1)),
        });
        return;
    }
    let per_job: Vec<usize> = batch.iter().map(|j| j.rows.unwrap_or(0)).collect();
    let stacked: Option<Vec<TypedTensor>> = (0..batch[0].inputs.len())
        .map(|k| TypedTensor::stack(&batch.iter().map(|j| &j.inputs[k]).collect::<Vec<_>>()))
        .collect();
    let split = stacked
        .and_then(|stacked| session.run(stacked).ok())
        .and_then(|outputs| {
            outputs
                .iter()
                .map(|o| o.split(&per_job))
                .collect::<Option<Vec<Vec<TypedTensor>>>>()
        });
    match split {
        Some(by_output) => {
            let mut pieces: Vec<_> = by_output.into_iter().map(Vec::into_iter).collect();
            for (i, job) in batch.into_iter().enumerate() {
                let mine = pieces
                    .iter_mut()
                    .map(|of_output| of_output.next().expect("one piece per caller"))
                    .collect();
                let _ = job.reply.send(Answer {
                    outputs: Ok(mine),
                    batch_rows: (i == 0).then_some(rows),
                });
            }
        }
        None => {
            for job in batch {
                let rows = job.rows.unwrap_or(1);
                let outputs = session.run(job.inputs);
                let _ = job.reply.send(Answer {
                    outputs,
                    batch_rows: Some(rows),
                });
            }
        }
    }
}
