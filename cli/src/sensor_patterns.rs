//! Built-in sensor patterns for `trellis run`, chosen by the sensor type a role declares.

use std::f64::consts::TAU;

use trellis_host::types::Value;

/// A repeatable signal for one sensor role.
pub struct Pattern {
    /// Lowest and highest value, and how many readings one full swing takes.
    low: f64,
    high: f64,
    period: u64,
    pub description: String,
}

impl Pattern {
    /// The pattern for a sensor type: a slow swing across the range such a sensor sees indoors.
    pub fn for_type(kind: &str) -> Pattern {
        let (low, high, unit) = match kind {
            "temperature" => (18.0, 30.0, "°C"),
            "humidity" => (30.0, 70.0, "%"),
            "light" => (0.0, 800.0, "lx"),
            "occupancy" => (0.0, 30.0, "people"),
            "co2" => (400.0, 1600.0, "ppm"),
            // Half of each swing at or above 0.5: something moves, then all is still.
            "motion" => (0.0, 1.0, ""),
            _ => (0.0, 100.0, ""),
        };
        let period = 24;
        Pattern {
            low,
            high,
            period,
            description: format!("{low}–{high} {unit} wave, {period} readings a swing"),
        }
    }

    /// The value of reading number `n` (from 0): a sine starting at the bottom of the range.
    pub fn value(&self, n: u64) -> Value {
        let phase = (n % self.period) as f64 / self.period as f64;
        let unit = (1.0 - (phase * TAU).cos()) / 2.0;
        let value = self.low + unit * (self.high - self.low);
        Value::Number((value * 10.0).round() / 10.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_swings_across_its_range_and_repeats() {
        let pattern = Pattern::for_type("temperature");
        let values: Vec<f64> = (0..24)
            .map(|n| match pattern.value(n) {
                Value::Number(v) => v,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(values[0], 18.0);
        assert_eq!(values[12], 30.0);
        assert!(values.iter().all(|v| (18.0..=30.0).contains(v)));
        assert!(matches!(pattern.value(24), Value::Number(v) if v == 18.0));
    }
}
