//! The daemon's two loops: heartbeats out, assignments in. Neither ever gives up: while the
//! control plane is away the instances keep running until the node's lease runs out (then they
//! stop, see [`AssignmentLease`]), and both loops catch up when it returns.
//! A control plane that refuses the node's token is not away: it replaced the token or removed
//! the node and placed its instances elsewhere, so the node stops them.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use trellis_host::{Host, HostConfig};

use crate::NodeConfig;
use crate::app_state::AppStates;
use crate::app_state::checkpoints::Checkpoints;
use crate::artifacts::ArtifactCache;
use crate::assignment_lease::AssignmentLease;
use crate::ca_cert::ca_certificates;
use crate::log_shipping::{DiskBuffer, LogQueue, Shipper};
use crate::metrics::Probe;
use crate::notifications::{Forwarder, Outbox};
use trellis_host::capabilities::log::TracingLog;
use trellis_models::{ModelCatalog, ModelPackage, Runtimes};

use crate::supervisor::Supervisor;
use trellis_protocol::node::{AssignedModel, Assignment, Assignments, HeartbeatAnswer, NodeReport};

/// The hashes of every artifact `assignments` name: components, models and contracts.
fn artifacts_of(assignments: &Assignments) -> HashSet<String> {
    let mut hashes = HashSet::new();
    for assignment in &assignments.instances {
        hashes.insert(assignment.component_sha256.clone());
        for model in &assignment.models {
            hashes.insert(model.onnx_sha256.clone());
            hashes.insert(model.contract_sha256.clone());
        }
    }
    hashes
}

/// The wait before trying the control plane again.
const RETRY: Duration = Duration::from_secs(1);

/// What to do when the control plane refuses the node's token.
const REFUSED: &str = "the control plane refused this node's token: it was replaced \
    (`trellis node rotate-token`) or the node was removed. Restart this daemon with the new \
    token (--token or TRELLIS_NODE_TOKEN), or register it again with `trellis node join`";

/// Whether `error` is the control plane refusing the node's token (401).
fn refused(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<reqwest::Error>()
        .and_then(reqwest::Error::status)
        == Some(reqwest::StatusCode::UNAUTHORIZED)
}

/// `builder` trusting, beside the public roots, the CA certificates in the PEM file `ca_cert`.
fn trusting(
    mut builder: reqwest::ClientBuilder,
    ca_cert: Option<&std::path::Path>,
) -> anyhow::Result<reqwest::ClientBuilder> {
    for certificate in ca_cert
        .map(ca_certificates)
        .transpose()?
        .unwrap_or_default()
    {
        builder = builder.add_root_certificate(certificate);
    }
    Ok(builder)
}

struct Agent {
    config: NodeConfig,
    client: reqwest::Client,
    supervisor: Arc<Mutex<Supervisor>>,
    cache: ArtifactCache,
    heartbeat_ms: AtomicU64,
    states: Arc<AppStates>,
    lease: Arc<AssignmentLease>,
    /// Told when a renewal lifts a fence, so the assignments are fetched afresh at once.
    unfenced: tokio::sync::Notify,
}

