//! A contract for the digits model that sleeps in `preprocess` as many seconds as its input
//! says, then gives the model 64 zeros: for testing that a contract's deadline holds while it
//! is blocked in the host.

use std::time::Duration;

use trellis_contract_sdk::{Contract, Tensor, Value, f32_tensor, log};

struct SleepyContract;

impl Contract for SleepyContract {
    fn preprocess(input: Value) -> Result<Vec<Tensor>, String> {
        let Value::Number(seconds) = input else {
            return Err(format!("{input:?}: expected a number of seconds"));
        };
        log::write(log::Level::Info, &format!("sleeping {seconds} s"));
        std::thread::sleep(Duration::from_secs_f64(seconds));
        Ok(vec![f32_tensor("input", &[1, 64], &[0.0; 64])])
    }

    /// How many tensors the model gave.
    fn postprocess(outputs: Vec<Tensor>) -> Result<Value, String> {
        Ok(Value::Number(outputs.len() as f64))
    }
}

trellis_contract_sdk::export_contract!(SleepyContract);
