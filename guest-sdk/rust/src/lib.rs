//! Write Trellis apps in Rust.
//!
//! An app implements [`App`] and exports it with [`export_app!`]:
//!
//! ```ignore
//! use trellis_sdk::{App, Reading, log};
//!
//! struct Hello;
//!
//! impl App for Hello {
//!     fn on_reading(reading: Reading) -> Result<(), String> {
//!         log::write(log::Level::Info, &format!("{} says {:?}", reading.role, reading.value));
//!         Ok(())
//!     }
//! }
//!
//! trellis_sdk::export_app!(Hello);
//! ```
//!
//! Build it with `cargo build --target wasm32-wasip2` (the output is a component) or with
//! `cargo component build`. The reference for every call is the WIT package in `wit/`, which
//! these bindings are generated from.

#[doc(hidden)]
// Generated code: its low-level functions mirror the canonical ABI, argument for argument.
#[allow(clippy::too_many_arguments)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "app",
        pub_export_macro: true,
        default_bindings_module: "trellis_sdk::bindings",
    });
}

pub use bindings::trellis::platform::{
    config, controllers, inference, log, notify, sensors, state, types,
};
pub use types::{Blob, Command, Error, InstanceInfo, Param, Reading, Tensor, TensorType, Value};

/// An app's reactions. Only `on_reading` is required.
pub trait App {
    /// Called once when the instance starts, with the deployment's parameters. An error stops
    /// the instance and is shown to the user who deployed it.
    fn init(_config: Vec<Param>) -> Result<(), String> {
        Ok(())
    }

    /// Called for each reading from a sensor bound to one of the app's roles.
    fn on_reading(reading: Reading) -> Result<(), String>;

    /// Called on the deployment's schedule or interval.
    fn on_tick() -> Result<(), String> {
        Ok(())
    }
}

/// Exports a type that implements [`App`] as this component's `app` world.
#[macro_export]
macro_rules! export_app {
    ($app:ident) => {
        impl $crate::bindings::Guest for $app {
            fn init(config: ::std::vec::Vec<$crate::Param>) -> ::std::result::Result<(), String> {
                <$app as $crate::App>::init(config)
            }
            fn on_reading(reading: $crate::Reading) -> ::std::result::Result<(), String> {
                <$app as $crate::App>::on_reading(reading)
            }
            fn on_tick() -> ::std::result::Result<(), String> {
                <$app as $crate::App>::on_tick()
            }
        }
        $crate::bindings::export!($app with_types_in $crate::bindings);
    };
}

/// Shorthand for a command with parameters: `command("set-speed", [("speed", Value::Number(2.0))])`.
pub fn command<'a>(name: &str, params: impl IntoIterator<Item = (&'a str, Value)>) -> Command {
    Command {
        name: name.to_string(),
        params: params
            .into_iter()
            .map(|(name, value)| Param {
                name: name.to_string(),
                value,
            })
            .collect(),
    }
}

/// The value of the config parameter `name` as a number, if it is one.
pub fn config_number(name: &str) -> Option<f64> {
    match config::get(name)? {
        Value::Number(n) => Some(n),
        Value::Text(t) => t.trim().parse().ok(),
        _ => None,
    }
}
