//! Prints, for each example model on each runtime here, the latency (p50, p99) and one-caller
//! throughput of the bare model (`Session::run`), of a checked run (`ModelPipeline::run`) and of
//! the whole pipeline with the contract (`predict`), and the pipeline's overhead over bare
//! inference.
//!
//! Then, for the digits model's two contracts (Rust, 1.0.0; Python, 1.1.0), each component's size
//! and `predict` through the pipeline (p50) on 64 numbers, on a fixture PNG and on a VGA frame.
//!
//! Then dynamic batching: `vision` and `digits` with 8 callers at once, each predicting in a loop, without
//! `[batching]` and with it (max-batch 8, and each of a few max-delay-us): predictions per
//! second, p50 and p99, and the mean rows a run took.
//!
//! Run with `cargo bench -p trellis-models --bench models` (set ORT_DYLIB_PATH for ONNX Runtime).

use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::registry::Registry;
use trellis_guest_artifacts::{
    COMFORT_CONTRACT, DIGITS_CONTRACT, DIGITS_CONTRACT_PYTHON, PERSON_CONTRACT, VISION_CONTRACT,
    read,
};
use trellis_host::capabilities::LogSink;
use trellis_host::types::{Blob, Level, Tensor, TensorType, Value};
use trellis_host::{Host, HostConfig};
use trellis_models::{
    BackendChoice, Batching, InferenceMetrics, ModelPackage, ModelPipeline, Runtimes, TypedTensor,
};

struct NoLog;

impl LogSink for NoLog {
    fn write(&self, _level: Level, _line: &str) {}
}

/// Each measurement runs for about this long (and at least `MIN_RUNS` times).
const BUDGET: Duration = Duration::from_secs(2);
const MIN_RUNS: usize = 20;

fn main() {
    let host = Host::new(HostConfig::default()).unwrap();
    let runtimes = Runtimes::new(None);
    let mut backends = vec![BackendChoice::Tract];
    match runtimes.onnx_runtime() {
        Ok(()) => backends.insert(0, BackendChoice::OnnxRuntime),
        Err(why) => println!("ONNX Runtime unavailable ({why}); tract only"),
    }
    let models = [
        (
            "digits",
            DIGITS_CONTRACT,
            Value::Numbers(digit_features()),
            64,
        ),
        (
            "comfort",
            COMFORT_CONTRACT,
            Value::Numbers(vec![27.5, 60.0, 25.0]),
            3,
        ),
        ("vision", VISION_CONTRACT, rgb_image(), 3 * 224 * 224),
        ("person", PERSON_CONTRACT, person_frame(), 576),
    ];
    println!(
        "{:<8} {:<13} {:<10} {:>10} {:>10} {:>12}",
        "model", "backend", "stage", "p50", "p99", "per second"
    );
    for (name, contract, input, width) in models {
        for &backend in &backends {
            let model = load(&host, &runtimes, name, "model.toml", contract, backend);
            let dims = if name == "vision" {
                vec![1, 3, 224, 224]
            } else {
                vec![1, width as u32]
            };
            let tensor = zero_input(&dims);
            let typed = TypedTensor::decode(&tensor).unwrap();
            let bare = measure(|| {
                model.session().run(vec![typed.clone()]).unwrap();
            });
            let checked = measure(|| {
                model.run(vec![tensor.clone()]).unwrap();
            });
            let pipeline = measure(|| {
                model.predict(&input).unwrap();
            });
            let backend = model.backend().name();
            for (stage, samples) in [("bare", &bare), ("run", &checked), ("pipeline", &pipeline)] {
                let (p50, p99, rate) = summary(samples);
                println!(
                    "{name:<8} {backend:<13} {stage:<10} {:>10} {:>10} {rate:>12.0}",
                    format!("{p50:.1?}"),
                    format!("{p99:.1?}"),
                );
            }
            let overhead = summary(&pipeline).0.as_secs_f64() / summary(&bare).0.as_secs_f64();
            println!(
                "{name:<8} {backend:<13} pipeline / bare at p50: {overhead:.2}x (contract adds {:.1?})",
                summary(&pipeline).0.saturating_sub(summary(&bare).0)
            );
        }
    }
    compare_digits_contracts(&host, &runtimes, &backends);
    compare_batching(&host, &runtimes, &backends);
}

