//! Host-side bindings generated from `wit/`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "app",
    additional_derives: [PartialEq],
});

/// The `contract` world, sharing the `app` world's types and `log` implementation.
pub(crate) mod contract {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "contract",
        with: {
            "trellis:platform/types": crate::bindings::trellis::platform::types,
            "trellis:platform/log": crate::bindings::trellis::platform::log,
        },
    });
}
