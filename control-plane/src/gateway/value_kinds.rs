//! Readings checked against the value kind their sensor's type declares, so an app bound to a
//! temperature sensor never meets a text where its type promised a number.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use trellis_protocol::Value;
use trellis_protocol::api::ValueKind;

/// What a sensor's readings must be, as its registration and its type say.
#[derive(Debug)]
pub struct Declared {
    pub name: String,
    pub type_name: String,
    pub kind: ValueKind,
}

impl Declared {
    /// `value` if it is of the declared kind (`json` takes every value); else why not, naming
    /// the sensor, the kind expected and the kind given.
    pub fn check(&self, sensor: &str, value: &Value) -> Result<(), String> {
        let given = kind_of(value);
        if self.kind == ValueKind::Json || given == self.kind {
            return Ok(());
        }
        Err(format!(
            "value: sensor `{}` ({sensor}) is of type `{}`, whose readings are `{}`; a `{}` was given",
            self.name,
            self.type_name,
            self.kind.as_str(),
            given.as_str()
        ))
    }
}

/// The kind a value is.
pub fn kind_of(value: &Value) -> ValueKind {
    match value {
        Value::Number(_) => ValueKind::Number,
        Value::Numbers(_) => ValueKind::Numbers,
        Value::Text(_) => ValueKind::Text,
        Value::Bytes(_) => ValueKind::Bytes,
        Value::Json(_) => ValueKind::Json,
    }
}

/// What each sensor's readings must be, looked up once per sensor: neither a sensor's type nor a
/// type's value kind changes once registered.
#[derive(Default)]
pub struct DeclaredKinds(Mutex<HashMap<String, Arc<Declared>>>);

impl DeclaredKinds {
    pub fn get(&self, sensor: &str) -> Option<Arc<Declared>> {
        self.0.lock().get(sensor).cloned()
    }

    pub fn remember(&self, sensor: &str, declared: Declared) -> Arc<Declared> {
        let declared = Arc::new(declared);
        self.0.lock().insert(sensor.to_string(), declared.clone());
        declared
    }
}
