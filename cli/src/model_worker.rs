//! The model worker processes `trellis up` and `trellis node` run ONNX Runtime models in: this
//! same executable, as `trellis model-worker`.

use std::time::Duration;

use trellis_models::ModelWorker;

/// Each worker's address space unless told otherwise: 4 GiB, room for a large vision model and
/// ONNX Runtime's arenas, far below what would swap a node.
pub const DEFAULT_MEMORY_MB: u64 = 4096;

/// Workers of this executable within `memory_mb` of address space, each run within
/// `run_deadline_ms`.
pub fn worker(memory_mb: u64, run_deadline_ms: u64) -> anyhow::Result<ModelWorker> {
    let program = std::env::current_exe()?;
    Ok(ModelWorker {
        memory_bytes: memory_mb.saturating_mul(1 << 20),
        run_deadline: Duration::from_millis(run_deadline_ms.max(1)),
        ..ModelWorker::new(program, &["model-worker"])
    })
}
