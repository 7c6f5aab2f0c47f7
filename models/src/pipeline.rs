//! One model ready to serve: contract `preprocess` (WebAssembly) → the model (native) →
//! contract `postprocess`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use trellis_host::capabilities::LogSink;
use trellis_host::types::{Tensor, Value};
use trellis_host::{ContractComponent, ContractInstance, Host, InstanceLimits};

use crate::backend::{BackendKind, RunError, Runtimes, Session};
use crate::batcher::Batcher;
use crate::config::{ModelConfig, TensorSpec};
use crate::error::{ModelError, PredictError};
use crate::metrics::{InferenceMetrics, ModelLabels, PipelineMeters};
use crate::onnx_graph::OnnxGraph;
use crate::package::ModelPackage;
use crate::tensor_data::{TypedTensor, byte_size, carried, overflow};

/// Idle contract instances kept per model; more are started under load and dropped after.
const IDLE_CONTRACTS: usize = 8;

/// A loaded model package. Shared by every caller: the session is loaded once, and each call
/// borrows a contract instance from a pool.
pub struct ModelPipeline {
    config: ModelConfig,
    backend: BackendKind,
    session: Arc<dyn Session>,
    /// Gathers concurrent callers into one run, where `model.toml` asks for `[batching]`.
    batcher: Option<Batcher>,
    contract: ContractComponent,
    limits: InstanceLimits,
    log: Arc<dyn LogSink>,
    idle: Mutex<Vec<ContractInstance>>,
    meters: PipelineMeters,
    /// The package's files' size: what a cache counts the model as holding.
    footprint: u64,
    /// A moving average of its predictions' time, in nanoseconds (0 before the first).
    typical_ns: AtomicU64,
}

impl ModelPipeline {
    /// Checks a package (the ONNX file parses and matches `model.toml`, the contract implements
    /// the `contract` world) and loads its model into a runtime. `host` compiles the contract and
    /// `runtimes` run the model, so the engine never needs to know about ONNX. The contract's log
    /// goes to `log`.
    pub fn load(
        host: &Host,
        runtimes: &Runtimes,
        package: ModelPackage,
        log: Arc<dyn LogSink>,
    ) -> Result<ModelPipeline, ModelError> {
        let ModelPackage {
            config,
            onnx,
            contract,
        } = package;
        let footprint = (onnx.len() + contract.len()) as u64;
        let graph = OnnxGraph::parse(&onnx).map_err(|message| ModelError::File {
            file: ModelPackage::ONNX_FILE,
            message,
        })?;
        if let Some(found) = crate::external_data::find(&graph.proto) {
            return Err(ModelError::ExternalData {
                tensor: found.tensor,
                location: found.location,
            });
        }
        graph
            .check(&config.inputs, &config.outputs)
            .map_err(ModelError::Mismatch)?;
        for spec in config.inputs.iter().chain(&config.outputs) {
            if let Err(problem) = carried(spec.ty) {
                return Err(ModelError::File {
                    file: ModelPackage::CONFIG_FILE,
                    message: format!("`{}`: {problem}", spec.name),
                });
            }
        }
        let contract = host.load_contract(&contract)?;
        let (backend, session) = runtimes.load(&onnx, &graph, &config)?;
        let limits = config.limits.instance_limits();
        let batcher = match &config.batching {
            Some(batching) => Some(
                Batcher::start(&config.name, session.clone(), batching).map_err(|e| {
                    ModelError::Backend {
                        backend: backend.name(),
                        message: format!("could not start its batching thread: {e}"),
                    }
                })?,
            ),
            None => None,
        };
        let meters = InferenceMetrics::default().for_pipeline(
            &ModelLabels {
                model: config.name.clone(),
                version: config.version.clone(),
                runtime: backend.name().into(),
            },
            batcher.is_some(),
        );
        Ok(ModelPipeline {
            config,
            backend,
            session,
            batcher,
            contract,
            limits,
            log,
            idle: Mutex::new(Vec::new()),
            meters,
            footprint,
            typical_ns: AtomicU64::new(0),
        })
    }

    /// The memory it holds, estimated by its package's files (`model.onnx` and the contract):
    /// a runtime holds the weights the file carries, and the contract's compiled code grows
    /// with the component.
    pub fn memory_estimate(&self) -> u64 {
        self.footprint
    }

    /// The package's `model.toml`.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The runtime the model runs in.
    pub fn backend(&self) -> BackendKind {
        self.backend
    }

    /// Records its predictions into `metrics` from now on (a catalog hands it the families its
    /// process registered).
    pub fn measure_into(&mut self, metrics: InferenceMetrics) {
        self.meters = metrics.for_pipeline(&self.labels(), self.batches());
    }

    /// The loaded model itself, without checks or contract: what the benchmark compares against.
    pub fn session(&self) -> &dyn Session {
        self.session.as_ref()
    }

    /// The whole pipeline: contract `preprocess`, the model, contract `postprocess`.
    pub fn predict(&self, input: &Value) -> Result<Value, PredictError> {
        let started = Instant::now();
        let result = self.predict_unmeasured(input);
        self.record(started, result.is_ok());
        result
    }

