//! Dynamic batching (`[batching]` in `model.toml`): concurrent callers of one model version run
//! as one batch, and each gets exactly the answer it would have had alone.
//!
//! "Exactly" is bit for bit on ONNX Runtime. tract's kernels (its softmax's reductions among
//! them) take a different path for some rows by where the row lies in memory, so even an
//! unbatched call of eight rows gives a few of them a different last bit than each row alone;
//! on tract, labels must be equal and every number within the fixtures' tolerance.

mod common;

use std::sync::Barrier;

use common::models::{
    TOLERANCE, assert_close, backends, f32_tensor, f32s, fixture, i64s, load, load_package, package,
};
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;
use serde_json::Value as Json;
use trellis_guest_artifacts::{DIGITS_CONTRACT, VISION_CONTRACT};
use trellis_host::types::{Blob, Tensor, Value};
use trellis_models::{BackendChoice, Batching, InferenceMetrics, ModelPipeline};

/// Long enough that callers released together always meet in one batch, even on a busy
/// machine; a test only pays it when fewer than `max-batch` rows arrive.
const PATIENT_US: u64 = 200_000;

/// The example package `name` with `[batching]`, recording into a registry of its own.
fn batching(name: &str, contract: &str, backend: BackendChoice) -> (ModelPipeline, Registry) {
    let mut package = package(name, contract, backend);
    package.config.batching = Some(Batching {
        max_batch: 8,
        max_delay_us: PATIENT_US,
    });
    let mut model = load_package(&common::host(), package);
    let metrics = InferenceMetrics::default();
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    model.measure_into(metrics);
    (model, registry)
}

/// Calls `call` once per input, each from its own thread, all released at once; the answers
/// in input order.
fn at_once<I: Sync, O: Send>(inputs: &[I], call: impl Fn(&I) -> O + Sync) -> Vec<O> {
    let start = Barrier::new(inputs.len());
    std::thread::scope(|scope| {
        let callers: Vec<_> = inputs
            .iter()
            .map(|input| {
                let (start, call) = (&start, &call);
                scope.spawn(move || {
                    start.wait();
                    call(input)
                })
            })
            .collect();
        callers.into_iter().map(|c| c.join().unwrap()).collect()
    })
}

/// (runs of the model, rows they took) from `trellis_inference_batch_rows`.
fn batch_figures(registry: &Registry) -> (u64, u64) {
    let mut text = String::new();
    encode(&mut text, registry).unwrap();
    let figure = |suffix: &str| -> u64 {
        text.lines()
            .filter(|line| line.starts_with(&format!("trellis_inference_batch_rows_{suffix}{{")))
            .map(|line| {
                let value = line.rsplit(' ').next().unwrap();
                value.parse::<f64>().unwrap() as u64
            })
            .sum()
    };
    (figure("count"), figure("sum"))
}

fn digit_inputs(count: usize) -> Vec<Vec<f32>> {
    fixture("digits", "heldout.json")["features"]
        .as_array()
        .unwrap()
        .iter()
        .take(count)
        .map(common::models::floats)
        .collect()
}

/// Asserts `got` is `want`: bit for bit on ONNX Runtime; on tract, equal but for numbers, which
/// must be within the tolerance (see the top of this file).
fn assert_same_answer(got: &Value, want: &Value, backend: BackendChoice, what: &str) {
    if backend != BackendChoice::Tract {
        assert_eq!(got, want, "{what}");
        return;
    }
    fn json(value: &Value) -> Json {
        match value {
            Value::Json(text) => serde_json::from_str(text).unwrap(),
            other => panic!("expected a JSON answer, got {other:?}"),
        }
    }
    fn same(got: &Json, want: &Json) -> bool {
        match (got, want) {
            (Json::Number(g), Json::Number(w)) if g.is_f64() || w.is_f64() => {
                (g.as_f64().unwrap() - w.as_f64().unwrap()).abs() <= f64::from(TOLERANCE)
            }
            (Json::Array(g), Json::Array(w)) => {
                g.len() == w.len() && g.iter().zip(w).all(|(g, w)| same(g, w))
            }
            (Json::Object(g), Json::Object(w)) => {
                g.len() == w.len() && g.iter().all(|(k, g)| w.get(k).is_some_and(|w| same(g, w)))
            }
            (g, w) => g == w,
        }
    }
    let (got, want) = (json(got), json(want));
    assert!(same(&got, &want), "{what}: {got} against {want} unbatched");
}

/// Asserts `got` (a digits `run`'s outputs) is `want`, as [`assert_same_answer`] does.
fn assert_same_outputs(got: &[Tensor], want: &[Tensor], backend: BackendChoice, what: &str) {
    if backend != BackendChoice::Tract {
        assert_eq!(got, want, "{what}");
        return;
    }
    assert_eq!(i64s(&got[0]), i64s(&want[0]), "{what}: labels");
    assert_eq!(got[1].dimensions, want[1].dimensions, "{what}");
    assert_close(&f32s(&got[1]), &f32s(&want[1]), what);
}

