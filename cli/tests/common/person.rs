//! One person at their own terminal: the `trellis` command with a saved login of their own.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Person {
    pub home: PathBuf,
}

impl Person {
    /// Someone with a home of their own under `root`, not logged in yet.
    pub fn new(root: &Path, name: &str) -> Person {
        Person {
            home: root.join(name),
        }
    }

    /// `name`, logged in to `url`.
    pub fn logged_in(root: &Path, url: &str, name: &str, password: &str) -> Person {
        let person = Person::new(root, name);
        person.login(url, name, password);
        person
    }

    pub fn trellis(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_trellis"))
            .args(args)
            .env("TRELLIS_HOME", &self.home)
            .output()
            .expect("running trellis")
    }

    /// Runs a command that must succeed; returns what it printed.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.trellis(args);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "trellis {}: {}{}",
            args.join(" "),
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    /// Pushes the example model `examples/models/{name}` with its built `contract`.
    pub fn push_example_model(&self, name: &str, contract: &str) {
        let package = super::workspace(&format!("examples/models/{name}"));
        self.ok(&[
            "model",
            "push",
            package.to_str().unwrap(),
            "--contract",
            contract,
        ]);
    }

    /// Runs a command that must fail; returns its error.
    pub fn refused(&self, args: &[&str]) -> String {
        let output = self.trellis(args);
        assert!(
            !output.status.success(),
            "trellis {} succeeded",
            args.join(" ")
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    pub fn login(&self, url: &str, user: &str, password: &str) {
        self.ok(&[
            "login",
            "--url",
            url,
            "--user",
            user,
            "--password",
            password,
        ]);
    }
}
