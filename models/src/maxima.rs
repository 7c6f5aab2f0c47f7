//! The most a model package may ask for on a platform. `model.toml` sets its contract's memory
//! and deadline and declares its tensors' shapes; without a bound, one upload could ask for
//! terabytes or an hour a call. The platform's admin sets these bounds (`trellis up` flags).

use crate::config::ModelConfig;

/// Upper bounds on what a `model.toml` may ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelMaxima {
    /// The most `limits.memory-mb` may be.
    pub memory_mb: u32,
    /// The most `limits.deadline-ms` may be.
    pub deadline_ms: u64,
    /// The most bytes a declared tensor may take, counting each `-1` dimension as 1.
    pub tensor_bytes: u64,
}

impl Default for ModelMaxima {
    /// 1 GiB of contract memory (16 times the default), 30 s a call (30 times the default) and
    /// 256 MiB a tensor.
    fn default() -> ModelMaxima {
        ModelMaxima {
            memory_mb: 1024,
            deadline_ms: 30_000,
            tensor_bytes: 256 << 20,
        }
    }
}

/// A `model.toml` field above the platform's maximum: which field, its value, the maximum.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("model.toml: {field} = {value} is above this platform's maximum of {maximum}")]
pub struct OverLimit {
    /// The field, as written in `model.toml` (`limits.memory-mb`, `inputs.image`).
    pub field: String,
    pub value: u64,
    pub maximum: u64,
}

impl ModelMaxima {
    /// Every field of `config` above its maximum, in the order of `model.toml`; empty when the
    /// package asks for no more than the platform allows.
    pub fn check(&self, config: &ModelConfig) -> Vec<OverLimit> {
        let mut over = Vec::new();
        let limits = &config.limits;
        for (field, value, maximum) in [
            (
                "limits.memory-mb",
                u64::from(limits.memory_mb),
                u64::from(self.memory_mb),
            ),
            ("limits.deadline-ms", limits.deadline_ms, self.deadline_ms),
        ] {
            if value > maximum {
                over.push(OverLimit {
                    field: field.into(),
                    value,
                    maximum,
                });
            }
        }
        for (side, specs) in [("inputs", &config.inputs), ("outputs", &config.outputs)] {
            for spec in specs {
                // `ModelConfig::parse` has refused shapes whose size overflows.
                let bytes = spec.fixed_bytes().unwrap_or(u64::MAX);
                if bytes > self.tensor_bytes {
                    over.push(OverLimit {
                        field: format!("{side}.{} ({}) in bytes", spec.name, spec.describe()),
                        value: bytes,
                        maximum: self.tensor_bytes,
                    });
                }
            }
        }
        over
    }
}
