//! Nodes: the machines that run apps and models.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A node to register.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewNode {
    pub name: String,
    /// Labels that placement can match, e.g. `site=north-campus`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A registered node.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Node {
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `registered` until the node's daemon first reports, then `up` or `down`; once asked to
    /// drain, `draining` while instances remain on it, then `drained`.
    pub state: String,
    pub created_at: String,
    /// When it last reported.
    pub last_seen: Option<String>,
    /// Its last heartbeat: metrics and the instances it runs.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub report: Option<serde_json::Value>,
    /// The node daemon's credential (`trellis node --token`), shown once: at registration and
    /// when it is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// At registration, when the platform's bus is Kafka: the `trellis node --bus` the daemon
    /// needs to read its apps' readings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bus: Option<String>,
}

/// How a machine joins as a node: a private file with the node's token, the command to run and
/// the systemd unit to install, the same in the CLI (`trellis node join`) and the portal, so the
/// two cannot disagree. The token is in the file only: never on a command line (which every user
/// of the machine can read in the process list) nor in the unit (which is world-readable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinInstructions {
    /// Where the node's settings and token go, readable by root only.
    pub env_path: &'static str,
    /// What goes there: `TRELLIS_CONTROL_PLANE`, `TRELLIS_NODE_TOKEN` (and `TRELLIS_BUS`).
    pub env_file: String,
    /// Makes the node's own user and writes the file above (0600, in a 0700 folder), from the
    /// terminal: the token travels on standard input, not on a command line.
    pub setup: String,
    /// The daemon started by hand (as root, which can read the file).
    pub command: String,
    /// Where the unit goes.
    pub unit_path: &'static str,
    /// The daemon as a systemd service: it runs as [`NODE_USER`], and systemd reads the token
    /// file for it.
    pub unit: String,
    /// What starts the service once the unit is in place.
    pub enable: &'static str,
}

/// The user a node's service runs as: its own, with no login and no other rights.
pub const NODE_USER: &str = "trellis-node";

/// Where [`JoinInstructions::env_file`] goes.
pub const NODE_ENV_PATH: &str = "/etc/trellis/node.env";

/// How a machine joins as the node holding `token`, reaching the control plane at `url`; `bus`
/// is the node's `--bus` when the platform's is Kafka (the node reads its apps' readings from the
/// broker itself).
pub fn join_instructions(url: &str, token: &str, bus: Option<&str>) -> JoinInstructions {
    let bus_line = bus
        .map(|bus| format!("TRELLIS_BUS={bus}\n"))
        .unwrap_or_default();
    let env_file = format!("TRELLIS_CONTROL_PLANE={url}\nTRELLIS_NODE_TOKEN={token}\n{bus_line}");
    JoinInstructions {
        env_path: NODE_ENV_PATH,
        setup: format!(
            "useradd --system --no-create-home --shell /usr/sbin/nologin {NODE_USER}\n\
             install -d -m 0700 /etc/trellis\n\
             install -m 0600 /dev/null {NODE_ENV_PATH}\n\
             cat > {NODE_ENV_PATH} <<'EOF'\n{env_file}EOF"
        ),
        env_file,
        command: format!(
            "(set -a; . {NODE_ENV_PATH}; exec trellis node --data-dir /var/lib/trellis-node)"
        ),
        unit_path: "/etc/systemd/system/trellis-node.service",
        unit: format!(
            "[Unit]\nDescription=Trellis node daemon\nAfter=network-online.target\nWants=network-online.target\n\n\
             [Service]\nUser={NODE_USER}\nGroup={NODE_USER}\nEnvironmentFile={NODE_ENV_PATH}\n\
             StateDirectory=trellis-node\nStateDirectoryMode=0700\n\
             ExecStart=/usr/local/bin/trellis node --data-dir /var/lib/trellis-node\n\
             NoNewPrivileges=yes\nProtectSystem=strict\nProtectHome=yes\nPrivateTmp=yes\n\
             Restart=always\nRestartSec=2\n\n[Install]\nWantedBy=multi-user.target\n"
        ),
        enable: "systemctl daemon-reload && systemctl enable --now trellis-node",
    }
}

