//! `model.toml`: what a model package says about its model: names, tensors, backend, limits.

use std::time::Duration;

use serde::Deserialize;
use trellis_host::InstanceLimits;
use trellis_host::types::TensorType;

/// A model package's configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModelConfig {
    /// The name apps call the model by.
    pub name: String,
    /// The package's version, e.g. `1.0.0`.
    pub version: String,
    #[serde(default)]
    pub description: String,
    /// Which runtime runs the ONNX file.
    #[serde(default)]
    pub backend: BackendChoice,
    /// The model's inputs, in the order the contract produces them.
    pub inputs: Vec<TensorSpec>,
    /// The model's outputs, in the order the contract receives them.
    pub outputs: Vec<TensorSpec>,
    #[serde(default)]
    pub limits: ModelLimits,
    /// Gathering concurrent callers into one run of the model; `None` (no `[batching]`) runs
    /// each caller's tensors alone.
    #[serde(default)]
    pub batching: Option<Batching>,
}

/// `[batching]`: concurrent callers of one model version, apps and HTTP requests alike, are
/// stacked along the first (batch) dimension into one run of up to `max-batch` rows, waiting at
/// most `max-delay-us` after the first caller for others to join. Each caller gets its own rows
/// back. Only for models whose every input and output has a batch dimension (`-1` first).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Batching {
    /// The most rows one run of the model takes.
    pub max_batch: u32,
    /// How long the first caller of a batch waits for others, in microseconds. 0 gathers only
    /// the callers already waiting.
    #[serde(default)]
    pub max_delay_us: u64,
}

impl Batching {
    /// Above this, one run's tensors could be larger than a platform lets one tensor be many
    /// times over.
    pub const MOST_ROWS: u32 = 1024;
    /// A longer wait would cost every caller more than batching could give back.
    pub const LONGEST_DELAY_US: u64 = 100_000;

    pub fn max_delay(&self) -> Duration {
        Duration::from_micros(self.max_delay_us)
    }
}

/// Which runtime runs a model.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum BackendChoice {
    /// ONNX Runtime when its library is found, else tract.
    #[default]
    Auto,
    /// ONNX Runtime only: loading fails where its library is missing.
    OnnxRuntime,
    /// tract (pure Rust) only.
    Tract,
}

/// One input or output tensor of the model.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ElementType,
    /// Dimensions, outermost first; `-1` is a dimension of any size (such as the batch).
    pub shape: Vec<i64>,
}

/// The element types a model package may declare: those of the WIT `tensor-type`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ElementType {
    Fp16,
    Fp32,
    Fp64,
    Bf16,
    U8,
    I32,
    I64,
}

/// Limits on the contract instances that pre- and post-process for the model.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModelLimits {
    /// The contract's linear memory, in MiB.
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u32,
    /// How long one `preprocess` or `postprocess` call may run, in milliseconds.
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
}

fn default_memory_mb() -> u32 {
    64
}

fn default_deadline_ms() -> u64 {
    1000
}

impl Default for ModelLimits {
    fn default() -> Self {
        ModelLimits {
            memory_mb: default_memory_mb(),
            deadline_ms: default_deadline_ms(),
        }
    }
}

impl ModelLimits {
    /// The sandbox limits for one contract instance.
    pub fn instance_limits(&self) -> InstanceLimits {
        InstanceLimits {
            memory_bytes: (self.memory_mb as usize) << 20,
            call_deadline: Duration::from_millis(self.deadline_ms),
            ..InstanceLimits::default()
        }
    }
}

