//! The models loaded in this process, by name, served to apps through the `inference` import.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use trellis_host::CallError;
use trellis_host::capabilities::inference::{ModelRuntime, unknown};
use trellis_host::types::{Error, Tensor, Value};

use crate::error::PredictError;
use crate::pipeline::ModelPipeline;

/// Loaded models by name. Cloning shares the same models.
#[derive(Clone, Default)]
pub struct ModelCatalog {
    models: Arc<RwLock<HashMap<String, Arc<ModelPipeline>>>>,
}

impl ModelCatalog {
    /// Adds a model under its `model.toml` name, replacing any model of that name.
    pub fn insert(&self, model: ModelPipeline) -> Arc<ModelPipeline> {
        let model = Arc::new(model);
        self.write()
            .insert(model.config().name.clone(), model.clone());
        model
    }

    /// The model named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<ModelPipeline>> {
        self.models
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// What an app may call: only the models its manifest names.
    pub fn for_app(&self, allowed: &[String]) -> Arc<dyn ModelRuntime> {
        Arc::new(AppModels {
            catalog: self.clone(),
            allowed: allowed.to_vec(),
        })
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<ModelPipeline>>> {
        self.models.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The catalog as one app sees it.
struct AppModels {
    catalog: ModelCatalog,
    allowed: Vec<String>,
}

impl AppModels {
    fn model(&self, name: &str) -> Result<Arc<ModelPipeline>, Error> {
        if !self.allowed.iter().any(|m| m == name) {
            return Err(Error::UnknownModel(format!(
                "model `{name}` is not listed under `models` in the app's manifest"
            )));
        }
        self.catalog.get(name).ok_or_else(|| unknown(name))
    }
}

impl ModelRuntime for AppModels {
    fn predict(&self, model: &str, input: Value) -> Result<Value, Error> {
        self.model(model)?
            .predict(&input)
            .map_err(|e| to_wit(model, e))
    }

    fn run(&self, model: &str, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, Error> {
        self.model(model)?.run(inputs).map_err(|e| to_wit(model, e))
    }
}

/// An app sees a refusal of its input as `invalid-input`, and anything else as `unavailable`.
fn to_wit(model: &str, error: PredictError) -> Error {
    let text = format!("model `{model}`: {error}");
    match error {
        PredictError::Preprocess(CallError::Failed { .. }) | PredictError::Tensors(_) => {
            Error::InvalidInput(text)
        }
        _ => Error::Unavailable(text),
    }
}
