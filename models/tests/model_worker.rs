//! ONNX Runtime models in worker processes: a model runs in a process of its own, and when that
//! process dies, overruns or runs out of memory, the run gets a clear error, the worker is
//! replaced and the caller's process goes on.
//!
//! This binary is also the worker its tests start (`model_worker model-worker`), as
//! `trellis model-worker` is for the platform, so it has a `main` instead of libtest's.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::RecordingLog;
use common::onnx_files::{any_size, config, graph, model, node};
use tract_onnx::pb;
use trellis_guest_artifacts::{DIGITS_CONTRACT, read};
use trellis_host::CallError;
use trellis_host::capabilities::Capabilities;
use trellis_host::types::Tensor;
use trellis_host::types::Value;
use trellis_models::{
    ModelCatalog, ModelPackage, ModelPipeline, ModelWorker, PredictError, Runtimes,
};

fn main() {
    if std::env::args().nth(1).as_deref() == Some("model-worker") {
        if let Err(e) = trellis_models::serve_model_worker() {
            eprintln!("model worker: {e:#}");
            std::process::exit(1);
        }
        return;
    }
    if let Err(why) = Runtimes::new(None).onnx_runtime() {
        assert!(
            std::env::var("TRELLIS_REQUIRE_ONNX_RUNTIME").as_deref() != Ok("1"),
            "ONNX Runtime is required here but unavailable: {why}"
        );
        println!("ONNX Runtime unavailable ({why}): no model worker to test");
        return;
    }
    let tests: [(&str, fn()); 5] = [
        (
            "a_model_runs_in_a_worker_process_of_its_own_which_ends_with_the_model",
            a_model_runs_in_a_worker_process_of_its_own_which_ends_with_the_model,
        ),
        (
            "a_worker_killed_mid_run_fails_that_run_clearly_and_the_next_run_gets_a_new_one",
            a_worker_killed_mid_run_fails_that_run_clearly_and_the_next_run_gets_a_new_one,
        ),
        (
            "a_run_past_its_deadline_is_stopped_at_the_deadline_and_the_next_run_gets_a_new_worker",
            a_run_past_its_deadline_is_stopped_at_the_deadline_and_the_next_run_gets_a_new_worker,
        ),
        (
            "a_run_beyond_the_workers_memory_cap_fails_and_the_model_goes_on",
            a_run_beyond_the_workers_memory_cap_fails_and_the_model_goes_on,
        ),
        // Last: its model runs on in the background for seconds after the test is done.
        (
            "an_app_waiting_on_a_slow_model_misses_its_deadline_at_the_deadline",
            an_app_waiting_on_a_slow_model_misses_its_deadline_at_the_deadline,
        ),
    ];
    for (name, test) in tests {
        println!("test {name} ...");
        test();
        println!("test {name} ... ok");
    }
    println!("\ntest result: ok. {} passed; 0 failed", tests.len());
}

/// Workers started by this binary, with these limits.
fn worker(memory_bytes: u64, run_deadline: Duration) -> ModelWorker {
    ModelWorker {
        memory_bytes,
        run_deadline,
        ..ModelWorker::new(std::env::current_exe().unwrap(), &["model-worker"])
    }
}

fn load(worker: ModelWorker, name: &str, nodes: Vec<pb::NodeProto>) -> ModelPipeline {
    load_with(worker, name, nodes, vec![])
}

