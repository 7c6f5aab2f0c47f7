//! Builds an app or a model contract into a WebAssembly component with its language's
//! toolchain: cargo for Rust, componentize-py for Python, componentize-js for JavaScript.
//!
//! `trellis build` and the tests' guest builds both go through here, so an example is built
//! exactly as a user's project is. The WIT package and each language's SDK are embedded in this
//! crate and written beside the project (`.trellis/`) before each build, so a project builds
//! against the WIT of the `trellis` that builds it, with nothing else to download.

mod embedded;
mod fingerprint;
mod js;
mod python;
mod rust;
mod tools;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use embedded::{SDK_DIR, write_sdk};
pub use js::{COMPONENTIZE_JS, install_tools as install_js_tools};
pub use tools::ToolError;

/// The language a project is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    Rust,
    Python,
    JavaScript,
}

impl Language {
    pub fn parse(text: &str) -> Option<Language> {
        match text {
            "rust" | "rs" => Some(Language::Rust),
            "python" | "py" => Some(Language::Python),
            "js" | "javascript" => Some(Language::JavaScript),
            _ => None,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "js",
        })
    }
}

/// The WIT world a project implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum World {
    App,
    Contract,
}

impl World {
    /// The world's name in the WIT package, which is also the source file's stem in Python and
    /// JavaScript projects (`app.py`, `contract.js`).
    pub fn name(self) -> &'static str {
        match self {
            World::App => "app",
            World::Contract => "contract",
        }
    }
}

/// A folder holding one app or contract.
#[derive(Clone, Debug)]
pub struct Project {
    pub dir: PathBuf,
    pub language: Language,
    pub world: World,
    /// The component's name: the folder's name, or the Rust package's. A model package's
    /// `contract/` folder (beside its `model.toml`) is named after the model, as
    /// `digits-contract`, so components of different models do not share a name.
    pub name: String,
}

/// A built component.
#[derive(Debug)]
pub struct Built {
    pub path: PathBuf,
    pub size: u64,
    pub elapsed: Duration,
    /// Whether an earlier build of the same sources was reused.
    pub reused: bool,
}

/// Why a project could not be built.
#[derive(Debug)]
pub enum BuildError {
    /// The folder is not a project this crate knows how to build.
    NotAProject(String),
    /// A toolchain is missing; the message says how to install it.
    Tool(ToolError),
    /// The toolchain ran and failed; its output has been shown.
    Failed(String),
    Io(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::NotAProject(m) | BuildError::Failed(m) | BuildError::Io(m) => {
                f.write_str(m)
            }
            BuildError::Tool(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for BuildError {}

impl From<ToolError> for BuildError {
    fn from(e: ToolError) -> Self {
        BuildError::Tool(e)
    }
}

pub(crate) fn io_error(what: impl fmt::Display, e: std::io::Error) -> BuildError {
    BuildError::Io(format!("{what}: {e}"))
}

impl Project {
    /// Recognises a project by its files: `Cargo.toml`, `app.py` or `contract.py`, `app.js` or
    /// `contract.js`.
    pub fn detect(dir: &Path) -> Result<Project, BuildError> {
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|d| {
                let folder = d.file_name()?.to_string_lossy().into_owned();
                let model = d.parent().filter(|p| p.join("model.toml").exists());
                Some(match model.and_then(|p| p.file_name()) {
                    Some(model) if folder == "contract" => {
                        format!("{}-contract", model.to_string_lossy())
                    }
                    _ => folder,
                })
            })
            .unwrap_or_else(|| "component".into());
        if dir.join("Cargo.toml").exists() {
            return rust::detect(dir);
        }
        for (language, extension) in [(Language::Python, "py"), (Language::JavaScript, "js")] {
            for world in [World::App, World::Contract] {
                if dir.join(format!("{}.{extension}", world.name())).exists() {
                    return Ok(Project {
                        dir: dir.to_path_buf(),
                        language,
                        world,
                        name,
                    });
                }
            }
        }
        Err(BuildError::NotAProject(format!(
            "{} holds no app or contract: expected Cargo.toml (Rust), app.py or contract.py \
             (Python), or app.js or contract.js (JavaScript); `trellis new` starts one",
            dir.display()
        )))
    }

    /// Builds the component into `out_dir` (the project's `target/trellis` unless given),
    /// reusing an earlier build of the same sources. A Rust component stays where cargo puts
    /// it (`target/wasm32-wasip2/release/`, or under `CARGO_TARGET_DIR`).
    pub fn build(&self, out_dir: Option<&Path>) -> Result<Built, BuildError> {
        self.build_with(out_dir, None)
    }

    /// As [`Project::build`], with a JavaScript project's npm tools taken from `js_tools` (a
    /// `node_modules` folder, such as [`install_js_tools`] makes) rather than the project's own.
    pub fn build_with_js_tools(
        &self,
        out_dir: Option<&Path>,
        js_tools: &Path,
    ) -> Result<Built, BuildError> {
        self.build_with(out_dir, Some(js_tools))
    }

    fn build_with(
        &self,
        out_dir: Option<&Path>,
        js_tools: Option<&Path>,
    ) -> Result<Built, BuildError> {
        let started = Instant::now();
        let out_dir = out_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.dir.join("target/trellis"));
        std::fs::create_dir_all(&out_dir)
            .map_err(|e| io_error(format_args!("creating {}", out_dir.display()), e))?;
        let (path, reused) = match self.language {
            Language::Rust => rust::build(self)?,
            Language::Python => python::build(self, &out_dir)?,
            Language::JavaScript => js::build(self, &out_dir, js_tools)?,
        };
        let size = std::fs::metadata(&path)
            .map_err(|e| io_error(format_args!("reading {}", path.display()), e))?
            .len();
        Ok(Built {
            path,
            size,
            elapsed: started.elapsed(),
            reused,
        })
    }
}
