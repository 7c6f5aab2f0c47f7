//! A component built against trellis:platform@0.2.0; the host must refuse it and name the version.

wit_bindgen::generate!({ path: "wit", world: "app" });

struct Future;

impl Guest for Future {
    fn init() -> Result<(), String> {
        trellis::platform::log::write("hello from the future");
        Ok(())
    }
    fn on_reading() -> Result<(), String> {
        Ok(())
    }
    fn on_tick() -> Result<(), String> {
        Ok(())
    }
}

export!(Future);