/// Runs the node daemon until the process ends.
pub async fn run(config: NodeConfig) -> anyhow::Result<()> {
    let host = Arc::new(Host::new(HostConfig {
        cache_dir: Some(config.data_dir.join("compiled")),
        ..HostConfig::default()
    })?);
    // ONNX Runtime's library is the one `ORT_DYLIB_PATH` names; without it models run in tract.
    let mut runtimes = Runtimes::new(None);
    if let Some(worker) = &config.model_worker {
        runtimes = runtimes.isolated(worker.clone());
    }
    let runtimes = Arc::new(runtimes);
    let models = ModelCatalog::new(host.clone(), runtimes, Arc::new(TracingLog))
        .measured_by(config.metrics.inference.clone());
    let _metrics = match config.metrics_listen {
        Some(address) => Some(AbortOnDrop(
            crate::metrics_endpoint::start(
                address,
                config.metrics.clone(),
                config.metrics_token.clone(),
            )
            .await?,
        )),
        None => None,
    };
    let wake_checkpoints = Arc::new(tokio::sync::Notify::new());
    let states = Arc::new(AppStates::new(
        config.data_dir.join("state"),
        Some(wake_checkpoints.clone()),
    ));
    let client = trusting(reqwest::Client::builder(), config.ca_cert.as_deref())?
        .timeout(Duration::from_secs(60))
        .build()?;
    let log_queue = Arc::new(LogQueue::default());
    let log_buffer = DiskBuffer::open(
        &config.data_dir.join("logs.sqlite"),
        config.log_buffer_lines,
    )
    .context("opening the log buffer")?;
    let _shipper = AbortOnDrop(tokio::spawn(
        Shipper {
            client: client.clone(),
            control_plane: config.control_plane.clone(),
            token: config.token.clone(),
            queue: log_queue.clone(),
            buffer: Arc::new(log_buffer),
        }
        .run(),
    ));
    let (outbox, notifications) = Outbox::new();
    let agent = Arc::new(Agent {
        client: client.clone(),
        supervisor: Arc::new(Mutex::new(
            Supervisor::new(
                host,
                Arc::new(models),
                config.bus.clone(),
                config.tick,
                states.clone(),
                config.metrics.clone(),
                log_queue,
            )
            .forward_notifications(outbox)
            .history_bytes(config.reading_history_bytes),
        )),
        cache: ArtifactCache::open(config.data_dir.join("artifacts"))?,
        heartbeat_ms: AtomicU64::new(2000),
        states: states.clone(),
        lease: Arc::default(),
        unfenced: tokio::sync::Notify::new(),
        config: config.clone(),
    });
    let _checkpoints = AbortOnDrop(tokio::spawn(
        Checkpoints {
            client: client.clone(),
            control_plane: config.control_plane.clone(),
            token: config.token.clone(),
            states,
            wake: wake_checkpoints,
            interval: config.checkpoint_every,
        }
        .run(),
    ));
    let _notifications = AbortOnDrop(tokio::spawn(
        Forwarder {
            client,
            control_plane: config.control_plane.clone(),
            token: config.token.clone(),
            queue: notifications,
        }
        .run(),
    ));
    let _heartbeats = AbortOnDrop(tokio::spawn(agent.clone().heartbeats()));
    let _lease = AbortOnDrop(tokio::spawn(agent.clone().watch_lease()));
    agent.assignments().await;
    Ok(())
}

