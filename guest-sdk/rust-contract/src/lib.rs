//! Write Trellis model contracts in Rust.
//!
//! A contract turns an app's input into the model's tensors and the model's tensors into an
//! answer. It implements [`Contract`] and exports it with [`export_contract!`]; it may log, and
//! sees nothing else.
//!
//! This is a crate of its own, not a module of `trellis-sdk`: the bindings of each world carry a
//! description of that world into the component, and one crate holding both would give every app
//! the contract's exports to implement.

#[doc(hidden)]
// Generated code: its low-level functions mirror the canonical ABI, argument for argument.
#[allow(clippy::too_many_arguments)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "contract",
        pub_export_macro: true,
        default_bindings_module: "trellis_contract_sdk::bindings",
    });
}

pub use bindings::trellis::platform::{log, types};
pub use types::{Blob, Tensor, TensorType, Value};

/// A model's pre- and post-processing.
pub trait Contract {
    /// Turns an input into the model's input tensors.
    fn preprocess(input: Value) -> Result<Vec<Tensor>, String>;
    /// Turns the model's output tensors into the answer the app receives.
    fn postprocess(outputs: Vec<Tensor>) -> Result<Value, String>;
}

/// Exports a type that implements [`Contract`] as this component's `contract` world.
#[macro_export]
macro_rules! export_contract {
    ($contract:ident) => {
        impl $crate::bindings::Guest for $contract {
            fn preprocess(input: $crate::Value) -> ::std::result::Result<::std::vec::Vec<$crate::Tensor>, String> {
                <$contract as $crate::Contract>::preprocess(input)
            }
            fn postprocess(
                outputs: ::std::vec::Vec<$crate::Tensor>,
            ) -> ::std::result::Result<$crate::Value, String> {
                <$contract as $crate::Contract>::postprocess(outputs)
            }
        }
        $crate::bindings::export!($contract with_types_in $crate::bindings);
    };
}

/// A tensor of 32-bit floats named `name`, with the given dimensions.
pub fn f32_tensor(name: &str, dimensions: &[u32], values: &[f32]) -> Tensor {
    Tensor {
        name: name.to_string(),
        dimensions: dimensions.to_vec(),
        ty: TensorType::Fp32,
        data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// The elements of a 32-bit float tensor.
pub fn f32_values(tensor: &Tensor) -> Result<Vec<f32>, String> {
    if tensor.ty != TensorType::Fp32 {
        return Err(format!(
            "tensor `{}` is {:?}, expected fp32",
            tensor.name, tensor.ty
        ));
    }
    Ok(tensor
        .data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// The elements of a 64-bit integer tensor.
pub fn i64_values(tensor: &Tensor) -> Result<Vec<i64>, String> {
    if tensor.ty != TensorType::I64 {
        return Err(format!(
            "tensor `{}` is {:?}, expected i64",
            tensor.name, tensor.ty
        ));
    }
    Ok(tensor
        .data
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
        .collect())
}

/// The output tensor named `name`, or an error listing the names there are.
pub fn output<'a>(outputs: &'a [Tensor], name: &str) -> Result<&'a Tensor, String> {
    outputs.iter().find(|t| t.name == name).ok_or_else(|| {
        let names: Vec<&str> = outputs.iter().map(|t| t.name.as_str()).collect();
        format!("the model returned no output `{name}`; it returned {names:?}")
    })
}
