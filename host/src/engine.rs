//! The one wasmtime engine per process, its epoch ticker, and the linker every app shares.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::app::AppComponent;
use crate::compile_cache::{CacheOutcome, CompileCache};
use crate::contract::ContractComponent;
use crate::error::LoadError;
use crate::instance_state::InstanceState;
use crate::world_check::{self, World};

/// How the process-wide engine is set up.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Where compiled components are kept between runs; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// Most component instances alive at once in this process (the pooling allocator's size).
    pub max_instances: u32,
    /// The ceiling for any one instance's linear memory.
    pub max_memory_bytes: usize,
    /// How often the epoch advances; call deadlines are counted in these ticks.
    pub epoch_tick: Duration,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            cache_dir: None,
            max_instances: 256,
            max_memory_bytes: 256 << 20,
            epoch_tick: Duration::from_millis(5),
        }
    }
}

/// The component host: one per process.
pub struct Host {
    engine: Engine,
    app_linker: Linker<InstanceState>,
    contract_linker: Linker<InstanceState>,
    cache: CompileCache,
    config: HostConfig,
    _ticker: EpochTicker,
}

impl Host {
    /// Builds the engine and the linker for the `app` world.
    pub fn new(config: HostConfig) -> anyhow::Result<Host> {
        let engine = Engine::new(&engine_config(&config))?;
        let mut app_linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut app_linker)?;
        crate::deadline_poll::add_to_linker(&mut app_linker)?;
        crate::capabilities::add_to_linker(&mut app_linker)?;
        let mut contract_linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut contract_linker)?;
        crate::deadline_poll::add_to_linker(&mut contract_linker)?;
        crate::capabilities::add_contract_imports_to_linker(&mut contract_linker)?;
        let cache = CompileCache::new(config.cache_dir.clone())?;
        let ticker = EpochTicker::start(engine.clone(), config.epoch_tick);
        Ok(Host {
            engine,
            app_linker,
            contract_linker,
            cache,
            config,
            _ticker: ticker,
        })
    }

    /// The engine's settings.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    #[cfg(test)]
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles (or loads from the cache) an app component, checks it implements the `app`
    /// world, and prepares it for fast instantiation.
    pub fn load_app(&self, bytes: &[u8]) -> Result<AppComponent, LoadError> {
        let (pre, outcome) = self.prepare(bytes, &self.app_linker, World::App)?;
        AppComponent::new(pre, outcome, self.config.clone())
    }

    /// Compiles (or loads from the cache) a model contract, checks it implements the `contract`
    /// world, and prepares it for fast instantiation.
    pub fn load_contract(&self, bytes: &[u8]) -> Result<ContractComponent, LoadError> {
        let (pre, outcome) = self.prepare(bytes, &self.contract_linker, World::Contract)?;
        ContractComponent::new(pre, outcome, self.config.clone())
    }

    /// Removes from the compile cache every compiled component whose source's SHA-256 `keep`
    /// rejects, so a cache does not grow with every version ever loaded. Returns the size of
    /// each file removed. Components already loaded keep running.
    pub fn retain_compiled(&self, keep: impl Fn(&str) -> bool) -> std::io::Result<Vec<u64>> {
        self.cache.retain(keep)
    }

    /// Compiles, checks the component against `world` (naming every problem), and links it.
    fn prepare(
        &self,
        bytes: &[u8],
        linker: &Linker<InstanceState>,
        world: World,
    ) -> Result<(InstancePre<InstanceState>, CacheOutcome), LoadError> {
        let (component, outcome) = self.compile(bytes)?;
        world_check::check(&self.engine, &component, world)?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::WorldMismatch {
                world: world.name(),
                problems: format!("{e:#}"),
            })?;
        Ok((pre, outcome))
    }

    fn compile(&self, bytes: &[u8]) -> Result<(Component, CacheOutcome), LoadError> {
        if is_core_module(bytes) {
            return Err(LoadError::NotAComponent(
                "this is a core WebAssembly module; build with `--target wasm32-wasip2` or \
                 `cargo component build` to get a component"
                    .into(),
            ));
        }
        if !bytes.starts_with(b"\0asm") {
            return Err(LoadError::NotAComponent(
                "the bytes do not start with the WebAssembly magic number".into(),
            ));
        }
        self.cache.load(&self.engine, bytes)
    }
}

/// A core module has version 1 and layer 0 in its header; a component has layer 1.
fn is_core_module(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[4..8] == [1, 0, 0, 0]
}

fn engine_config(config: &HostConfig) -> Config {
    let mut pool = PoolingAllocationConfig::default();
    let instances = config.max_instances;
    // A Rust component holds its main module plus a few small shim modules; leave room for them.
    pool.total_component_instances(instances)
        .total_core_instances(instances * 8)
        .total_memories(instances * 2)
        .total_tables(instances * 4)
        .max_memory_size(config.max_memory_bytes);

    let mut wasm = Config::new();
    wasm.wasm_component_model(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    wasm
}

/// Advances the engine's epoch on a background thread, so a guest that runs past its deadline is
/// interrupted wherever it is.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine, tick: Duration) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("trellis-epoch".into())
            .spawn({
                let stop = stop.clone();
                move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(tick);
                        engine.increment_epoch();
                    }
                }
            })
            .expect("spawning the epoch thread");
        EpochTicker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
