//! A guest that misbehaves on purpose. The text of each reading names the attack, so one
//! component exercises every limit the host enforces.

use std::hint::black_box;
use trellis_sdk::{App, Reading, Value, log};

struct Hostile;

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
                let line = "x".repeat(10 << 20);
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

fn recurse(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0;
    }
    let frame = black_box([depth; 16]);
    recurse(black_box(depth + 1)) + frame[3]
}

trellis_sdk::export_app!(Hostile);
