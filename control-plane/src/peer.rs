//! The address a request came from, for limits per client (logins), the same over plain TCP and
//! over TLS: the server loop (`server.rs`) puts it on each request.

use std::net::SocketAddr;

/// A request's client address, as `ConnectInfo<Peer>`.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);
