//! A model package: `model.onnx`, `contract.wasm` and `model.toml`, as uploaded.

use std::path::Path;

use crate::config::ModelConfig;
use crate::error::ModelError;

/// The three files of a model package, with `model.toml` parsed. The ONNX file and the contract
/// are checked when the package is loaded ([`crate::ModelPipeline::load`]).
#[derive(Clone)]
pub struct ModelPackage {
    pub config: ModelConfig,
    pub onnx: Vec<u8>,
    pub contract: Vec<u8>,
}

impl ModelPackage {
    pub const CONFIG_FILE: &str = "model.toml";
    pub const ONNX_FILE: &str = "model.onnx";
    pub const CONTRACT_FILE: &str = "contract.wasm";

    /// Reads a package from a directory holding its three files.
    pub fn read_dir(dir: &Path) -> Result<ModelPackage, ModelError> {
        let read = |file: &'static str| {
            std::fs::read(dir.join(file)).map_err(|e| ModelError::File {
                file,
                message: format!("cannot read {}: {e}", dir.join(file).display()),
            })
        };
        let config = read(Self::CONFIG_FILE)?;
        let config = String::from_utf8(config).map_err(|_| ModelError::File {
            file: Self::CONFIG_FILE,
            message: "not UTF-8 text".into(),
        })?;
        ModelPackage::from_parts(&config, read(Self::ONNX_FILE)?, read(Self::CONTRACT_FILE)?)
    }

    /// A package from the text of `model.toml` and the bytes of the other two files.
    pub fn from_parts(
        config: &str,
        onnx: Vec<u8>,
        contract: Vec<u8>,
    ) -> Result<ModelPackage, ModelError> {
        let config = ModelConfig::parse(config).map_err(|message| ModelError::File {
            file: Self::CONFIG_FILE,
            message,
        })?;
        Ok(ModelPackage {
            config,
            onnx,
            contract,
        })
    }
}