fn load_with(
    worker: ModelWorker,
    name: &str,
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
) -> ModelPipeline {
    let onnx = model(graph(
        nodes,
        initializers,
        vec![any_size("x", 2)],
        vec![any_size("y", 2)],
    ));
    let toml = config(name, "onnx-runtime", &[-1, -1], &[-1, -1]);
    let package = ModelPackage::from_parts(&toml, onnx, read(DIGITS_CONTRACT)).unwrap();
    let runtimes = Runtimes::new(None).isolated(worker);
    ModelPipeline::load(
        &common::host(),
        &runtimes,
        package,
        Arc::new(RecordingLog::default()),
    )
    .unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

/// y = x · x · … · x, `times` matrix products: slow for a large square x.
fn products(worker: ModelWorker, times: usize) -> ModelPipeline {
    let mut nodes = Vec::new();
    let mut last = "x".to_string();
    for i in 0..times {
        let out = if i + 1 == times {
            "y".to_string()
        } else {
            format!("p{i}")
        };
        nodes.push(node("MatMul", &[&last, "x"], &[&out]));
        last = out;
    }
    load(worker, "products", nodes)
}

fn square(n: u32, value: f32) -> Tensor {
    common::models::f32_tensor("x", &[n, n], &vec![value; (n * n) as usize])
}

/// The processes this one started as model workers.
fn workers() -> Vec<u32> {
    common::children_with_argument(std::process::id(), "model-worker")
}

fn kill(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -9 {pid}");
}

fn a_model_runs_in_a_worker_process_of_its_own_which_ends_with_the_model() {
    assert_eq!(workers(), Vec::<u32>::new(), "no worker before a model");
    let doubled = load(
        worker(4 << 30, Duration::from_secs(30)),
        "double",
        vec![node("Add", &["x", "x"], &["y"])],
    );
    let running = workers();
    assert_eq!(running.len(), 1, "one worker for the model: {running:?}");
    let outputs = doubled
        .run(vec![common::models::f32_tensor(
            "x",
            &[2, 2],
            &[1.0, -2.0, 3.5, 0.0],
        )])
        .unwrap();
    assert_eq!(common::models::f32s(&outputs[0]), [2.0, -4.0, 7.0, 0.0]);
    assert_eq!(workers(), running, "the same worker serves each run");
    drop(doubled);
    assert_eq!(
        workers(),
        Vec::<u32>::new(),
        "the worker ends with its model"
    );
}

fn a_worker_killed_mid_run_fails_that_run_clearly_and_the_next_run_gets_a_new_one() {
    let slow = Arc::new(products(worker(4 << 30, Duration::from_secs(300)), 64));
    let [first] = workers()[..] else {
        panic!("one worker: {:?}", workers())
    };
    let running = std::thread::spawn({
        let slow = slow.clone();
        move || slow.run(vec![square(2048, 0.0)])
    });
    // Let the run get into the model, then kill its worker as a crash in ONNX Runtime would.
    std::thread::sleep(Duration::from_millis(500));
    assert!(!running.is_finished(), "64 products of 2048² take longer");
    kill(first);
    let error = running.join().unwrap().unwrap_err();
    assert!(matches!(error, PredictError::WorkerStopped(_)), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("worker process died running the model (killed by signal 9)")
            && message.contains("a new worker runs the next prediction"),
        "{message}"
    );
    let outputs = slow.run(vec![square(2, 1.0)]).unwrap();
    // 1s · 1s of 2 × 2 is 2s, 64 times over: 2^64 in each element.
    assert_eq!(common::models::f32s(&outputs[0]), [2f32.powi(64); 4]);
    let now = workers();
    assert!(now.len() == 1 && now[0] != first, "a new worker: {now:?}");
}

fn a_run_past_its_deadline_is_stopped_at_the_deadline_and_the_next_run_gets_a_new_worker() {
    let deadline = Duration::from_millis(300);
    // 16 products of 2048 × 2048: 275 GFLOP, seconds of work on any two cores.
    let slow = products(worker(4 << 30, deadline), 16);
    let first = workers();
    let started = Instant::now();
    let error = slow.run(vec![square(2048, 0.0)]).unwrap_err();
    let took = started.elapsed();
    assert!(matches!(error, PredictError::WorkerStopped(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("running the model took longer than the 300 ms allowed"),
        "{error}"
    );
    assert!(
        took >= deadline && took < Duration::from_secs(2),
        "stopped at its deadline, not at the run's end: {took:?}"
    );
    assert_eq!(
        workers(),
        Vec::<u32>::new(),
        "the overrunning worker is gone"
    );
    let outputs = slow.run(vec![square(2, 1.0)]).unwrap();
    assert_eq!(common::models::f32s(&outputs[0]), [2f32.powi(16); 4]);
    let now = workers();
    assert!(now.len() == 1 && now != first, "a new worker: {now:?}");
}

fn a_run_beyond_the_workers_memory_cap_fails_and_the_model_goes_on() {
    // y = x tiled 64 × 64 times: 512² in makes 4 GiB out, four times the worker's cap.
    let repeats = pb::TensorProto {
        name: "repeats".into(),
        dims: vec![2],
        data_type: pb::tensor_proto::DataType::Int64 as i32,
        int64_data: vec![64, 64],
        ..Default::default()
    };
    let tiled = load_with(
        worker(1 << 30, Duration::from_secs(30)),
        "tiled",
        vec![node("Tile", &["x", "repeats"], &["y"])],
        vec![repeats],
    );
    let error = tiled.run(vec![square(512, 1.0)]).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("inference: ") && message.contains("allocate"),
        "{message}"
    );
    let outputs = tiled.run(vec![square(1, 3.0)]).unwrap();
    assert_eq!(common::models::f32s(&outputs[0]), vec![3.0; 64 * 64]);
}

fn an_app_waiting_on_a_slow_model_misses_its_deadline_at_the_deadline() {
    // 4,000 products of 512 × 512: a teraflop, many seconds on any two cores, where the app's
    // call may take 200 ms.
    let slow = products(worker(4 << 30, Duration::from_secs(60)), 4000);
    let host = common::host();
    let catalog = ModelCatalog::new(
        Arc::new(common::host()),
        Arc::new(Runtimes::new(None)),
        Arc::new(RecordingLog::default()),
    );
    catalog.insert(slow);
    let log = Arc::new(RecordingLog::default());
    let caps = Capabilities {
        log: log.clone(),
        models: catalog.for_app(
            &["products".to_string()],
            &common::models::versions(&[("products", "1.0.0")]),
        ),
        ..Capabilities::default()
    };
    let limits = common::quick_limits();
    let mut app = common::load(&host, trellis_guest_artifacts::SLEEPY)
        .instantiate(caps, common::quick_limits())
        .unwrap();
    app.init().unwrap();
    let started = Instant::now();
    let outcome = app.on_reading(&common::reading(
        "in",
        1,
        Value::Text("run products 512".into()),
    ));
    let took = started.elapsed();
    assert!(
        matches!(outcome, Err(CallError::DeadlineExceeded { .. })),
        "{outcome:?} after {took:?}"
    );
    assert!(
        took >= limits.call_deadline && took < Duration::from_secs(2),
        "the call ended after {took:?}, against a deadline of {:?}",
        limits.call_deadline
    );
    let lines: Vec<String> = log.lines().into_iter().map(|(_, line)| line).collect();
    assert_eq!(
        lines,
        ["running products on 512 × 512"],
        "it never saw an answer"
    );
}
