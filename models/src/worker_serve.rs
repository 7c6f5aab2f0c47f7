//! The worker side of [`crate::worker`]: a process that loads one model into ONNX Runtime and
//! runs it for its parent, one message at a time over stdin and stdout, until stdin closes.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::os::fd::FromRawFd;

use crate::backend::Session;
use crate::onnx_runtime::{self, OrtSession};
use crate::worker_wire::{self, Message};

/// Serves one model to the parent process: the body of `trellis model-worker`. Returns when the
/// parent closes stdin (it is done with the model) or a frame cannot be read.
pub fn serve_model_worker() -> anyhow::Result<()> {
    // A worker outlives no parent: were the parent killed, its workers are killed too.
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number and touches no memory.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let mut replies = BufWriter::new(private_stdout()?);
    let mut requests = BufReader::new(std::io::stdin().lock());
    let Some(Message::Load {
        library,
        memory_bytes,
        onnx,
        inputs,
        outputs,
    }) = worker_wire::read(&mut requests)?
    else {
        anyhow::bail!("a model worker's first message must be the model to load");
    };
    cap_address_space(memory_bytes)?;
    let session = onnx_runtime::initialise(&library)
        .map_err(|e| e.to_string())
        .and_then(|()| OrtSession::load_named(&onnx, inputs, outputs).map_err(|e| e.to_string()));
    drop(onnx);
    let session = match session {
        Ok(session) => {
            worker_wire::write(&mut replies, &Message::Loaded)?;
            session
        }
        Err(why) => {
            worker_wire::write(&mut replies, &Message::Failed(why))?;
            return Ok(());
        }
    };
    while let Some(message) = worker_wire::read(&mut requests)? {
        let Message::Run(inputs) = message else {
            anyhow::bail!(
                "a model worker takes runs after its load, not {}",
                message.kind()
            );
        };
        let answer = match session.run(inputs) {
            Ok(outputs) => Message::Ran(outputs),
            Err(why) => Message::Failed(why.to_string()),
        };
        worker_wire::write(&mut replies, &answer)?;
    }
    Ok(())
}

/// The stream to the parent, kept to this module: the process's stdout (fd 1) is pointed at its
/// stderr, so whatever ONNX Runtime or anything else prints cannot break the frames.
fn private_stdout() -> std::io::Result<File> {
    // SAFETY: dup and dup2 act on file descriptors only; the new descriptor is owned by the
    // `File` alone, and fd 1 stays open (as stderr's duplicate) for whoever writes to it.
    unsafe {
        let frames = libc::dup(1);
        if frames < 0 || libc::dup2(2, 1) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(File::from_raw_fd(frames))
    }
}

/// Caps the process's address space, so an allocation beyond it fails in ONNX Runtime (an
/// error for the run, or at worst the worker's end) instead of swapping the machine.
fn cap_address_space(bytes: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: setrlimit reads the struct passed by reference and nothing else.
    if unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