/// Where a joining machine keeps the control plane's CA certificate when the control plane serves
/// HTTPS with a certificate the system does not trust (`trellis up --tls self-signed`). Outside
/// the private `/etc/trellis`: the daemon reads it as its own user, and a certificate is public.
pub const JOIN_CA_CERT_PATH: &str = "/etc/trellis-ca.pem";

/// The shell step that saves the CA certificate `pem` where a joining machine's daemon reads it.
pub fn save_ca_cert_step(pem: &str) -> String {
    format!("cat > {JOIN_CA_CERT_PATH} <<'EOF'\n{}\nEOF", pem.trim_end())
}

impl JoinInstructions {
    /// The same instructions for a daemon that trusts the CA certificate at
    /// [`JOIN_CA_CERT_PATH`] (`TRELLIS_CA_CERT` in the node's settings file, which both the
    /// command and the unit read).
    pub fn trusting_ca_cert(mut self) -> JoinInstructions {
        let line = format!("TRELLIS_CA_CERT={JOIN_CA_CERT_PATH}\n");
        let with_ca = format!("{}{line}", self.env_file);
        self.setup = self.setup.replacen(&self.env_file, &with_ca, 1);
        self.env_file = with_ca;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_instructions_carry_the_url_token_and_bus_in_the_private_file_only() {
        let plain = join_instructions("http://cp:7878", "tok123", None);
        assert_eq!(
            plain.env_file,
            "TRELLIS_CONTROL_PLANE=http://cp:7878\nTRELLIS_NODE_TOKEN=tok123\n"
        );
        assert!(plain.setup.contains(&plain.env_file), "{}", plain.setup);
        let kafka = join_instructions("http://cp:7878", "tok123", Some("kafka://k:9092"));
        assert!(kafka.env_file.contains("TRELLIS_BUS=kafka://k:9092\n"));
        assert!(
            kafka
                .unit
                .contains("EnvironmentFile=/etc/trellis/node.env\n")
        );
    }

    #[test]
    fn the_node_token_is_on_no_command_line_and_in_no_world_readable_file() {
        let join = join_instructions("http://cp:7878", "tok123", Some("kafka://k:9092"));
        assert!(!join.command.contains("tok123"), "{}", join.command);
        assert!(!join.unit.contains("tok123"), "{}", join.unit);
        // The file is made private before the token is written into it, from standard input.
        let private = join
            .setup
            .find("install -m 0600 /dev/null /etc/trellis/node.env")
            .expect("the token file made 0600");
        let written = join.setup.find("tok123").unwrap();
        assert!(private < written, "{}", join.setup);
        assert!(join.setup.contains("install -d -m 0700 /etc/trellis"));
        let heredoc_line = join.setup.lines().find(|l| l.contains("tok123")).unwrap();
        assert!(
            !heredoc_line.contains("cat"),
            "a line of data, not a command: {heredoc_line}"
        );
        // The service runs as a user of its own, not root.
        assert!(join.unit.contains("\nUser=trellis-node\n"), "{}", join.unit);
        assert!(join.setup.contains("useradd --system"), "{}", join.setup);
    }

    #[test]
    fn a_node_joining_over_tls_is_told_to_trust_the_ca_in_its_settings_file() {
        let plain = join_instructions("https://cp:7878", "tok123", None);
        assert!(!plain.env_file.contains("TRELLIS_CA_CERT"));
        let tls = plain.clone().trusting_ca_cert();
        let line = format!("TRELLIS_CA_CERT={JOIN_CA_CERT_PATH}\n");
        assert!(tls.env_file.contains(&line), "{}", tls.env_file);
        assert!(tls.setup.contains(&tls.env_file), "{}", tls.setup);
        // Everything else stays as it was.
        assert_eq!(tls.env_file.replace(&line, ""), plain.env_file);
        assert_eq!((tls.command, tls.unit), (plain.command, plain.unit));
    }
}
