//! Host-side bindings generated from `wit/`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "app",
    additional_derives: [PartialEq],
    // A model call or a command that outlives the app call's deadline ends that call as a
    // deadline miss (`capabilities::inference`, `capabilities::controllers`), so these may trap.
    imports: {
        "trellis:platform/inference.predict": trappable,
        "trellis:platform/inference.run": trappable,
        "trellis:platform/controllers.send": trappable,
        "trellis:platform/controllers.send-to": trappable,
    },
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
