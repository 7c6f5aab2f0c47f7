//! `trellis new app|contract NAME --lang rust|python|js`: a project that builds with
//! `trellis build` and runs with `trellis run` as it is written. The files are templates under
//! `cli/templates/`, filled in with the project's name.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use trellis_guest_build::{Language, World, write_sdk};

#[derive(clap::Args)]
pub struct NewArgs {
    /// What to start: an app, or a model's contract (its pre- and post-processing).
    #[arg(value_enum)]
    kind: Kind,
    /// The project's name, which is also its folder's: lowercase letters, digits and single
    /// hyphens, starting with a letter (e.g. `hello` or `room-climate`).
    name: String,
    /// The language to write it in.
    #[arg(long, value_enum)]
    lang: Lang,
    /// The folder to create the project's folder in. Default: the current one.
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Kind {
    App,
    Contract,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Lang {
    Rust,
    #[value(alias = "py")]
    Python,
    #[value(alias = "javascript")]
    Js,
}

impl Lang {
    fn language(self) -> Language {
        match self {
            Lang::Rust => Language::Rust,
            Lang::Python => Language::Python,
            Lang::Js => Language::JavaScript,
        }
    }
}

macro_rules! template {
    ($path:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/", $path))
    };
}

/// The toolchain Trellis itself is built and tested with, with the wasm32-wasip2 target: rustup
/// installs both on a project's first build, so the target is never missing.
const RUST_TOOLCHAIN: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../rust-toolchain.toml"
));

/// The files of a project: (path in the project, template). A JavaScript project gets no
/// `package.json` here: its first `trellis build` writes the SDK's, with the lockfile that pins
/// every build tool, and installs them.
fn files(language: Language, world: World) -> Vec<(&'static str, &'static str)> {
    let mut files = vec![(".gitignore", template!("common/gitignore"))];
    files.extend(match world {
        World::App => [
            ("README.md", template!("common/app.README.md")),
            ("trellis.toml", template!("common/app.trellis.toml")),
        ],
        World::Contract => [
            ("README.md", template!("common/contract.README.md")),
            ("model.toml", template!("common/contract.model.toml")),
        ],
    });
    files.extend_from_slice(match (language, world) {
        (Language::Rust, World::App) => &[
            ("rust-toolchain.toml", RUST_TOOLCHAIN),
            ("Cargo.toml", template!("rust-app/Cargo.toml")),
            ("src/lib.rs", template!("rust-app/src/lib.rs")),
        ],
        (Language::Rust, World::Contract) => &[
            ("rust-toolchain.toml", RUST_TOOLCHAIN),
            ("Cargo.toml", template!("rust-contract/Cargo.toml")),
            ("src/lib.rs", template!("rust-contract/src/lib.rs")),
        ],
        (Language::Python, World::App) => &[("app.py", template!("python-app/app.py"))],
        (Language::Python, World::Contract) => {
            &[("contract.py", template!("python-contract/contract.py"))]
        }
        (Language::JavaScript, World::App) => &[("app.js", template!("js-app/app.js"))],
        (Language::JavaScript, World::Contract) => {
            &[("contract.js", template!("js-contract/contract.js"))]
        }
    });
    files
}

/// Linear memory the component needs, in MiB: CPython and StarlingMonkey start with MiBs of
/// heap (the Python thermostat asks for 64, the JavaScript one for 32), Rust with almost none.
fn memory_mb(language: Language) -> u32 {
    match language {
        Language::Rust => 16,
        Language::Python => 64,
        Language::JavaScript => 32,
    }
}

pub fn new(args: NewArgs) -> anyhow::Result<()> {
    let language = args.lang.language();
    let world = match args.kind {
        Kind::App => World::App,
        Kind::Contract => World::Contract,
    };
    check_name(&args.name, language)?;
    let dir = args
        .dir
        .unwrap_or_else(|| PathBuf::from("."))
        .join(&args.name);
    if std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some()) {
        bail!(
            "{} already exists and is not empty; choose another name, or another folder with --dir",
            dir.display()
        );
    }
    let type_name = type_name(&args.name, world);
    let language_name = match language {
        Language::Rust => "Rust",
        Language::Python => "Python",
        Language::JavaScript => "JavaScript",
    };
    for (path, template) in files(language, world) {
        let text = template
            .replace("{{name}}", &args.name)
            .replace("{{Type}}", &type_name)
            .replace("{{memory_mb}}", &memory_mb(language).to_string())
            .replace("{{language}}", language_name)
            .replace("{{world}}", world.name());
        write(&dir.join(path), &text)?;
    }
    // The WIT and the SDK, for editors before the first build (`trellis build` rewrites them).
    write_sdk(&dir)?;
    println!(
        "Created the {language_name} {} `{}` in {}. Build it with:\n\n  cd {} && trellis build",
        world.name(),
        args.name,
        dir.display(),
        dir.display()
    );
    Ok(())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Names that Rust refuses as a package, or that shadow a crate every Rust program sees.
const RUST_RESERVED: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "macro",
    "override",
    "priv",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "try",
    "core",
    "std",
    "alloc",
    "test",
    "proc-macro",
];

/// A name that is a valid package name, folder name and component name in every language:
/// lowercase ASCII letters and digits in words joined by single hyphens.
fn check_name(name: &str, language: Language) -> anyhow::Result<()> {
    let words_ok = name.split('-').all(|w| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    });
    if !words_ok || !name.starts_with(|c: char| c.is_ascii_lowercase()) || name.len() > 64 {
        bail!(
            "`{name}` is not a project name: use lowercase letters, digits and single hyphens, \
             starting with a letter, at most 64 characters (e.g. `hello` or `room-climate`)"
        );
    }
    if language == Language::Rust && RUST_RESERVED.contains(&name) {
        bail!("`{name}` is reserved in Rust and cannot name a package; choose another name");
    }
    Ok(())
}

/// The class or struct name for a project: `room-climate` → `RoomClimateApp`. The world's name
/// ends it so it never collides with what the source imports (`App`, `Value`, `Tensor`...).
fn type_name(name: &str, world: World) -> String {
    let mut camel: String = name
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    let suffix = match world {
        World::App => "App",
        World::Contract => "Contract",
    };
    if !(camel.ends_with(suffix) && camel.len() > suffix.len()) {
        camel.push_str(suffix);
    }
    camel
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_the_reason_is_given() {
        for good in ["hello", "room-climate", "a1", "x2-y3"] {
            check_name(good, Language::Rust).unwrap();
        }
        for bad in [
            "", "Hello", "1st", "-a", "a-", "a--b", "a_b", "a b", "héllo",
        ] {
            let error = check_name(bad, Language::Python).unwrap_err().to_string();
            assert!(error.contains("lowercase letters"), "{bad}: {error}");
        }
        let error = check_name("fn", Language::Rust).unwrap_err().to_string();
        assert!(error.contains("reserved in Rust"), "{error}");
        check_name("fn", Language::Python).unwrap();
    }

    #[test]
    fn type_names_never_collide_with_the_sdk() {
        assert_eq!(type_name("room-climate", World::App), "RoomClimateApp");
        assert_eq!(type_name("hello-app", World::App), "HelloApp");
        assert_eq!(type_name("app", World::App), "AppApp");
        assert_eq!(type_name("contract", World::Contract), "ContractContract");
        assert_eq!(type_name("tensor", World::Contract), "TensorContract");
    }
}
