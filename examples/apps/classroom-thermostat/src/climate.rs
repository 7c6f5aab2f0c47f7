//! The thermostat's decision, free of any platform call so it can be tested natively.

/// What the room's devices should be doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Fan and air conditioning off.
    Off,
    /// Fan on, air conditioning off.
    Fan,
    /// Fan and air conditioning on.
    Cooling,
}

impl Mode {
    /// The name stored in the app's state.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Fan => "fan",
            Mode::Cooling => "cooling",
        }
    }

    /// Reads a name written by [`Mode::as_str`]; anything else is `Off`.
    pub fn parse(name: &str) -> Mode {
        match name {
            "fan" => Mode::Fan,
            "cooling" => Mode::Cooling,
            _ => Mode::Off,
        }
    }
}

/// The thresholds the end user configured.
#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    pub fan_above: f64,
    pub ac_above: f64,
    pub hysteresis: f64,
}

/// The mode for `celsius`, given the current mode. A device switches on at its threshold and
/// back off only `hysteresis` degrees below it, so a temperature hovering at a threshold does not
/// make it flap.
pub fn decide(current: Mode, celsius: f64, t: Thresholds) -> Mode {
    if celsius >= t.ac_above {
        return Mode::Cooling;
    }
    if current == Mode::Cooling && celsius > t.ac_above - t.hysteresis {
        return Mode::Cooling;
    }
    if celsius >= t.fan_above {
        return Mode::Fan;
    }
    if current != Mode::Off && celsius > t.fan_above - t.hysteresis {
        return Mode::Fan;
    }
    Mode::Off
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Thresholds = Thresholds {
        fan_above: 24.0,
        ac_above: 27.0,
        hysteresis: 0.5,
    };

    #[test]
    fn rising_temperature_goes_off_fan_cooling() {
        assert_eq!(decide(Mode::Off, 20.0, T), Mode::Off);
        assert_eq!(decide(Mode::Off, 24.0, T), Mode::Fan);
        assert_eq!(decide(Mode::Fan, 27.5, T), Mode::Cooling);
    }

    #[test]
    fn falling_temperature_waits_for_hysteresis() {
        assert_eq!(decide(Mode::Cooling, 26.8, T), Mode::Cooling);
        assert_eq!(decide(Mode::Cooling, 26.4, T), Mode::Fan);
        assert_eq!(decide(Mode::Fan, 23.7, T), Mode::Fan);
        assert_eq!(decide(Mode::Fan, 23.4, T), Mode::Off);
    }

    #[test]
    fn mode_names_round_trip() {
        for mode in [Mode::Off, Mode::Fan, Mode::Cooling] {
            assert_eq!(Mode::parse(mode.as_str()), mode);
        }
    }
}
