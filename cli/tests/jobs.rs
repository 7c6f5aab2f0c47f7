//! Prediction jobs through the CLI against a real `trellis up` process: a 100,000-row CSV over
//! the digits example model, every row answered as the synchronous predict route answers it,
//! the control plane's memory watched in /proc while it runs; a cancelled job that stops; and
//! each user seeing only their own jobs.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use trellis_guest_artifacts::DIGITS_CONTRACT;

use common::{ADMIN_PASSWORD, Api, PASSWORD, Person, wait_for, workspace};

const ROWS: usize = 100_000;

/// How much the control plane's resident memory may grow over what it used before the job, while
/// it runs it. The job's CSV is about 20 MB and its results about 15 MB; holding the rows' inputs
/// alone (100,000 × 64 numbers) would take some 50 MiB. Streaming through a batch at a time
/// needs a few.
const MEMORY_GROWTH_BOUND_KIB: u64 = 24 * 1024;

/// The process's resident memory now, in KiB.
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// Writes a CSV of `rows` digits (an `id` column and the 64 features), drawn from the held-out
/// digits with one pixel varied by the row number, so rows differ.
fn write_digits_csv(path: &Path, rows: usize) -> Vec<Vec<f64>> {
    let heldout: Value = serde_json::from_slice(
        &std::fs::read(workspace("examples/models/digits/fixtures/heldout.json")).unwrap(),
    )
    .unwrap();
    let digits: Vec<Vec<f64>> = heldout["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        })
        .collect();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    use std::io::Write;
    let header: Vec<String> = (0..64).map(|i| format!("p{i}")).collect();
    writeln!(out, "id,{}", header.join(",")).unwrap();
    let mut inputs = Vec::new();
    for row in 0..rows {
        let mut digit = digits[row % digits.len()].clone();
        digit[(row / digits.len()) % 64] = (row % 17) as f64;
        let cells: Vec<String> = digit.iter().map(|v| v.to_string()).collect();
        writeln!(out, "r{row},{}", cells.join(",")).unwrap();
        if row % 2000 == 7 {
            inputs.push(digit);
        }
    }
    out.flush().unwrap();
    inputs
}

fn job(api: &Api, id: &str) -> Value {
    api.get(&format!("/jobs/{id}"))
}

fn results(person: &Person, dir: &Path, id: &str) -> Vec<csv::StringRecord> {
    let file = dir.join(format!("{id}.csv"));
    person.ok(&["job", "results", id, "-o", file.to_str().unwrap()]);
    let mut reader = csv::Reader::from_path(&file).unwrap();
    let header = reader.headers().unwrap().clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        ["id", "label", "scores", "confidence", "error"],
        "the digits answer's fields, then confidence and error"
    );
    reader.records().map(Result::unwrap).collect()
}

