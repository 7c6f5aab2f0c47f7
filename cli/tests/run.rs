//! `trellis run` as a developer uses it: the real binary on the example app.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use trellis_guest_artifacts::{CLASSROOM_THERMOSTAT, MISSING_EXPORT};

fn manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/apps/classroom-thermostat/trellis.toml")
}

fn trellis_run(args: &[&str]) -> Output {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compiled");
    Command::new(env!("CARGO_BIN_EXE_trellis"))
        .arg("run")
        .args(args)
        .arg("--cache-dir")
        .arg(cache)
        .arg("--interval-ms=0")
        .output()
        .expect("running trellis")
}

/// `trellis run` on the thermostat with its manifest, plus `args`.
fn run_thermostat(args: &[&str]) -> Output {
    let manifest = manifest();
    let mut all = vec![
        CLASSROOM_THERMOSTAT,
        "--manifest",
        manifest.to_str().unwrap(),
    ];
    all.extend(args);
    trellis_run(&all)
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn simulated_readings_drive_the_thermostat_and_every_step_is_printed() {
    let output = run_thermostat(&["--count", "24"]);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // The simulated temperature swings 18 → 30 → 18 °C, so the room goes fan, cooling, fan, off.
    let transitions: Vec<&str> = stdout.lines().filter(|l| l.contains(" -> ")).collect();
    assert_eq!(transitions.len(), 4, "{stdout}");
    for (line, change) in transitions.iter().zip([
        "off -> fan",
        "fan -> cooling",
        "cooling -> fan",
        "fan -> off",
    ]) {
        assert!(line.contains(change), "expected `{change}` in `{line}`");
    }
    assert!(
        stdout.contains("command   ac/sim-ac-1 <- set-mode mode=\"cool\" setpoint=22"),
        "{stdout}"
    );
    assert!(stdout.contains("state     mode = \"cooling\""), "{stdout}");
    assert!(
        stdout.contains("24 readings, 8 commands, 0 failed calls"),
        "{stdout}"
    );
}

#[test]
fn parameters_set_on_the_command_line_reach_the_app() {
    let output = run_thermostat(&["--set", "ac-above=35", "--count", "24"]);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("cooling from 35 °C"), "{stdout}");
    assert!(
        !stdout.contains("-> cooling"),
        "the simulated room never reaches 35 °C: {stdout}"
    );
}

#[test]
fn recorded_readings_are_replayed_and_bad_ones_fail_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let readings = dir.path().join("readings.jsonl");
    std::fs::write(
        &readings,
        "{\"role\":\"temperature\",\"value\":29}\n{\"role\":\"temperature\",\"value\":\"hot\"}\n",
    )
    .unwrap();
    let output = run_thermostat(&["--readings", readings.to_str().unwrap()]);
    let (stdout, stderr) = text(&output);
    assert!(
        !output.status.success(),
        "a failed call should fail the run"
    );
    assert!(stdout.contains("off -> cooling"), "{stdout}");
    assert!(stdout.contains("expected a number"), "{stdout}");
    assert!(stderr.contains("1 calls into the app failed"), "{stderr}");
}

#[test]
fn mistakes_are_explained() {
    let manifest = manifest();
    let wrong_world = trellis_run(&[MISSING_EXPORT, "--manifest", manifest.to_str().unwrap()]);
    let (_, stderr) = text(&wrong_world);
    assert!(!wrong_world.status.success());
    assert!(stderr.contains("missing export `on-tick`"), "{stderr}");

    let unknown_param = run_thermostat(&["--set", "fan=1"]);
    let (_, stderr) = text(&unknown_param);
    assert!(
        stderr.contains("`fan` is not a parameter of classroom-thermostat"),
        "{stderr}"
    );

    let no_manifest = trellis_run(&[
        CLASSROOM_THERMOSTAT,
        "--manifest",
        "/nonexistent/trellis.toml",
    ]);
    let (_, stderr) = text(&no_manifest);
    assert!(
        stderr.contains("/nonexistent/trellis.toml") && stderr.contains("--manifest"),
        "{stderr}"
    );
}