/// Eight different images, as raw 224×224 RGB bytes.
fn images() -> Vec<Value> {
    (1..=8u32)
        .map(|seed| {
            Value::Bytes(Blob {
                media_type: "application/octet-stream".into(),
                data: (0..224 * 224 * 3u32)
                    .map(|i| (i.wrapping_mul(seed * 2 + 1) % 251) as u8)
                    .collect(),
            })
        })
        .collect()
}

#[test]
fn concurrent_predictions_are_batched_and_each_answer_equals_its_unbatched_one_exactly() {
    let host = common::host();
    let digits: Vec<Value> = digit_inputs(8)
        .into_iter()
        .map(|row| Value::Numbers(row.into_iter().map(f64::from).collect()))
        .collect();
    for backend in backends() {
        for (name, contract, inputs) in [
            ("digits", DIGITS_CONTRACT, &digits),
            ("vision", VISION_CONTRACT, &images()),
        ] {
            let alone = load(&host, name, contract, backend);
            let expected: Vec<Value> = inputs.iter().map(|i| alone.predict(i).unwrap()).collect();
            let (together, registry) = batching(name, contract, backend);
            const ROUNDS: u64 = 3;
            for round in 0..ROUNDS {
                let answers = at_once(inputs, |input| together.predict(input).unwrap());
                for (i, (got, want)) in answers.iter().zip(&expected).enumerate() {
                    let what = format!("{name} on {backend:?}, round {round}, caller {i}");
                    assert_same_answer(got, want, backend, &what);
                }
            }
            let (runs, rows) = batch_figures(&registry);
            let calls = ROUNDS * inputs.len() as u64;
            assert_eq!(
                rows, calls,
                "{name} on {backend:?}: every call's row is counted"
            );
            assert!(
                runs < calls,
                "{name} on {backend:?}: {calls} concurrent calls ran as {runs} runs; none were batched"
            );
        }
    }
}

/// Callers that bring several rows each get back their own rows, in order, what the model gives
/// them alone.
#[test]
fn callers_with_different_row_counts_each_get_their_own_rows_back_exactly() {
    let host = common::host();
    let rows = digit_inputs(10);
    // 1 + 2 + 3 + 4 rows: one batch of 10 would exceed max-batch 8, so the fourth caller
    // starts the next one.
    let mut callers: Vec<Tensor> = Vec::new();
    let mut next = 0;
    for count in 1..=4usize {
        let flat: Vec<f32> = rows[next..next + count].concat();
        callers.push(f32_tensor("input", &[count as u32, 64], &flat));
        next += count;
    }
    for backend in backends() {
        let alone = load(&host, "digits", DIGITS_CONTRACT, backend);
        let expected: Vec<Vec<Tensor>> = callers
            .iter()
            .map(|t| alone.run(vec![t.clone()]).unwrap())
            .collect();
        let (together, registry) = batching("digits", DIGITS_CONTRACT, backend);
        let answers = at_once(&callers, |t| together.run(vec![t.clone()]).unwrap());
        for (i, (got, want)) in answers.iter().zip(&expected).enumerate() {
            let what = format!("caller {i} ({} rows) on {backend:?}", i + 1);
            assert_same_outputs(got, want, backend, &what);
        }
        let (runs, taken) = batch_figures(&registry);
        assert_eq!(taken, 10, "on {backend:?}");
        assert!(runs < 4, "on {backend:?}: 4 callers ran as {runs} runs");
    }
}

fn refused(config: &str) -> String {
    match trellis_models::ModelConfig::parse(config) {
        Ok(_) => panic!("the config should have been refused:\n{config}"),
        Err(why) => why,
    }
}

#[test]
fn batching_a_model_without_a_batch_dimension_or_beyond_its_bounds_is_refused_naming_why() {
    let digits =
        std::fs::read_to_string(common::models::example_dir("digits").join("model.toml")).unwrap();
    let with = |section: &str| format!("{digits}\n[batching]\n{section}\n");
    assert!(trellis_models::ModelConfig::parse(&with("max-batch = 8\nmax-delay-us = 500")).is_ok());

    let fixed = with("max-batch = 8").replacen("shape = [-1, 64]", "shape = [1, 64]", 1);
    let why = refused(&fixed);
    assert!(
        why.contains("input `input`") && why.contains("not a batch dimension"),
        "{why}"
    );

    let why = refused(&with("max-batch = 1"));
    assert!(why.contains("max-batch = 1"), "{why}");
    let why = refused(&with(&format!("max-batch = {}", Batching::MOST_ROWS + 1)));
    assert!(why.contains("max-batch"), "{why}");

    let too_long = format!(
        "max-batch = 4\nmax-delay-us = {}",
        Batching::LONGEST_DELAY_US + 1
    );
    let why = refused(&with(&too_long));
    assert!(why.contains("max-delay-us"), "{why}");

    let why = refused(&with("max-batch = 4\nmax-wait = 3"));
    assert!(why.contains("max-wait"), "{why}");
}
