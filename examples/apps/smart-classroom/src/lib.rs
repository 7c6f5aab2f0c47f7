//! A smart classroom: keeps the latest temperature, humidity and occupancy, asks the `comfort`
//! model what the room needs once it knows all three, and commands the fan and the air
//! conditioning only when the answer changes.

use trellis_sdk::{
    App, Reading, Value, command, config_number, controllers, inference, log, state,
};

/// The sensor roles, in the order the comfort model takes them.
const ROLES: [&str; 3] = ["temperature", "humidity", "occupancy"];
const ACTION_KEY: &str = "action";

struct SmartClassroom;

impl App for SmartClassroom {
    fn on_reading(reading: Reading) -> Result<(), String> {
        let Value::Number(value) = reading.value else {
            return Err(format!(
                "{} sent {:?}; expected a number",
                reading.instance_id, reading.value
            ));
        };
        if !ROLES.contains(&reading.role.as_str()) {
            return Err(format!("no role `{}` in this app", reading.role));
        }
        save(&reading.role, &value.to_string())?;
        let Some(climate) = climate()? else {
            return Ok(()); // Not every sensor has spoken yet.
        };
        let action = ask_comfort(&climate)?;
        if load(ACTION_KEY)?.as_deref() == Some(action.as_str()) {
            return Ok(());
        }
        log::write(
            log::Level::Info,
            &format!(
                "{:.1} °C, {:.0} % humidity, {} people: {action}",
                climate[0], climate[1], climate[2]
            ),
        );
        apply(&action)?;
        save(ACTION_KEY, &action)
    }
}

/// The latest value of every role, once each has one.
fn climate() -> Result<Option<Vec<f64>>, String> {
    let mut values = Vec::new();
    for role in ROLES {
        match load(role)? {
            Some(text) => values.push(text.parse().map_err(|_| format!("bad saved {role}"))?),
            None => return Ok(None),
        }
    }
    Ok(Some(values))
}

/// `off`, `fan` or `cool`, as the model answers.
fn ask_comfort(climate: &[f64]) -> Result<String, String> {
    let answer = inference::predict("comfort", &Value::Numbers(climate.to_vec()))
        .map_err(|e| format!("asking the comfort model: {e:?}"))?;
    let Value::Json(text) = answer else {
        return Err(format!("the comfort model answered {answer:?}, not JSON"));
    };
    let answer: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("the comfort model's answer: {e}"))?;
    answer["action"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("the comfort model's answer has no action: {text}"))
}

fn apply(action: &str) -> Result<(), String> {
    let fan_speed = if action == "off" { 0.0 } else { 2.0 };
    controllers::send(
        "fan",
        &command("set-speed", [("speed", Value::Number(fan_speed))]),
    )
    .map_err(|e| format!("commanding the fan: {e:?}"))?;
    let ac = if action == "cool" {
        let setpoint = config_number("ac-setpoint").unwrap_or(22.0);
        command(
            "set-mode",
            [
                ("mode", Value::Text("cool".into())),
                ("setpoint", Value::Number(setpoint)),
            ],
        )
    } else {
        command("set-mode", [("mode", Value::Text("off".into()))])
    };
    controllers::send("ac", &ac).map_err(|e| format!("commanding the air conditioning: {e:?}"))
}

fn save(key: &str, value: &str) -> Result<(), String> {
    state::set(key, value.as_bytes()).map_err(|e| format!("saving {key}: {e:?}"))
}

fn load(key: &str) -> Result<Option<String>, String> {
    let bytes = state::get(key).map_err(|e| format!("reading {key}: {e:?}"))?;
    Ok(bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

trellis_sdk::export_app!(SmartClassroom);