/// A task that ends with the node: when `run` ends or is dropped, its tasks are aborted, the
/// agent with them, and so the supervisor, which stops every instance.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Agent {
    fn url(&self, path: &str) -> String {
        format!(
            "{}/api/v1/node{path}",
            self.config.control_plane.trim_end_matches('/')
        )
    }

    async fn heartbeats(self: Arc<Self>) {
        let mut probe = tokio::task::spawn_blocking(Probe::new)
            .await
            .expect("the start-up benchmark");
        let mut reachable = true;
        let mut warned_bus = false;
        loop {
            let metrics = probe.sample();
            let report = {
                let supervisor = self.supervisor.lock().expect("supervisor lock");
                NodeReport {
                    metrics,
                    instances: supervisor.report(),
                    versions: supervisor.versions(),
                }
            };
            self.config
                .metrics
                .observe(&report.metrics, &report.instances);
            let sent = Instant::now();
            match self.heartbeat(&report).await {
                Ok(answer) => {
                    if self.lease.renew(sent, answer.lease_ms) {
                        tracing::info!("lease renewed: taking up the assignments again");
                        self.unfenced.notify_one();
                    }
                    if !reachable {
                        tracing::info!("control plane reachable again");
                    }
                    reachable = true;
                    self.heartbeat_ms
                        .store(answer.heartbeat_ms.max(50), Ordering::Relaxed);
                    if self.config.bus.is_none()
                        && !answer.bus.is_empty()
                        && !trellis_bus::is_embedded(&answer.bus)
                        && !warned_bus
                    {
                        tracing::warn!(
                            "the control plane's bus is {}; start this node with --bus {0} so its apps get readings",
                            answer.bus
                        );
                        warned_bus = true;
                    }
                }
                Err(e) if reachable && refused(&e) => {
                    tracing::error!("heartbeat refused: {REFUSED}");
                    reachable = false;
                }
                Err(e) if reachable => {
                    tracing::warn!(
                        "heartbeat failed (instances keep running while the lease lasts): {e:#}"
                    );
                    reachable = false;
                }
                Err(_) => {}
            }
            let every = self.heartbeat_ms.load(Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(every)).await;
        }
    }

    /// Stops every instance once the lease runs out; they start again when a heartbeat renews
    /// it and the assignments, fetched afresh, still name them.
    async fn watch_lease(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.lease.check_every()).await;
            if let Some(length) = self.lease.expire() {
                tracing::warn!(
                    "no heartbeat accepted for {} ms, this node's lease: stopping every instance, \
                     as the control plane may place them on another node",
                    length.as_millis()
                );
                self.apply(Vec::new()).await;
            }
        }
    }

    async fn heartbeat(&self, report: &NodeReport) -> anyhow::Result<HeartbeatAnswer> {
        let response = self
            .client
            .post(self.url("/heartbeat"))
            .bearer_auth(&self.config.token)
            .json(report)
            .send()
            .await?
            .error_for_status()?;
        Ok(response.json().await?)
    }

    async fn assignments(&self) {
        let mut generation: Option<u64> = None;
        let mut refusal_told = false;
        loop {
            let fetched = tokio::select! {
                fetched = self.fetch_assignments(generation) => fetched,
                () = self.unfenced.notified() => {
                    generation = None;
                    continue;
                }
            };
            let assignments = match fetched {
                Ok(assignments) => assignments,
                Err(e) if refused(&e) => {
                    if !refusal_told {
                        tracing::error!("stopping every instance: {REFUSED}");
                        refusal_told = true;
                    }
                    self.apply(Vec::new()).await;
                    generation = None;
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(
                        "fetching assignments (instances keep running while the lease lasts): {e:#}"
                    );
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            refusal_told = false;
            let complete = self.load_components(&assignments).await;
            // An instance must not start without the state it had elsewhere: try again soon.
            if !self.fetch_states(&assignments).await {
                tokio::time::sleep(RETRY).await;
                generation = None;
                continue;
            }
            let assigned = artifacts_of(&assignments);
            self.apply(assignments.instances).await;
            if complete {
                self.forget_unassigned(&assigned);
            }
            // A component that could not be fetched is tried again soon, not at the next change.
            generation = complete.then_some(assignments.generation);
            if !complete {
                tokio::time::sleep(RETRY).await;
            }
        }
    }

    /// Removes the cached artifacts and compiled components no assignment names any more, once
    /// everything assigned is loaded; a failure costs disk space only.
    fn forget_unassigned(&self, keep: &HashSet<String>) {
        let host = self.supervisor.lock().expect("supervisor lock").host();
        let removed = self
            .cache
            .retain(keep)
            .and_then(|artifacts| Ok((artifacts, host.retain_compiled(|sha| keep.contains(sha))?)));
        match removed {
            Ok((0, compiled)) if compiled.is_empty() => {}
            Ok((artifacts, compiled)) => tracing::info!(
                "removed {artifacts} cached artifact(s) and {} compiled component(s) no longer assigned",
                compiled.len()
            ),
            Err(e) => tracing::warn!("removing artifacts no longer assigned: {e}"),
        }
    }

    /// Makes `instances` what runs here: starts the new, stops the rest, and starts the changed
    /// ones, which take their deployment's state once their old selves have let go of it. It
    /// never waits for an instance to end, so a guest that will not return cannot hold it.
    async fn apply(&self, instances: Vec<Assignment>) {
        let supervisor = self.supervisor.clone();
        let lease = self.lease.clone();
        tokio::task::spawn_blocking(move || {
            let mut supervisor = supervisor.lock().expect("supervisor lock");
            // Judged under the supervisor's lock, so a set fetched before the lease ran out
            // cannot start anything after the fence stopped it.
            let wanted: &[Assignment] = if lease.fenced() { &[] } else { &instances };
            if !supervisor.apply(wanted).is_empty() {
                supervisor.apply(wanted);
            }
        })
        .await
        .expect("applying assignments");
    }

    async fn fetch_assignments(&self, after: Option<u64>) -> anyhow::Result<Assignments> {
        let mut request = self
            .client
            .get(self.url("/assignments"))
            .bearer_auth(&self.config.token);
        if let Some(after) = after {
            request = request.query(&[("after", after)]);
        }
        Ok(request.send().await?.error_for_status()?.json().await?)
    }

    /// Fetches the control plane's state checkpoint of each deployment about to start here, for
    /// its instance to take if it is newer than this node's store; false if any failed.
    async fn fetch_states(&self, assignments: &Assignments) -> bool {
        let starting: Vec<String> = self
            .supervisor
            .lock()
            .expect("supervisor lock")
            .to_start(&assignments.instances)
            .into_iter()
            .map(str::to_string)
            .collect();
        let mut complete = true;
        for deployment in starting {
            let url = self.url(&format!("/deployments/{deployment}/state"));
            let fetched = async {
                let response = self
                    .client
                    .get(&url)
                    .bearer_auth(&self.config.token)
                    .send()
                    .await?
                    .error_for_status()?;
                anyhow::Ok(response.json().await?)
            };
            match fetched.await {
                Ok(checkpoint) => self.states.offer(&deployment, checkpoint),
                Err(e) => {
                    tracing::warn!("{deployment}: fetching its state checkpoint: {e:#}");
                    complete = false;
                }
            }
        }
        complete
    }

    /// Fetches and compiles the components of `assignments` not loaded yet; false if any failed.
    async fn load_components(&self, assignments: &Assignments) -> bool {
        let missing: Vec<String> = {
            let supervisor = self.supervisor.lock().expect("supervisor lock");
            let mut missing: Vec<String> = supervisor
                .missing_components(&assignments.instances)
                .into_iter()
                .map(str::to_string)
                .collect();
            missing.dedup();
            missing
        };
        let mut complete = true;
        for sha in missing {
            if let Err(e) = self.load_component(&sha).await {
                tracing::warn!("component {sha}: {e:#}");
                complete = false;
            }
        }
        let models = self
            .supervisor
            .lock()
            .expect("supervisor lock")
            .missing_models(&assignments.instances);
        for model in models {
            if let Err(e) = self.load_model(&model).await {
                tracing::warn!("model {}: {e:#}", model.name);
                complete = false;
            }
        }
        complete
    }

    /// Fetches component `sha` and compiles it (off the async threads, without holding the
    /// supervisor), then hands it to the supervisor.
    async fn load_component(&self, sha: &str) -> anyhow::Result<()> {
        let bytes = self.artifact(sha).await?;
        let host = self.supervisor.lock().expect("supervisor lock").host();
        let component = tokio::task::spawn_blocking(move || host.load_app(&bytes))
            .await
            .expect("loading a component")?;
        self.supervisor
            .lock()
            .expect("supervisor lock")
            .add_component(sha, component);
        Ok(())
    }

    /// The bytes of artifact `sha`, from the cache or the control plane.
    async fn artifact(&self, sha: &str) -> anyhow::Result<Vec<u8>> {
        self.cache
            .get(sha, || async {
                let response = self
                    .client
                    .get(self.url(&format!("/artifacts/{sha}")))
                    .bearer_auth(&self.config.token)
                    .send()
                    .await?
                    .error_for_status()?;
                Ok(response.bytes().await?.to_vec())
            })
            .await
            .with_context(|| format!("fetching artifact {sha}"))
    }

    /// Fetches a model's artifacts and loads its pipeline (the model into its runtime, the
    /// contract compiled) into the catalog, without holding the supervisor.
    async fn load_model(&self, model: &AssignedModel) -> anyhow::Result<()> {
        let onnx = self.artifact(&model.onnx_sha256).await?;
        let contract = self.artifact(&model.contract_sha256).await?;
        let models = self.supervisor.lock().expect("supervisor lock").models();
        let model = model.clone();
        tokio::task::spawn_blocking(move || {
            models.get_or_load(&model.name, &model.version, || {
                ModelPackage::from_parts(&model.config, onnx, contract)
            })
        })
        .await
        .expect("loading a model")?;
        Ok(())
    }
}
