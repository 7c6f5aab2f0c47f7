//! ONNX Runtime models in worker processes. ONNX Runtime is a C++ library, and an uploaded model
//! is untrusted: one that crashes it, eats memory or runs forever would take the process that
//! loaded it with it (the control plane, or a node and every app on it). Here each model is
//! loaded and run by a process of its own (`trellis model-worker`), within an address-space cap,
//! and each load and run within a deadline. A worker that dies or overruns is stopped; its
//! death is that load's or run's error, and the next run starts a new worker.

use std::ffi::OsString;
use std::io::{BufReader, BufWriter};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crate::backend::{RunError, Session};
use crate::config::ModelConfig;
use crate::error::ModelError;
use crate::tensor_data::TypedTensor;
use crate::worker_wire::{self, Message};

/// How to start a model's worker process, and its limits.
#[derive(Clone, Debug)]
pub struct ModelWorker {
    /// The program, and the arguments that make it serve one model on its stdin and stdout
    /// ([`crate::serve_model_worker`]), e.g. this executable and `model-worker`.
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// The worker's address space: ONNX Runtime's allocations beyond it fail.
    pub memory_bytes: u64,
    /// How long loading a model may take.
    pub load_deadline: Duration,
    /// How long one run of the model (a batch, where it batches) may take.
    pub run_deadline: Duration,
}

impl ModelWorker {
    /// `program args…` with the default limits: 4 GiB of address space, a minute to load and
    /// 30 s a run (the longest a contract call may be allowed by default).
    pub fn new(program: impl Into<PathBuf>, args: &[&str]) -> ModelWorker {
        ModelWorker {
            program: program.into(),
            args: args.iter().map(OsString::from).collect(),
            memory_bytes: 4 << 30,
            load_deadline: Duration::from_secs(60),
            run_deadline: Duration::from_secs(30),
        }
    }
}

/// A model in ONNX Runtime in a worker process.
pub struct WorkerSession {
    worker: ModelWorker,
    /// What a new worker is told to load.
    library: PathBuf,
    onnx: Vec<u8>,
    inputs: Vec<String>,
    outputs: Vec<String>,
    /// The running worker, if one is: runs take turns, as they do in ONNX Runtime in process.
    running: Mutex<Option<Running>>,
}

struct Running {
    child: Child,
    to: BufWriter<ChildStdin>,
    /// Frames from the worker's stdout, read by a thread of its own so a wait can time out.
    from: Receiver<std::io::Result<Message>>,
}