    fn predict_unmeasured(&self, input: &Value) -> Result<Value, PredictError> {
        let mut contract = self.borrow_contract()?;
        let result = (|| {
            let tensors = contract
                .preprocess(input)
                .map_err(PredictError::Preprocess)?;
            let tensors = self
                .check_inputs(tensors)
                .map_err(|e| PredictError::Tensors(format!("preprocess returned {e}")))?;
            let outputs = self.encode_outputs(&self.infer(tensors)?)?;
            contract
                .postprocess(&outputs)
                .map_err(PredictError::Postprocess)
        })();
        self.give_back(contract);
        result
    }

    /// Several inputs, each answered as [`predict`](Self::predict) answers it, in order; but
    /// when the model takes a batch (every input's first dimension is -1) and each preprocess
    /// gives one row, the rows are stacked, run through the model once, and split again for
    /// each postprocess. A batch job's time goes mostly to inference calls: one per batch rather
    /// than one per row.
    pub fn predict_batch(&self, inputs: &[Value]) -> Vec<Result<Value, PredictError>> {
        let batchable = !self.config.inputs.is_empty()
            && self
                .config
                .inputs
                .iter()
                .all(|s| s.shape.first() == Some(&-1));
        let one_by_one = || inputs.iter().map(|input| self.predict(input)).collect();
        if !batchable || inputs.len() < 2 {
            return one_by_one();
        }
        let Ok(mut contract) = self.borrow_contract() else {
            return one_by_one();
        };
        let mut answers: Vec<Option<Result<Value, PredictError>>> =
            inputs.iter().map(|_| None).collect();
        // (input index, its tensors in model.toml order, each one row).
        let mut rows: Vec<(usize, Vec<TypedTensor>)> = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let typed = contract
                .preprocess(input)
                .map_err(PredictError::Preprocess)
                .and_then(|tensors| {
                    self.check_inputs(tensors)
                        .map_err(|e| PredictError::Tensors(format!("preprocess returned {e}")))
                });
            let typed = match typed {
                Ok(typed) => typed,
                Err(e) => {
                    answers[i] = Some(Err(e));
                    continue;
                }
            };
            let one_row = typed.iter().all(|t| t.shape.first() == Some(&1));
            let stacks = rows
                .first()
                .is_none_or(|(_, first)| typed.iter().zip(first).all(|(t, f)| t.shape == f.shape));
            if one_row && stacks {
                rows.push((i, typed));
            } else {
                answers[i] = Some(
                    self.infer(typed)
                        .and_then(|outputs| self.encode_outputs(&outputs))
                        .and_then(|outputs| {
                            contract
                                .postprocess(&outputs)
                                .map_err(PredictError::Postprocess)
                        }),
                );
            }
        }
        if !rows.is_empty() {
            let ones = vec![1; rows.len()];
            let stacked: Option<Vec<TypedTensor>> = (0..self.config.inputs.len())
                .map(|k| TypedTensor::stack(&rows.iter().map(|(_, t)| &t[k]).collect::<Vec<_>>()))
                .collect();
            // Each output cut into one piece a row: (output, row) → tensor.
            let pieces: Option<Vec<Vec<TypedTensor>>> = stacked
                .and_then(|stacked| self.infer(stacked).ok())
                .and_then(|outputs| outputs.iter().map(|o| o.split(&ones)).collect());
            match pieces {
                Some(pieces) => {
                    let mut pieces: Vec<_> = pieces.into_iter().map(Vec::into_iter).collect();
                    for (i, _) in &rows {
                        let mine: Vec<TypedTensor> = pieces
                            .iter_mut()
                            .map(|of_output| of_output.next().expect("one piece a row"))
                            .collect();
                        answers[*i] = Some(self.encode_outputs(&mine).and_then(|outputs| {
                            contract
                                .postprocess(&outputs)
                                .map_err(PredictError::Postprocess)
                        }));
                    }
                }
                // A model that does not answer row for row, or that failed on the batch: each
                // row alone, so each gets its own answer or error.
                None => {
                    for (i, _) in &rows {
                        answers[*i] = Some(self.predict(&inputs[*i]));
                    }
                }
            }
        }
        self.give_back(contract);
        answers
            .into_iter()
            .map(|answer| answer.expect("every input is answered"))
            .collect()
    }

    /// The model alone, on tensors checked against `model.toml`.
    pub fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, PredictError> {
        let started = Instant::now();
        let result = self
            .check_inputs(inputs)
            .map_err(PredictError::Tensors)
            .and_then(|tensors| self.encode_outputs(&self.infer(tensors)?));
        self.record(started, result.is_ok());
        result
    }

    /// Whether its callers are gathered into batches: each call then waits for others (up to
    /// `max-delay-us`), so none should be made on an async thread.
    pub fn batches(&self) -> bool {
        self.batcher.is_some()
    }

    /// How long a prediction typically takes (a moving average over the last few), once there
    /// has been one: what tells a caller whether it may run it on an async thread.
    pub fn typical_run_time(&self) -> Option<Duration> {
        match self.typical_ns.load(Ordering::Relaxed) {
            0 => None,
            ns => Some(Duration::from_nanos(ns)),
        }
    }

    /// Counts one call that began at `started` and times it.
    fn record(&self, started: Instant, ok: bool) {
        let elapsed = started.elapsed();
        let took = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX).max(1);
        // Weight 1/8 for the newest: a few slow runs move it, one does not. Racing updates may
        // lose a sample, which an average can afford.
        let before = self.typical_ns.load(Ordering::Relaxed);
        let average = if before == 0 {
            took
        } else {
            before - before / 8 + took / 8
        };
        self.typical_ns.store(average.max(1), Ordering::Relaxed);
        self.meters.latency.observe(elapsed.as_secs_f64());
        if ok {
            &self.meters.ok
        } else {
            &self.meters.failed
        }
        .inc();
    }

    fn labels(&self) -> ModelLabels {
        ModelLabels {
            model: self.config.name.clone(),
            version: self.config.version.clone(),
            runtime: self.backend.name().into(),
        }
    }

    /// The model on checked inputs (in a batch, where it batches).
    fn infer(&self, inputs: Vec<TypedTensor>) -> Result<Vec<TypedTensor>, PredictError> {
        match &self.batcher {
            Some(batcher) => {
                let answer = batcher.run(inputs);
                if let (Some(rows), Some(meter)) = (answer.batch_rows, &self.meters.batch_rows) {
                    meter.observe(rows as f64);
                }
                answer.outputs
            }
            None => self.session.run(inputs),
        }
        .map_err(|e| match e {
            RunError::Failed(message) => PredictError::Inference(message),
            RunError::WorkerStopped(message) => PredictError::WorkerStopped(message),
        })
    }

    /// The model's outputs as WIT tensors, named as `model.toml` names them.
    fn encode_outputs(&self, outputs: &[TypedTensor]) -> Result<Vec<Tensor>, PredictError> {
        outputs
            .iter()
            .zip(&self.config.outputs)
            .map(|(tensor, spec)| tensor.encode(&spec.name))
            .collect::<Result<_, _>>()
            .map_err(PredictError::Inference)
    }

    /// Puts tensors in `model.toml` order (by name, or by position where unnamed) and checks
    /// each one's type, shape and length.
    fn check_inputs(&self, tensors: Vec<Tensor>) -> Result<Vec<TypedTensor>, String> {
        let specs = &self.config.inputs;
        if tensors.len() != specs.len() {
            return Err(format!(
                "{} tensors; model `{}` takes {} ({})",
                tensors.len(),
                self.config.name,
                specs.len(),
                specs
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let mut ordered: Vec<Option<TypedTensor>> = vec![None; specs.len()];
        for (position, tensor) in tensors.into_iter().enumerate() {
            let index = if tensor.name.is_empty() {
                position
            } else {
                specs
                    .iter()
                    .position(|s| s.name == tensor.name)
                    .ok_or_else(|| {
                        format!(
                            "a tensor named `{}`, which is not an input of model `{}`",
                            tensor.name, self.config.name
                        )
                    })?
            };
            let spec = &specs[index];
            check_tensor(spec, &tensor)?;
            if ordered[index].is_some() {
                return Err(format!("input `{}` twice", spec.name));
            }
            ordered[index] = Some(TypedTensor::decode(&tensor)?);
        }
        Ok(ordered
            .into_iter()
            .map(|t| t.expect("every slot filled"))
            .collect())
    }

    fn borrow_contract(&self) -> Result<ContractInstance, PredictError> {
        let started = Instant::now();
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let (source, instance) = match idle {
            Some(instance) => (&self.meters.contract_reused, Ok(instance)),
            None => (
                &self.meters.contract_started,
                self.contract
                    .instantiate(self.log.clone(), self.limits.clone())
                    .map_err(PredictError::Instantiate),
            ),
        };
        source.observe(started.elapsed().as_secs_f64());
        instance
    }

    fn give_back(&self, instance: ContractInstance) {
        // A trapped instance is never reused: its memory may be in any state.
        if instance.is_stopped() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < IDLE_CONTRACTS {
            idle.push(instance);
        }
    }
}

fn check_tensor(spec: &TensorSpec, tensor: &Tensor) -> Result<(), String> {
    let ty = tensor.ty.into();
    if !spec.accepts(ty, &tensor.dimensions) {
        let dims: Vec<i64> = tensor.dimensions.iter().map(|&d| i64::from(d)).collect();
        return Err(format!(
            "{} for input `{}`, which takes {}",
            crate::config::describe(ty, &dims),
            spec.name,
            spec.describe()
        ));
    }
    let shape: Vec<usize> = tensor.dimensions.iter().map(|&d| d as usize).collect();
    let expected = byte_size(&shape, spec.ty).ok_or_else(|| overflow(&spec.name, &shape))?;
    if tensor.data.len() != expected {
        return Err(format!(
            "{} bytes for input `{}`; its dimensions need {expected}",
            tensor.data.len(),
            spec.name
        ));
    }
    Ok(())
}
