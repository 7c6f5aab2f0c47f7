//! The app manifest (`trellis.toml`): the roles, models and parameters an app needs.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::types::{Param, Value};

/// What an app declares about itself.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AppManifest {
    pub name: String,
    /// The app's version; each upload of an app carries a new one.
    #[serde(default = "first_version")]
    pub version: String,
    #[serde(default)]
    pub description: String,
    /// Sensor roles by name.
    #[serde(default)]
    pub sensors: BTreeMap<String, Role>,
    /// Controller roles by name.
    #[serde(default)]
    pub controllers: BTreeMap<String, Role>,
    /// Names of the models the app calls through `inference`.
    #[serde(default)]
    pub models: Vec<String>,
    /// Parameters the end user may set, by name.
    #[serde(default)]
    pub config: BTreeMap<String, ConfigParam>,
    #[serde(default)]
    pub resources: Resources,
}

/// A sensor or controller role: which type of instance it takes, and how many.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Role {
    /// A sensor or controller type registered on the platform.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default = "one")]
    pub min: u32,
    #[serde(default = "one")]
    pub max: u32,
}

fn first_version() -> String {
    "0.1.0".into()
}

fn one() -> u32 {
    1
}

/// A parameter's type.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ParamType {
    Number,
    Text,
    Json,
}

/// A parameter the end user sets when deploying.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigParam {
    #[serde(rename = "type")]
    pub kind: ParamType,
    pub default: Option<toml::Value>,
    #[serde(default)]
    pub description: String,
}

/// What one instance of the app needs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Resources {
    /// Linear memory, in MiB.
    pub memory_mb: Option<u32>,
    /// The most its `state` store may hold (keys plus values), in KiB; 1024 when unset.
    pub state_kb: Option<u32>,
}

impl Resources {
    /// The `state` store's quota in bytes.
    pub fn state_quota_bytes(&self) -> usize {
        self.state_kb.unwrap_or(1024) as usize * 1024
    }
}

impl AppManifest {
    /// Parses and checks a manifest. The error names the line and field at fault.
    pub fn parse(text: &str) -> Result<AppManifest, String> {
        let manifest: AppManifest = toml::from_str(text).map_err(|e| e.to_string())?;
        for (name, role) in manifest.sensors.iter().chain(&manifest.controllers) {
            if role.min > role.max {
                return Err(format!(
                    "role `{name}`: min ({}) is greater than max ({})",
                    role.min, role.max
                ));
            }
        }
        for (name, param) in &manifest.config {
            if let Some(default) = &param.default {
                convert(param.kind, default)
                    .map_err(|e| format!("config `{name}`: default {e}"))?;
            }
        }
        Ok(manifest)
    }

    /// The parameters for a deployment: `overrides` (name, text) on top of the defaults. Names
    /// the manifest does not declare, and values of the wrong type, are errors.
    pub fn config_values(&self, overrides: &[(String, String)]) -> Result<Vec<Param>, String> {
        let mut values = BTreeMap::new();
        for (name, param) in &self.config {
            if let Some(default) = &param.default {
                values.insert(name.clone(), convert(param.kind, default)?);
            }
        }
        for (name, text) in overrides {
            let param = self.config.get(name).ok_or_else(|| {
                let known: Vec<_> = self.config.keys().map(String::as_str).collect();
                format!(
                    "`{name}` is not a parameter of {}; it has: {}",
                    self.name,
                    known.join(", ")
                )
            })?;
            let value = parse_text(param.kind, text).map_err(|e| format!("`{name}`: {e}"))?;
            values.insert(name.clone(), value);
        }
        Ok(values
            .into_iter()
            .map(|(name, value)| Param { name, value })
            .collect())
    }
}

fn convert(kind: ParamType, value: &toml::Value) -> Result<Value, String> {
    match (kind, value) {
        (ParamType::Number, toml::Value::Float(f)) => Ok(Value::Number(*f)),
        (ParamType::Number, toml::Value::Integer(i)) => Ok(Value::Number(*i as f64)),
        (ParamType::Text, toml::Value::String(s)) => Ok(Value::Text(s.clone())),
        (ParamType::Json, v) => serde_json::to_string(v)
            .map(Value::Json)
            .map_err(|e| e.to_string()),
        (kind, v) => Err(format!(
            "is a {}, expected {}",
            v.type_str(),
            format!("{kind:?}").to_lowercase()
        )),
    }
}

fn parse_text(kind: ParamType, text: &str) -> Result<Value, String> {
    match kind {
        ParamType::Number => text
            .trim()
            .parse()
            .map(Value::Number)
            .map_err(|_| format!("`{text}` is not a number")),
        ParamType::Text => Ok(Value::Text(text.to_string())),
        ParamType::Json => serde_json::from_str::<serde_json::Value>(text)
            .map(|_| Value::Json(text.to_string()))
            .map_err(|e| format!("not JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
        name = "t"
        [sensors.temperature]
        type = "temperature"
        [config.limit]
        type = "number"
        default = 24
    "#;

    #[test]
    fn defaults_fill_in_and_overrides_replace_them() {
        let manifest = AppManifest::parse(MANIFEST).unwrap();
        let values = manifest.config_values(&[]).unwrap();
        assert!(matches!(values[0].value, Value::Number(n) if n == 24.0));
        let values = manifest
            .config_values(&[("limit".into(), "30.5".into())])
            .unwrap();
        assert!(matches!(values[0].value, Value::Number(n) if n == 30.5));
    }

    #[test]
    fn bad_overrides_name_the_parameter() {
        let manifest = AppManifest::parse(MANIFEST).unwrap();
        let unknown = manifest
            .config_values(&[("limt".into(), "1".into())])
            .unwrap_err();
        assert!(
            unknown.contains("`limt` is not a parameter") && unknown.contains("limit"),
            "{unknown}"
        );
        let wrong = manifest
            .config_values(&[("limit".into(), "warm".into())])
            .unwrap_err();
        assert!(wrong.contains("`warm` is not a number"), "{wrong}");
    }

    #[test]
    fn unknown_fields_and_bad_roles_are_refused_with_their_place() {
        let typo =
            AppManifest::parse("name = \"t\"\n[sensor.temperature]\ntype = \"t\"\n").unwrap_err();
        assert!(typo.contains("sensor"), "{typo}");
        let roles =
            AppManifest::parse("name = \"t\"\n[sensors.a]\ntype = \"t\"\nmin = 3\nmax = 2\n")
                .unwrap_err();
        assert!(roles.contains("role `a`"), "{roles}");
    }
}