#[test]
fn a_hundred_thousand_row_job_is_answered_in_flat_memory_and_a_cancelled_job_stops() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let (plane, url) = common::up(&["--listen", "127.0.0.1:0", "--nodes", "0"], &data);
    let pid = plane.0.id();
    let admin_api = wait_for(Duration::from_secs(30), "the control plane", || {
        std::panic::catch_unwind(|| Api::login(&url, "admin", ADMIN_PASSWORD)).ok()
    });
    for (name, role) in [("dana", "data-scientist"), ("eve", "end-user")] {
        admin_api.post(
            "/users",
            json!({ "name": name, "password": PASSWORD, "role": role }),
        );
    }
    let dana = Person::logged_in(root.path(), &url, "dana", PASSWORD);
    dana.push_example_model("digits", DIGITS_CONTRACT);
    let eve = Person::logged_in(root.path(), &url, "eve", PASSWORD);
    let eve_api = Api::login(&url, "eve", PASSWORD);
    let csv_path = root.path().join("digits.csv");
    let samples = write_digits_csv(&csv_path, ROWS);
    let size = std::fs::metadata(&csv_path).unwrap().len();

    // The model is loaded (by a synchronous prediction) before the baseline is read.
    eve_api.post("/models/digits/1.0.0/predict", json!(samples[0]));
    let baseline = resident_kib(pid);
    let peak = Arc::new(AtomicU64::new(baseline));
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (peak, watching) = (peak.clone(), watching.clone());
        std::thread::spawn(move || {
            while watching.load(Ordering::Relaxed) {
                peak.fetch_max(resident_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let started = Instant::now();
    let submitted = eve.ok(&[
        "--json",
        "job",
        "submit",
        "digits@1.0.0",
        csv_path.to_str().unwrap(),
    ]);
    let wall = started.elapsed();
    watching.store(false, Ordering::Relaxed);
    watcher.join().unwrap();
    let finished: Value = serde_json::from_str(&submitted).unwrap();
    let id = finished["id"].as_str().unwrap().to_string();
    assert_eq!(finished["state"], "succeeded", "{finished}");
    assert_eq!(finished["rows_total"], ROWS);
    assert_eq!(finished["rows_done"], ROWS);
    assert_eq!(finished["rows_failed"], 0);
    let duration_ms = finished["duration_ms"].as_u64().unwrap().max(1);
    let growth = peak.load(Ordering::Relaxed).saturating_sub(baseline);
    println!(
        "prediction job: {ROWS} rows ({size} bytes of CSV) in {duration_ms} ms = {:.0} rows/s \
         (submit to end {:.1} s); resident memory {baseline} KiB before, peak growth {growth} KiB \
         (bound {MEMORY_GROWTH_BOUND_KIB} KiB)",
        ROWS as f64 * 1000.0 / duration_ms as f64,
        wall.as_secs_f64()
    );
    assert!(
        growth < MEMORY_GROWTH_BOUND_KIB,
        "the control plane grew by {growth} KiB while running the job (bound \
         {MEMORY_GROWTH_BOUND_KIB} KiB)"
    );

    // Every row is answered, in order; sampled rows match the synchronous predict route.
    let rows = results(&eve, root.path(), &id);
    assert_eq!(rows.len(), ROWS);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[0], format!("r{i}"));
        assert_eq!(&row[4], "", "row {i}: {row:?}");
    }
    for (k, input) in samples.iter().enumerate() {
        let row = &rows[k * 2000 + 7];
        let answer = eve_api.post("/models/digits/1.0.0/predict", json!(input));
        assert_eq!(row[1].parse::<i64>().unwrap(), answer["label"], "{row:?}");
        let mut got: Vec<f64> = serde_json::from_str(&row[2]).unwrap();
        got.push(row[3].parse().unwrap());
        let mut want: Vec<f64> = serde_json::from_value(answer["scores"].clone()).unwrap();
        want.push(answer["confidence"].as_f64().unwrap());
        assert_eq!(got.len(), want.len());
        // A batch may sum in another order than a single row: within the runtimes' tolerance.
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-5, "{row:?} against {answer}");
        }
    }

    // A cancelled job stops: its state says so and its rows done stop growing.
    let submitted = eve.ok(&[
        "--json",
        "job",
        "submit",
        "digits",
        csv_path.to_str().unwrap(),
        "--no-wait",
    ]);
    let second = serde_json::from_str::<Value>(&submitted).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(
        Duration::from_secs(60),
        "the second job's first rows",
        || (job(&eve_api, &second)["rows_done"].as_u64().unwrap() > 0).then_some(()),
    );
    let cancelled = eve.ok(&["job", "cancel", &second]);
    assert!(cancelled.contains("cancelled"), "{cancelled}");
    let at_cancel = job(&eve_api, &second);
    assert_eq!(at_cancel["state"], "cancelled", "{at_cancel}");
    std::thread::sleep(Duration::from_secs(1));
    let later = job(&eve_api, &second);
    assert_eq!(later["state"], "cancelled");
    assert_eq!(later["rows_done"], at_cancel["rows_done"], "{later}");
    assert!(later["rows_done"].as_u64().unwrap() < ROWS as u64);
    let partial = results(&eve, root.path(), &second);
    assert_eq!(partial.len() as u64, later["rows_done"].as_u64().unwrap());
    let again = eve.refused(&["job", "cancel", &second]);
    assert!(again.contains("already ended"), "{again}");

    // Each user sees their own jobs; admins see all.
    let listed = eve.ok(&["job", "list"]);
    assert!(listed.contains(&id) && listed.contains(&second), "{listed}");
    assert!(!dana.ok(&["job", "list"]).contains(&id));
    let hidden = dana.refused(&["job", "status", &id]);
    assert!(hidden.contains(&format!("no job `{id}`")), "{hidden}");
    let all = admin_api.get("/jobs");
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
}