impl ModelConfig {
    /// Parses and checks `model.toml`. The error names the line and field at fault.
    pub fn parse(text: &str) -> Result<ModelConfig, String> {
        let config: ModelConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "name `{}`: use letters, digits, `-` and `_` only",
                self.name
            ));
        }
        if self.inputs.is_empty() {
            return Err("declare at least one [[inputs]] tensor".into());
        }
        if self.outputs.is_empty() {
            return Err("declare at least one [[outputs]] tensor".into());
        }
        for (side, specs) in [("inputs", &self.inputs), ("outputs", &self.outputs)] {
            for (i, spec) in specs.iter().enumerate() {
                if specs[..i].iter().any(|s| s.name == spec.name) {
                    return Err(format!("{side}: `{}` is declared twice", spec.name));
                }
                if let Some(d) = spec.shape.iter().find(|&&d| d < -1 || d == 0) {
                    return Err(format!(
                        "{side}: `{}` has dimension {d}; use a positive size or -1 for any size",
                        spec.name
                    ));
                }
                if let Some(d) = spec.shape.iter().find(|&&d| d > i64::from(u32::MAX)) {
                    return Err(format!(
                        "{side}: `{}` has dimension {d}; a tensor dimension may be at most {}",
                        spec.name,
                        u32::MAX
                    ));
                }
                if spec.fixed_bytes().is_none() {
                    return Err(format!(
                        "{side}: `{}` has shape {}, whose size in bytes overflows",
                        spec.name,
                        spec.describe()
                    ));
                }
            }
        }
        if self.limits.memory_mb == 0 || self.limits.deadline_ms == 0 {
            return Err("limits: memory-mb and deadline-ms must be above 0".into());
        }
        if let Some(batching) = &self.batching {
            self.check_batching(batching)?;
        }
        Ok(())
    }

    fn check_batching(&self, batching: &Batching) -> Result<(), String> {
        if !(2..=Batching::MOST_ROWS).contains(&batching.max_batch) {
            return Err(format!(
                "batching: max-batch = {}; use 2 to {} (or leave [batching] out to run each caller alone)",
                batching.max_batch,
                Batching::MOST_ROWS
            ));
        }
        if batching.max_delay_us > Batching::LONGEST_DELAY_US {
            return Err(format!(
                "batching: max-delay-us = {} is above the most a caller may wait, {} (100 ms)",
                batching.max_delay_us,
                Batching::LONGEST_DELAY_US
            ));
        }
        for (side, specs) in [("input", &self.inputs), ("output", &self.outputs)] {
            if let Some(spec) = specs.iter().find(|s| s.shape.first() != Some(&-1)) {
                return Err(format!(
                    "batching: {side} `{}` has shape {}, whose first dimension is not a batch \
                     dimension (-1); a batched model takes and gives its rows in the first dimension",
                    spec.name,
                    spec.describe()
                ));
            }
        }
        Ok(())
    }
}

impl TensorSpec {
    /// The bytes of one tensor of this spec, counting each `-1` as 1: the least it can take.
    /// `None` when that overflows.
    pub fn fixed_bytes(&self) -> Option<u64> {
        self.shape
            .iter()
            .try_fold(self.ty.size() as u64, |bytes, &d| {
                bytes.checked_mul(u64::try_from(d.max(1)).ok()?)
            })
    }

    /// The spec written as `fp32[-1, 64]`, for error messages.
    pub fn describe(&self) -> String {
        describe(self.ty, &self.shape)
    }

    /// Whether concrete dimensions fit this spec.
    pub fn accepts(&self, ty: ElementType, dimensions: &[u32]) -> bool {
        ty == self.ty
            && dimensions.len() == self.shape.len()
            && dimensions
                .iter()
                .zip(&self.shape)
                .all(|(&d, &s)| s == -1 || s == i64::from(d))
    }
}

/// A tensor type written as `fp32[-1, 64]`.
pub fn describe(ty: ElementType, shape: &[i64]) -> String {
    let dims: Vec<String> = shape.iter().map(i64::to_string).collect();
    format!("{}[{}]", ty.name(), dims.join(", "))
}

impl ElementType {
    /// The name used in `model.toml` and the WIT `tensor-type`.
    pub fn name(self) -> &'static str {
        match self {
            ElementType::Fp16 => "fp16",
            ElementType::Fp32 => "fp32",
            ElementType::Fp64 => "fp64",
            ElementType::Bf16 => "bf16",
            ElementType::U8 => "u8",
            ElementType::I32 => "i32",
            ElementType::I64 => "i64",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            ElementType::U8 => 1,
            ElementType::Fp16 | ElementType::Bf16 => 2,
            ElementType::Fp32 | ElementType::I32 => 4,
            ElementType::Fp64 | ElementType::I64 => 8,
        }
    }
}

impl From<TensorType> for ElementType {
    fn from(ty: TensorType) -> ElementType {
        match ty {
            TensorType::Fp16 => ElementType::Fp16,
            TensorType::Fp32 => ElementType::Fp32,
            TensorType::Fp64 => ElementType::Fp64,
            TensorType::Bf16 => ElementType::Bf16,
            TensorType::U8 => ElementType::U8,
            TensorType::I32 => ElementType::I32,
            TensorType::I64 => ElementType::I64,
        }
    }
}

impl From<ElementType> for TensorType {
    fn from(ty: ElementType) -> TensorType {
        match ty {
            ElementType::Fp16 => TensorType::Fp16,
            ElementType::Fp32 => TensorType::Fp32,
            ElementType::Fp64 => TensorType::Fp64,
            ElementType::Bf16 => TensorType::Bf16,
            ElementType::U8 => TensorType::U8,
            ElementType::I32 => TensorType::I32,
            ElementType::I64 => TensorType::I64,
        }
    }
}
