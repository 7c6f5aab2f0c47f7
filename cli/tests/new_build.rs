//! `trellis new`, `trellis build` and `trellis run` as a newcomer uses them: a project made from
//! the templates builds with the real toolchain and runs on simulated readings without edits.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use trellis_host::capabilities::LogSink;
use trellis_host::types::{Level, Tensor, TensorType, Value};
use trellis_host::{Host, HostConfig, InstanceLimits};
use trellis_models::ModelConfig;

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// `trellis` in `dir`. Generated Rust projects share one target directory of their own so a
/// rerun reuses their dependencies; rustup picks the project's toolchain file, not the one that
/// runs these tests.
fn trellis(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trellis"));
    command
        .current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", tmp().join("new-projects-target"))
        .env_remove("RUSTUP_TOOLCHAIN");
    command
}

fn run(command: &mut Command) -> (String, String) {
    let output: Output = command.output().expect("running trellis");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

fn fails(command: &mut Command) -> String {
    let output = command.output().expect("running trellis");
    assert!(!output.status.success(), "{command:?} should have failed");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh `trellis new KIND NAME --lang LANG` in a folder of its own; returns the project.
/// Apps and contracts have different names: in the Rust projects' shared target directory, two
/// packages of one name would overwrite each other's `NAME.wasm`.
fn new_project(kind: &str, lang: &str) -> PathBuf {
    let name = if kind == "app" { "hello" } else { "numbers" };
    let parent = tmp().join(format!("new-{kind}-{lang}"));
    let _ = std::fs::remove_dir_all(&parent);
    std::fs::create_dir_all(&parent).unwrap();
    let (stdout, _) = run(&mut trellis(&parent, &["new", kind, name, "--lang", lang]));
    assert!(stdout.contains("trellis build"), "{stdout}");
    parent.join(name)
}

/// `trellis build` in `project`: the component's path, whether it was reused, and what it printed.
fn build(project: &Path) -> (PathBuf, bool, String) {
    let (stdout, stderr) = run(&mut trellis(project, &["build"]));
    let mut lines = stdout.lines();
    let path = project.join(lines.next().expect("the component's path"));
    let size = std::fs::metadata(&path)
        .unwrap_or_else(|e| panic!("{}: {e}\n{stdout}\n{stderr}", path.display()))
        .len();
    let summary = lines.next().unwrap_or_default();
    assert!(
        summary.contains(&format!("({size} bytes)")),
        "the size printed is the file's: {stdout}"
    );
    (
        path,
        summary.contains("reused"),
        format!("{stdout}\n{stderr}"),
    )
}

/// The app the templates write logs each reading and sets the fan's speed by the `threshold`
/// parameter: checked against the readings `trellis run` reports sending.
fn app_runs_without_edits(lang: &str) {
    let project = new_project("app", lang);
    let (wasm, reused, printed) = build(&project);
    assert!(!reused, "a fresh project is built: {printed}");
    let threshold = 18.1;
    let (stdout, stderr) = run(&mut trellis(
        &project,
        &[
            "run",
            wasm.to_str().unwrap(),
            "--manifest",
            "trellis.toml",
            "--count",
            "3",
            "--interval-ms",
            "0",
            "--set",
            &format!("threshold={threshold}"),
            "--cache-dir",
            tmp().join("compiled").to_str().unwrap(),
        ],
    ));
    let sent: Vec<f64> = stdout
        .lines()
        .filter(|l| l.contains("reading   temperature/sim-temperature-1 #"))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    let logged: Vec<&str> = stdout.lines().filter(|l| l.contains("log info")).collect();
    assert_eq!(sent.len(), 3, "{stdout}\n{stderr}");
    assert_eq!(logged.len(), 3, "one log line a reading: {stdout}");
    for (celsius, line) in sent.iter().zip(&logged) {
        let speed = if *celsius > threshold { 2 } else { 0 };
        let expected = format!("sim-temperature-1 read {celsius:.1} °C: fan speed {speed}");
        assert!(
            line.ends_with(&expected),
            "expected `{expected}` in `{line}`"
        );
    }
    assert!(
        sent.iter().any(|c| *c > threshold) && sent.iter().any(|c| *c <= threshold),
        "the readings should cross the threshold: {sent:?}"
    );
    assert!(
        stdout.contains("command   fan/sim-fan-1 <- set-speed speed=2"),
        "{stdout}"
    );
    assert!(
        stdout.contains("3 readings, 3 commands, 0 failed calls"),
        "{stdout}"
    );

    let (again, reused, printed) = build(&project);
    assert_eq!(again, wasm);
    assert!(reused, "an unchanged project is not built again: {printed}");
}

#[test]
fn a_new_rust_app_builds_and_runs() {
    app_runs_without_edits("rust");
}

#[test]
fn a_new_python_app_builds_and_runs() {
    app_runs_without_edits("python");
}

#[test]
fn a_new_js_app_builds_and_runs() {
    app_runs_without_edits("js");
}

struct NoLog;

impl LogSink for NoLog {
    fn write(&self, _: Level, _: &str) {}
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The contract the templates write loads in the host, makes the input `model.toml` declares
/// from a list of numbers, and gives back the model's output as numbers.
fn contract_passes_numbers_through(lang: &str) {
    let project = new_project("contract", lang);
    let config = ModelConfig::parse(&std::fs::read_to_string(project.join("model.toml")).unwrap())
        .expect("the model.toml written is valid");
    let (wasm, _, _) = build(&project);

    let host = Host::new(HostConfig {
        cache_dir: Some(tmp().join("compiled")),
        ..HostConfig::default()
    })
    .unwrap();
    let contract = host
        .load_contract(&std::fs::read(&wasm).unwrap())
        .unwrap_or_else(|e| panic!("loading {}: {e}", wasm.display()));
    let mut instance = contract
        .instantiate(Arc::new(NoLog), config.limits.instance_limits())
        .unwrap();

    let numbers = [1.5, -2.0, 3.25];
    let tensors = instance
        .preprocess(&Value::Numbers(numbers.to_vec()))
        .unwrap();
    assert_eq!(tensors.len(), config.inputs.len());
    let (tensor, declared) = (&tensors[0], &config.inputs[0]);
    assert_eq!(tensor.name, declared.name);
    assert_eq!(tensor.ty, TensorType::Fp32);
    assert_eq!(tensor.dimensions, [1, 3]);
    assert_eq!(tensor.data, f32_bytes(&[1.5, -2.0, 3.25]));
    let refused = instance
        .preprocess(&Value::Text("warm".into()))
        .unwrap_err();
    assert!(
        refused.to_string().contains("a list of numbers"),
        "{refused}"
    );

    let mut instance = contract
        .instantiate(Arc::new(NoLog), InstanceLimits::default())
        .unwrap();
    let answer = instance
        .postprocess(&[Tensor {
            name: config.outputs[0].name.clone(),
            dimensions: vec![1, 2],
            ty: TensorType::Fp32,
            data: f32_bytes(&[0.25, 0.75]),
        }])
        .unwrap();
    assert_eq!(answer, Value::Numbers(vec![0.25, 0.75]));
}

#[test]
fn a_new_rust_contract_builds_and_loads() {
    contract_passes_numbers_through("rust");
}

#[test]
fn a_new_python_contract_builds_and_loads() {
    contract_passes_numbers_through("python");
}

#[test]
fn a_new_js_contract_builds_and_loads() {
    contract_passes_numbers_through("js");
}

#[test]
fn a_missing_toolchain_names_the_command_that_installs_it() {
    let nowhere = tempfile::tempdir().unwrap();
    for (lang, install) in [
        ("python", "pip install componentize-py==0.25.1"),
        ("rust", "https://sh.rustup.rs"),
        ("js", "apt-get install nodejs npm"),
    ] {
        let parent = tempfile::tempdir().unwrap();
        run(&mut trellis(
            parent.path(),
            &["new", "app", "hello", "--lang", lang],
        ));
        let stderr = fails(
            trellis(&parent.path().join("hello"), &["build"])
                .env("PATH", nowhere.path())
                .env("HOME", nowhere.path())
                .env("TRELLIS_VENV", nowhere.path())
                .env_remove("TRELLIS_COMPONENTIZE_PY"),
        );
        assert!(stderr.contains(install), "{lang}: {stderr}");
    }
}

#[test]
fn new_refuses_bad_names_and_folders_in_use() {
    let parent = tempfile::tempdir().unwrap();
    let stderr = fails(&mut trellis(
        parent.path(),
        &["new", "app", "Hello World", "--lang", "python"],
    ));
    assert!(
        stderr.contains("`Hello World` is not a project name"),
        "{stderr}"
    );

    std::fs::create_dir(parent.path().join("taken")).unwrap();
    std::fs::write(parent.path().join("taken/notes.txt"), "mine").unwrap();
    let stderr = fails(&mut trellis(
        parent.path(),
        &["new", "app", "taken", "--lang", "rust"],
    ));
    assert!(
        stderr.contains("already exists and is not empty"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(parent.path().join("taken"))
            .unwrap()
            .count(),
        1,
        "nothing was written into it"
    );

    let stderr = fails(&mut trellis(parent.path(), &["build"]));
    assert!(stderr.contains("`trellis new` starts one"), "{stderr}");
}
