//! A guest that misbehaves on purpose. The text of each reading names the attack, so one
//! component exercises every limit the host enforces.

use std::hint::black_box;
use trellis_sdk::{App, Reading, Value, log};

struct Hostile;

/// How long a line `shout` writes.
pub const SHOUT_BYTES: usize = 2 << 20;

impl App for Hostile {
    fn on_reading(reading: Reading) -> Result<(), String> {
        let Value::Text(attack) = reading.value else {
            return Ok(());
        };
        match attack.as_str() {
            "spin" => spin(),
            "hoard" => hoard(),
            "recurse" => {
                black_box(recurse(black_box(1)));
                Ok(())
            }
            "recurse-in-registers" => {
                black_box(recurse_in_registers(black_box(u64::MAX)));
                Ok(())
            }
            "panic" => panic!("hostile guest panics on purpose"),
            "read-file" => std::fs::read("/etc/hostname")
                .map(|_| ())
                .map_err(|e| format!("read-file refused: {e}")),
            "list-root" => std::fs::read_dir("/")
                .map(|_| ())
                .map_err(|e| format!("list-root refused: {e}")),
            "env" => match std::env::vars().next() {
                Some((key, _)) => Err(format!("env leaked: {key}")),
                None => Ok(()),
            },
            address if address.starts_with("connect ") => {
                std::net::TcpStream::connect(&address["connect ".len()..])
                    .map(|_| ())
                    .map_err(|e| format!("connect refused: {e}"))
            }
            "shout" => {
                let line = "x".repeat(SHOUT_BYTES);
                log::write(log::Level::Info, &line);
                print!("{line}");
                eprintln!("{line}");
                Ok(())
            }
            "bloat" => Err("y".repeat(16 << 20)),
            other => Err(format!("unknown attack `{other}`")),
        }
    }
}

fn spin() -> Result<(), String> {
    let mut n = 0u64;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

fn hoard() -> Result<(), String> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![1; 1 << 20]);
        black_box(&hoard);
    }
}

/// Keeps an array per frame on the guest's own stack in linear memory, so that stack overflows
/// first.
fn recurse(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0;
    }
    let frame = black_box([depth; 16]);
    recurse(black_box(depth + 1)) + frame[3]
}

/// Keeps everything in wasm locals, so the engine's call-stack limit is what stops it. The
/// result mixes each level's value in a way the compiler cannot turn into a loop.
fn recurse_in_registers(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let below = recurse_in_registers(n - 1);
    below ^ (below >> 3) ^ n
}

trellis_sdk::export_app!(Hostile);
