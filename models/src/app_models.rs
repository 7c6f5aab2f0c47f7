//! The catalog as one app sees it, through the `inference` import: only the models its manifest
//! lists, each at the version it was assigned.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use trellis_host::CallError;
use trellis_host::capabilities::inference::{ModelRuntime, unknown};
use trellis_host::types::{Error, Tensor, Value};

use crate::catalog::Loaded;
use crate::error::PredictError;
use crate::pipeline::ModelPipeline;

/// One app's models: made by [`crate::ModelCatalog::for_app`], handed to the app's instance as
/// its [`ModelRuntime`]. The versions can change under a running instance, so a node that is
/// assigned a new version of a model moves its running apps to it without restarting them.
pub struct AppModels {
    loaded: Arc<Loaded>,
    /// Each model the manifest lists, with the version the app calls it at, or `None` where no
    /// version was assigned (the model was never uploaded, say).
    versions: RwLock<BTreeMap<String, Option<String>>>,
}

impl AppModels {
    pub(crate) fn new(
        loaded: Arc<Loaded>,
        listed: &[String],
        versions: &BTreeMap<String, String>,
    ) -> AppModels {
        AppModels {
            loaded,
            versions: RwLock::new(
                listed
                    .iter()
                    .map(|name| (name.clone(), versions.get(name).cloned()))
                    .collect(),
            ),
        }
    }

    /// Calls each listed model at the version `versions` (name → version) names from now on; a
    /// listed model it does not name becomes unknown. Models the manifest does not list stay out
    /// of reach whatever `versions` says.
    pub fn set_versions(&self, versions: &BTreeMap<String, String>) {
        let mut mine = self
            .versions
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for (name, version) in mine.iter_mut() {
            *version = versions.get(name).cloned();
        }
    }

    fn model(&self, name: &str) -> Result<Arc<ModelPipeline>, Error> {
        let version = match self
            .versions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            Some(version) => version.clone(),
            None => {
                return Err(Error::UnknownModel(format!(
                    "model `{name}` is not listed under `models` in the app's manifest"
                )));
            }
        };
        version
            .and_then(|version| self.loaded.get(name, &version))
            .ok_or_else(|| unknown(name))
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