impl WorkerSession {
    /// Starts a worker for the model and waits until it has loaded it: what ONNX Runtime makes
    /// of the file is learnt in the worker, so a model that crashes it at load fails the load.
    pub fn load(
        worker: &ModelWorker,
        library: &Path,
        onnx: &[u8],
        config: &ModelConfig,
    ) -> Result<WorkerSession, ModelError> {
        let session = WorkerSession {
            worker: worker.clone(),
            library: library.to_path_buf(),
            onnx: onnx.to_vec(),
            inputs: config.inputs.iter().map(|t| t.name.clone()).collect(),
            outputs: config.outputs.iter().map(|t| t.name.clone()).collect(),
            running: Mutex::new(None),
        };
        let running = session.start().map_err(|message| ModelError::Backend {
            backend: "onnx-runtime",
            message,
        })?;
        *session.lock() = Some(running);
        Ok(session)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a worker and has it load the model.
    fn start(&self) -> Result<Running, String> {
        let mut command = Command::new(&self.worker.program);
        command
            .args(&self.worker.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = spawn_from_a_lasting_thread(command).map_err(|e| {
            format!(
                "could not start a model worker ({}): {e}",
                self.worker.program.display()
            )
        })?;
        let to = BufWriter::new(child.stdin.take().expect("stdin is piped"));
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let (send, from) = mpsc::channel();
        let reader = std::thread::Builder::new()
            .name("model worker".into())
            .spawn(move || {
                while let Some(frame) = worker_wire::read(&mut stdout).transpose() {
                    let failed = frame.is_err();
                    if send.send(frame).is_err() || failed {
                        break;
                    }
                }
            });
        let mut running = Running { child, to, from };
        if let Err(e) = reader {
            running.stop();
            return Err(format!("could not start a thread to read its worker: {e}"));
        }
        let load = Message::Load {
            library: self.library.clone(),
            memory_bytes: self.worker.memory_bytes,
            onnx: self.onnx.clone(),
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
        };
        match running.exchange(&load, self.worker.load_deadline) {
            Ok(Message::Loaded) => Ok(running),
            Ok(Message::Failed(why)) => Err(why),
            Ok(other) => Err(format!("its worker answered a load with {}", other.kind())),
            Err(lost) => Err(lost.describe("loading the model", self.worker.load_deadline)),
        }
    }
}

impl Session for WorkerSession {
    fn run(&self, inputs: Vec<TypedTensor>) -> Result<Vec<TypedTensor>, RunError> {
        let mut running = self.lock();
        if running.is_none() {
            *running = Some(self.start().map_err(RunError::WorkerStopped)?);
        }
        let worker = running.as_mut().expect("started above");
        match worker.exchange(&Message::Run(inputs), self.worker.run_deadline) {
            Ok(Message::Ran(outputs)) => Ok(outputs),
            Ok(Message::Failed(why)) => Err(RunError::Failed(why)),
            Ok(other) => {
                *running = None;
                Err(RunError::WorkerStopped(format!(
                    "its worker answered a run with {} and was stopped",
                    other.kind()
                )))
            }
            Err(lost) => {
                *running = None;
                Err(RunError::WorkerStopped(format!(
                    "{}; a new worker runs the next prediction",
                    lost.describe("running the model", self.worker.run_deadline)
                )))
            }
        }
    }
}

/// How a worker was lost in the middle of an exchange. It has been stopped by then.
enum Lost {
    /// It did not answer within the deadline.
    Overran,
    /// It ended (or its stream broke) first.
    Died(Option<ExitStatus>),
}

impl Lost {
    fn describe(&self, doing: &str, deadline: Duration) -> String {
        match self {
            Lost::Overran => format!(
                "{doing} took longer than the {} ms allowed, so its worker process was stopped",
                deadline.as_millis()
            ),
            Lost::Died(status) => format!(
                "its worker process died {doing} ({})",
                status.map_or_else(|| "its stream broke".into(), describe_exit)
            ),
        }
    }
}

fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

impl Running {
    /// Sends `message` and waits up to `deadline` for the answer. A worker that overruns or
    /// dies is stopped before this returns.
    fn exchange(&mut self, message: &Message, deadline: Duration) -> Result<Message, Lost> {
        // A write fails where the worker has died; its exit says why, as a failed read would.
        if worker_wire::write(&mut self.to, message).is_err() {
            return Err(Lost::Died(self.stop()));
        }
        match self.from.recv_timeout(deadline) {
            Ok(Ok(answer)) => Ok(answer),
            Err(RecvTimeoutError::Timeout) => {
                self.stop();
                Err(Lost::Overran)
            }
            Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => Err(Lost::Died(self.stop())),
        }
    }

    /// Kills the worker (if it still runs) and reaps it; its exit status, where it has one.
    fn stop(&mut self) -> Option<ExitStatus> {
        // A worker that already died reports how; one that has not is killed here.
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

/// Starts `command` from a thread that lives as long as the process. A worker asks to be killed
/// when its parent dies (`PR_SET_PDEATHSIG`), and Linux takes "parent" to be the thread that
/// started it: started from a pool thread that later retires, it would be killed with it.
fn spawn_from_a_lasting_thread(command: Command) -> std::io::Result<Child> {
    type Request = (Command, mpsc::SyncSender<std::io::Result<Child>>);
    static LAUNCHER: OnceLock<Mutex<mpsc::Sender<Request>>> = OnceLock::new();
    let launcher = LAUNCHER.get_or_init(|| {
        let (send, requests) = mpsc::channel::<Request>();
        // Were the thread not to start, its channel would be closed and each spawn an error.
        let _ = std::thread::Builder::new()
            .name("model workers".into())
            .spawn(move || {
                for (mut command, reply) in requests {
                    let _ = reply.send(command.spawn());
                }
            });
        Mutex::new(send)
    });
    let (reply, child) = mpsc::sync_channel(1);
    let sent = launcher
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .send((command, reply));
    match sent {
        Ok(()) => child.recv().unwrap_or_else(|_| Err(launcher_gone())),
        Err(_) => Err(launcher_gone()),
    }
}

fn launcher_gone() -> std::io::Error {
    std::io::Error::other("the thread that starts model workers is not running")
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
