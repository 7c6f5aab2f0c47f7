//! The example thermostat app, written in Rust, Python and JavaScript, each run as a real
//! component against recording backends: the same readings must give the same behaviour.

use trellis_host_test_support as common;

use common::{host, load, recorded, temperature};
use trellis_guest_artifacts::{
    CLASSROOM_THERMOSTAT, CLASSROOM_THERMOSTAT_JS, CLASSROOM_THERMOSTAT_PYTHON,
};
use trellis_host::{CallError, InstanceLimits};

/// The thermostat in each language: (language, component).
const THERMOSTATS: &[(&str, &str)] = &[
    ("Rust", CLASSROOM_THERMOSTAT),
    ("Python", CLASSROOM_THERMOSTAT_PYTHON),
    ("JavaScript", CLASSROOM_THERMOSTAT_JS),
];

/// `quick_limits`, with room for the Python and JavaScript runtimes' heaps and time for their
/// calls in a debug host on a busy machine: these tests check behaviour, not the deadline.
fn limits() -> InstanceLimits {
    InstanceLimits {
        memory_bytes: 64 << 20,
        call_deadline: std::time::Duration::from_secs(2),
        ..common::quick_limits()
    }
}

const CONFIG: &[(&str, f64)] = &[
    ("fan-above", 25.0),
    ("ac-above", 28.0),
    ("hysteresis", 1.0),
    ("ac-setpoint", 21.0),
];

#[test]
fn commands_follow_the_configured_thresholds() {
    for &(language, thermostat) in THERMOSTATS {
        let host = host();
        let app = load(&host, thermostat);
        let rec = recorded(CONFIG);
        let mut instance = app.instantiate(rec.caps.clone(), limits()).unwrap();
        instance.init().unwrap();

        for (n, celsius) in [20.0, 24.9, 25.0, 27.0, 28.5, 27.5, 26.9, 24.5, 23.9]
            .into_iter()
            .enumerate()
        {
            instance
                .on_reading(&temperature(n as u64, celsius))
                .unwrap();
        }

        assert_eq!(
            rec.controllers.sent(),
            [
                // 25.0: the fan starts.
                "fan:set-speed:speed=2",
                "ac:set-mode:mode=off",
                // 28.5: cooling starts, at the configured setpoint.
                "fan:set-speed:speed=2",
                "ac:set-mode:mode=cool,setpoint=21",
                // 27.5 is within the hysteresis; 26.9 is not: back to the fan.
                "fan:set-speed:speed=2",
                "ac:set-mode:mode=off",
                // 24.5 is within the fan's hysteresis; 23.9 is not: all off.
                "fan:set-speed:speed=0",
                "ac:set-mode:mode=off",
            ],
            "{language}"
        );
        assert_eq!(
            rec.state.snapshot().get("mode").map(Vec::as_slice),
            Some(&b"off"[..]),
            "{language}"
        );
        let lines: Vec<String> = rec.log.lines().into_iter().map(|(_, line)| line).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("28.5 °C") && l.contains("fan -> cooling")),
            "{language}: {lines:?}"
        );
    }
}

#[test]
fn a_new_instance_resumes_from_the_stored_state() {
    for &(language, thermostat) in THERMOSTATS {
        let host = host();
        let app = load(&host, thermostat);
        let rec = recorded(CONFIG);

        let mut first = app.instantiate(rec.caps.clone(), limits()).unwrap();
        first.init().unwrap();
        first.on_reading(&temperature(1, 29.0)).unwrap();
        drop(first);
        let before = rec.controllers.sent().len();

        // Still hot: the restarted instance knows it is already cooling and sends nothing.
        let mut second = app.instantiate(rec.caps.clone(), limits()).unwrap();
        second.init().unwrap();
        second.on_reading(&temperature(2, 28.2)).unwrap();
        assert_eq!(rec.controllers.sent().len(), before, "{language}");
    }
}

#[test]
fn init_refuses_inconsistent_config_and_says_why() {
    for &(language, thermostat) in THERMOSTATS {
        let host = host();
        let app = load(&host, thermostat);
        let rec = recorded(&[("fan-above", 30.0), ("ac-above", 26.0)]);
        let mut instance = app.instantiate(rec.caps, limits()).unwrap();
        match instance.init() {
            Err(CallError::Failed { export, message }) => {
                assert_eq!(export, "init");
                assert!(
                    message.contains("fan-above (30) must be below ac-above (26)"),
                    "{language}: {message}"
                );
            }
            other => panic!("{language}: expected init to fail, got {other:?}"),
        }
    }
}

#[test]
fn a_reading_of_the_wrong_kind_is_an_error_the_instance_survives() {
    for &(language, thermostat) in THERMOSTATS {
        let host = host();
        let app = load(&host, thermostat);
        let rec = recorded(CONFIG);
        let mut instance = app.instantiate(rec.caps.clone(), limits()).unwrap();
        instance.init().unwrap();
        let text = common::reading(
            "temperature",
            1,
            trellis_host::types::Value::Text("warm".into()),
        );
        let error = instance.on_reading(&text).unwrap_err();
        assert!(error.instance_survives(), "{language}: {error}");
        assert!(
            error.to_string().contains("expected a number"),
            "{language}: {error}"
        );
        instance.on_reading(&temperature(2, 29.0)).unwrap();
        assert_eq!(rec.controllers.sent().len(), 2, "{language}");
    }
}
