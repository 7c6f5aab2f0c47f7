//! A component that forgets the `on-tick` export; the host must refuse it and say so.

wit_bindgen::generate!({ path: "wit", world: "partial-app" });

struct Partial;

impl Guest for Partial {
    fn init(_config: Vec<(String, String)>) -> Result<(), String> {
        Ok(())
    }
    fn on_reading(_reading: String) -> Result<(), String> {
        Ok(())
    }
}

export!(Partial);
