//! The app manifest (`trellis.toml`): the roles, models and parameters an app needs.

use std::collections::BTreeMap;
use std::fmt;

use semver::VersionReq;
use serde::Deserialize;
use serde::de::{Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

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
    /// The models the app calls through `inference`, each with the versions it accepts: a
    /// `[models]` table of semver requirements read as Cargo reads them (`digits = "^1"`;
    /// `"1.2.0"` means `^1.2.0`, `"=1.2.0"` exactly that one; `"*"` any). The older list form,
    /// `models = ["digits"]`, accepts any version of each.
    #[serde(default, deserialize_with = "model_requirements")]
    pub models: BTreeMap<String, VersionReq>,
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
    /// The names of the models the app calls.
    pub fn model_names(&self) -> Vec<String> {
        self.models.keys().cloned().collect()
    }

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

/// Reads `models` in either form: a table of name = requirement, or a list of names (any
/// version). A requirement that does not parse is refused with the model's name.
fn model_requirements<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, VersionReq>, D::Error> {
    struct Requirements;

    impl<'de> Visitor<'de> for Requirements {
        type Value = BTreeMap<String, VersionReq>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(
                "a table of model names and version requirements (`digits = \"^1\"`) or a list of model names",
            )
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut names: A) -> Result<Self::Value, A::Error> {
            let mut models = BTreeMap::new();
            while let Some(name) = names.next_element::<String>()? {
                models.insert(name, VersionReq::STAR);
            }
            Ok(models)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut table: A) -> Result<Self::Value, A::Error> {
            let mut models = BTreeMap::new();
            while let Some((name, text)) = table.next_entry::<String, String>()? {
                let requirement = VersionReq::parse(&text).map_err(|e| {
                    A::Error::custom(format!(
                        "model `{name}`: `{text}` is not a version requirement ({e}); write e.g. \"^1\", \"1.2.0\" or \"*\""
                    ))
                })?;
                models.insert(name, requirement);
            }
            Ok(models)
        }
    }

    deserializer.deserialize_any(Requirements)
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
    fn models_take_a_requirement_each_or_a_list_of_names() {
        let table = AppManifest::parse(
            "name = \"t\"\n[models]\ndigits = \"^1\"\ncomfort = \"1.2.0\"\nany = \"*\"\n",
        )
        .unwrap();
        let matches = |name: &str, version: &str| {
            table.models[name].matches(&semver::Version::parse(version).unwrap())
        };
        assert!(matches("digits", "1.9.0") && !matches("digits", "2.0.0"));
        assert!(matches("comfort", "1.3.0") && !matches("comfort", "1.1.9"));
        assert!(matches("any", "7.0.0"));
        let list = AppManifest::parse("name = \"t\"\nmodels = [\"digits\"]\n").unwrap();
        assert_eq!(list.model_names(), ["digits"]);
        assert_eq!(list.models["digits"], VersionReq::STAR);
        let bad = AppManifest::parse("name = \"t\"\n[models]\ndigits = \"one\"\n").unwrap_err();
        assert!(bad.contains("model `digits`: `one`"), "{bad}");
        let wrong = AppManifest::parse("name = \"t\"\nmodels = 3\n").unwrap_err();
        assert!(wrong.contains("version requirements"), "{wrong}");
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
