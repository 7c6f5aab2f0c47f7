//! Seeded mutations of valid inputs: the property tests feed parsers and endpoints broken
//! versions of what they accept (bytes flipped, cut, repeated; numbers made huge, negative or
//! not numbers; keys dropped; values of the wrong type) and check that each is refused with a
//! message, without a panic. Each case has its own seed, so a failure names the seed that
//! replays it; `TRELLIS_MUTATION_CASES` raises the budget for a longer run.

use serde_json::{Map, Value, json};

/// How many cases a property test runs: `default` unless `TRELLIS_MUTATION_CASES` says more.
pub fn cases(default: u64) -> u64 {
    std::env::var("TRELLIS_MUTATION_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// Values that break parsers more often than random ones: limits of every width, signs,
/// floats that are not finite in other languages, empties.
const INTERESTING_NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1e308",
    "-1e308",
    "1e999",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "4294967295",
    "4294967296",
    "2147483648",
    "65536",
    "0.0000001",
    "nan",
    "inf",
    "\"\"",
    "[]",
    "{}",
];

/// One seeded source of mutations.
pub struct Mutator {
    rng: fastrand::Rng,
}

impl Mutator {
    pub fn new(seed: u64) -> Mutator {
        Mutator {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// `input` with one to four byte-level changes.
    pub fn bytes(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = input.to_vec();
        for _ in 0..self.rng.usize(1..=4) {
            self.byte_change(&mut out);
        }
        out
    }

    fn byte_change(&mut self, out: &mut Vec<u8>) {
        if out.is_empty() {
            out.push(self.rng.u8(..));
            return;
        }
        let at = self.rng.usize(..out.len());
        match self.rng.u8(0..8) {
            0 => out[at] ^= 1 << self.rng.u8(0..8),
            1 => out[at] = self.rng.u8(..),
            2 => out[at] = *self.rng.choice(&[0u8, 0x7f, 0x80, 0xff]).unwrap(),
            3 => out.truncate(at),
            4 => {
                let end = (at + self.rng.usize(1..64)).min(out.len());
                out.drain(at..end);
            }
            5 => {
                let end = (at + self.rng.usize(1..64)).min(out.len());
                let copy = out[at..end].to_vec();
                let to = self.rng.usize(..=out.len());
                out.splice(to..to, copy);
            }
            6 => {
                let extra: Vec<u8> = (0..self.rng.usize(1..16))
                    .map(|_| self.rng.u8(..))
                    .collect();
                out.splice(at..at, extra);
            }
            // A LEB128 length or count made huge: the bytes wasm and protobuf sizes use.
            _ => {
                out.splice(at..at + 1, [0xff, 0xff, 0xff, 0xff, 0x0f]);
            }
        }
    }

    /// `input` (text such as TOML) with one to three changes that keep it text: a number
    /// replaced by an interesting one, a line dropped or repeated, a character changed.
    pub fn text(&mut self, input: &str) -> String {
        let mut out = input.to_string();
        for _ in 0..self.rng.usize(1..=3) {
            out = match self.rng.u8(0..5) {
                0 => self.replace_number(&out),
                1 | 2 => self.change_line(&out),
                3 => String::from_utf8_lossy(&self.bytes(out.as_bytes())).into_owned(),
                _ => {
                    let lines: Vec<&str> = out.lines().collect();
                    let at = self.rng.usize(..=lines.len());
                    let junk = *self
                        .rng
                        .choice(&["[", "]]", "=", "\"", "x = 1", "[[x]]", "\\"])
                        .unwrap();
                    let mut lines: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
                    lines.insert(at, junk.to_string());
                    lines.join("\n")
                }
            };
        }
        out
    }

    fn replace_number(&mut self, text: &str) -> String {
        let starts: Vec<usize> = text
            .char_indices()
            .filter(|&(i, c)| {
                c.is_ascii_digit() && !text[..i].ends_with(|p: char| p.is_ascii_digit() || p == '.')
            })
            .map(|(i, _)| i)
            .collect();
        let Some(&start) = self.rng.choice(&starts) else {
            return text.to_string();
        };
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '_'))
            .map_or(text.len(), |n| start + n);
        let number = *self.rng.choice(INTERESTING_NUMBERS).unwrap();
        format!("{}{number}{}", &text[..start], &text[end..])
    }

    fn change_line(&mut self, text: &str) -> String {
        let mut lines: Vec<&str> = text.lines().collect();
        if lines.is_empty() {
            return text.to_string();
        }
        let at = self.rng.usize(..lines.len());
        if self.rng.bool() {
            lines.remove(at);
        } else {
            lines.insert(at, lines[at]);
        }
        lines.join("\n")
    }

    /// `input` with one to three structural changes: a value replaced by one of the wrong kind
    /// or an extreme one, a key removed, an unknown key added.
    pub fn json(&mut self, input: &Value) -> Value {
        let mut out = input.clone();
        for _ in 0..self.rng.usize(1..=3) {
            let paths = paths(&out);
            let path = self.rng.choice(&paths).unwrap().clone();
            let replacement = self.odd_value();
            let target = at_path(&mut out, &path);
            match (self.rng.u8(0..4), target) {
                (0, Value::Object(map)) if !map.is_empty() => {
                    let key = self
                        .rng
                        .choice(map.keys().cloned().collect::<Vec<_>>())
                        .unwrap();
                    map.remove(&key);
                }
                (1, Value::Object(map)) => {
                    map.insert("unexpected".into(), replacement);
                }
                (_, target) => *target = replacement,
            }
        }
        out
    }

    fn odd_value(&mut self) -> Value {
        match self.rng.u8(0..12) {
            0 => Value::Null,
            1 => json!(true),
            2 => json!(u64::MAX),
            3 => json!(i64::MIN),
            4 => json!(-1),
            5 => json!(1e308),
            6 => json!(0.5),
            7 => json!(""),
            8 => json!("x".repeat(self.rng.usize(1000..70_000))),
            9 => json!([]),
            10 => Value::Object(Map::new()),
            // Deep nesting: what overflows recursive parsers.
            _ => (0..200).fold(json!(1), |inner, _| json!([inner])),
        }
    }
}

/// Every position in `value`, as the object keys and array indexes that reach it.
fn paths(value: &Value) -> Vec<Vec<PathStep>> {
    let mut all = vec![Vec::new()];
    let children: Vec<(PathStep, &Value)> = match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (PathStep::Key(k.clone()), v))
            .collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (PathStep::Index(i), v))
            .collect(),
        _ => Vec::new(),
    };
    for (step, child) in children {
        for mut rest in paths(child) {
            rest.insert(0, step.clone());
            all.push(rest);
        }
    }
    all
}

#[derive(Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn at_path<'a>(value: &'a mut Value, path: &[PathStep]) -> &'a mut Value {
    path.iter().fold(value, |value, step| match step {
        PathStep::Key(key) => &mut value[key.as_str()],
        PathStep::Index(i) => &mut value[*i],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutation_and_mutations_change_the_input() {
        let input = json!({ "name": "lab", "value": 21.5, "tags": ["a", "b"] });
        let text = "name = \"digits\"\nversion = \"1.0.0\"\n[limits]\ndeadline-ms = 50\n";
        let mut changed = 0;
        for seed in 0..200 {
            let (mut a, mut b) = (Mutator::new(seed), Mutator::new(seed));
            assert_eq!(a.json(&input), b.json(&input));
            assert_eq!(a.text(text), b.text(text));
            assert_eq!(a.bytes(text.as_bytes()), b.bytes(text.as_bytes()));
            changed += usize::from(Mutator::new(seed).json(&input) != input);
        }
        assert!(
            changed > 150,
            "only {changed} of 200 mutations changed the input"
        );
    }
}
