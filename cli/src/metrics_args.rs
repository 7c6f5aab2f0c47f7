//! The flags that open `/metrics` to Prometheus, shared by `trellis up` and `trellis node`.

use std::net::SocketAddr;

#[derive(clap::Args, Clone, Debug)]
pub struct MetricsArgs {
    /// The bearer token Prometheus sends to read `/metrics` (its `authorization` credentials).
    /// On the control plane's API listener, admins' sessions read it too.
    #[arg(long, env = "TRELLIS_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Serve `/metrics` on this address as well (a node opens no port without it); it needs
    /// the metrics token there only if one is set.
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
}