/// `vision` and `digits` under 8 concurrent callers, unbatched and batched.
fn compare_batching(host: &Host, runtimes: &Runtimes, backends: &[BackendChoice]) {
    const CALLERS: usize = 8;
    println!();
    println!(
        "{:<8} {:<13} {:<26} {:>10} {:>10} {:>12} {:>10}",
        "model", "backend", "8 callers", "p50", "p99", "per second", "rows/run"
    );
    let settings = [None, Some(0), Some(1_000), Some(4_000)];
    let models = [
        ("vision", VISION_CONTRACT, rgb_image()),
        ("digits", DIGITS_CONTRACT, Value::Numbers(digit_features())),
    ];
    for (name, contract, input) in &models {
        for &backend in backends {
            for delay in settings {
                let label = match delay {
                    None => "unbatched".to_string(),
                    Some(us) => format!("max-batch 8, delay {us} µs"),
                };
                let mut package = package(name, "model.toml", contract, backend);
                package.config.batching = delay.map(|max_delay_us| Batching {
                    max_batch: CALLERS as u32,
                    max_delay_us,
                });
                let mut model =
                    ModelPipeline::load(host, runtimes, package, Arc::new(NoLog)).unwrap();
                let metrics = InferenceMetrics::default();
                let mut registry = Registry::default();
                metrics.register(&mut registry);
                model.measure_into(metrics);
                let model = &model;
                let started = Instant::now();
                let samples: Vec<Duration> = std::thread::scope(|scope| {
                    let callers: Vec<_> = (0..CALLERS)
                        .map(|_| {
                            scope.spawn(|| {
                                measure(|| {
                                    model.predict(input).unwrap();
                                })
                            })
                        })
                        .collect();
                    callers
                        .into_iter()
                        .flat_map(|c| c.join().unwrap())
                        .collect()
                });
                let rate = samples.len() as f64 / started.elapsed().as_secs_f64();
                let (p50, p99, _) = summary(&samples);
                println!(
                    "{name:<8} {:<13} {label:<26} {:>10} {:>10} {rate:>12.0} {:>10}",
                    model.backend().name(),
                    format!("{p50:.1?}"),
                    format!("{p99:.1?}"),
                    rows_per_run(&registry).map_or("-".into(), |r| format!("{r:.1}")),
                );
                // For scripts/bench's table of every goal's figures.
                if *name == "vision" {
                    println!(
                        "figure: 2. batching | vision on {}, 8 callers, {label} | {rate:.0}/s, p99 {p99:.1?}",
                        model.backend().name(),
                    );
                }
            }
        }
    }
}

/// The mean rows a batched run took, from `trellis_inference_batch_rows`.
fn rows_per_run(registry: &Registry) -> Option<f64> {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
    let figure = |suffix: &str| -> Option<f64> {
        text.lines()
            .find(|line| line.starts_with(&format!("trellis_inference_batch_rows_{suffix}{{")))
            .and_then(|line| line.rsplit(' ').next()?.parse().ok())
    };
    Some(figure("sum")? / figure("count")?)
}

/// The digits package with its Rust contract and with its Python one: the same model, so the
/// difference in `predict` is the contracts'.
fn compare_digits_contracts(host: &Host, runtimes: &Runtimes, backends: &[BackendChoice]) {
    let png = std::fs::read(examples_dir().join("digits/fixtures/images/digit-3.png")).unwrap();
    // The largest image the Python contract reads.
    let frame =
        std::fs::read(examples_dir().join("digits/fixtures/encodings/digit-3-640x480-rgb8.png"))
            .unwrap();
    let inputs = [
        ("64 numbers", Value::Numbers(digit_features())),
        (
            "32x32 PNG",
            Value::Bytes(Blob {
                media_type: "image/png".into(),
                data: png,
            }),
        ),
        (
            "640x480 RGB PNG",
            Value::Bytes(Blob {
                media_type: "image/png".into(),
                data: frame,
            }),
        ),
    ];
    println!();
    println!(
        "{:<9} {:>10} {:<13} {:<16} {:>10} {:>10}",
        "contract", "size", "backend", "input", "p50", "p99"
    );
    for (language, config, contract) in [
        ("Rust", "model.toml", DIGITS_CONTRACT),
        (
            "Python",
            "digits-contract-python/model.toml",
            DIGITS_CONTRACT_PYTHON,
        ),
    ] {
        let size = std::fs::metadata(contract).unwrap().len();
        for &backend in backends {
            let model = load(host, runtimes, "digits", config, contract, backend);
            for (what, input) in &inputs {
                let (p50, p99, _) = summary(&measure(|| {
                    model.predict(input).unwrap();
                }));
                println!(
                    "{language:<9} {:>10} {:<13} {what:<16} {:>10} {:>10}",
                    format!("{:.1} MB", size as f64 / 1e6),
                    model.backend().name(),
                    format!("{p50:.1?}"),
                    format!("{p99:.1?}"),
                );
            }
        }
    }
}

fn examples_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/models")
}

fn load(
    host: &Host,
    runtimes: &Runtimes,
    name: &str,
    config: &str,
    contract: &str,
    backend: BackendChoice,
) -> ModelPipeline {
    let mut package = package(name, config, contract, backend);
    // One caller at a time: a batching hop would only add to what is measured here.
    package.config.batching = None;
    ModelPipeline::load(host, runtimes, package, Arc::new(NoLog)).unwrap()
}

/// The example package `name` with `config` as its model.toml, pinned to `backend`.
fn package(name: &str, config: &str, contract: &str, backend: BackendChoice) -> ModelPackage {
    let dir = examples_dir().join(name);
    let config = std::fs::read_to_string(dir.join(config)).unwrap();
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    let mut package = ModelPackage::from_parts(&config, onnx, read(contract)).unwrap();
    package.config.backend = backend;
    package
}

fn digit_features() -> Vec<f64> {
    (0..64).map(|i| ((i * 7) % 17) as f64).collect()
}

fn rgb_image() -> Value {
    Value::Bytes(Blob {
        media_type: "application/octet-stream".into(),
        data: (0..224 * 224 * 3).map(|i| (i * 31 % 251) as u8).collect(),
    })
}

/// A 48x48 camera frame with a person, as the intruder alarm's camera sends it; the contract
/// (Python) decodes the PNG itself.
fn person_frame() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/models/person/fixtures/frames/01-person-empty.png");
    Value::Bytes(Blob {
        media_type: "image/png".into(),
        data: std::fs::read(path).unwrap(),
    })
}

fn zero_input(dims: &[u32]) -> Tensor {
    let elements: usize = dims.iter().map(|&d| d as usize).product();
    Tensor {
        name: "input".into(),
        dimensions: dims.to_vec(),
        ty: TensorType::Fp32,
        data: vec![0; elements * 4],
    }
}

fn measure(mut f: impl FnMut()) -> Vec<Duration> {
    f(); // warm up: first runs allocate and fill caches
    let started = Instant::now();
    let mut samples = Vec::new();
    while samples.len() < MIN_RUNS || started.elapsed() < BUDGET {
        let start = Instant::now();
        f();
        samples.push(start.elapsed());
    }
    samples
}

/// p50, p99 and calls per second for one caller.
fn summary(samples: &[Duration]) -> (Duration, Duration, f64) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    let total: Duration = samples.iter().sum();
    (
        at(0.5),
        at(0.99),
        samples.len() as f64 / total.as_secs_f64(),
    )
}
