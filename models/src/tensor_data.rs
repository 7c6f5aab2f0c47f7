//! Tensor elements as typed vectors: the form both runtimes take and give, decoded from and
//! encoded to the little-endian bytes of a WIT `tensor`.

use trellis_host::types::Tensor;

use crate::config::ElementType;

/// A tensor's elements, typed. Half-precision types are not carried: neither runtime is built
/// with them, and no example model needs them.
#[derive(Clone, Debug, PartialEq)]
pub enum Elements {
    F32(Vec<f32>),
    F64(Vec<f64>),
    U8(Vec<u8>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

/// A typed tensor: its shape and its elements.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedTensor {
    pub shape: Vec<usize>,
    pub elements: Elements,
}

impl TypedTensor {
    /// Decodes a WIT tensor, refusing one whose length does not fit its dimensions.
    pub fn decode(tensor: &Tensor) -> Result<TypedTensor, String> {
        let ty = ElementType::from(tensor.ty);
        let shape: Vec<usize> = tensor.dimensions.iter().map(|&d| d as usize).collect();
        let expected = byte_size(&shape, ty).ok_or_else(|| overflow(&tensor.name, &shape))?;
        let bytes = &tensor.data;
        if bytes.len() != expected {
            return Err(format!(
                "{} bytes for tensor `{}`; its dimensions need {expected}",
                bytes.len(),
                tensor.name
            ));
        }
        let elements = match ty {
            ElementType::Fp32 => Elements::F32(le(bytes, f32::from_le_bytes)),
            ElementType::Fp64 => Elements::F64(le(bytes, f64::from_le_bytes)),
            ElementType::U8 => Elements::U8(bytes.clone()),
            ElementType::I32 => Elements::I32(le(bytes, i32::from_le_bytes)),
            ElementType::I64 => Elements::I64(le(bytes, i64::from_le_bytes)),
            other => return Err(unsupported(other)),
        };
        Ok(TypedTensor { shape, elements })
    }

    /// Encodes this tensor as a WIT tensor named `name`. A dimension beyond what a WIT tensor
    /// carries (2^32 - 1: a runtime can make one of an empty tensor) is an error, not a wrap.
    pub fn encode(&self, name: &str) -> Result<Tensor, String> {
        let (ty, data) = match &self.elements {
            Elements::F32(v) => (ElementType::Fp32, to_le(v, |x| x.to_le_bytes())),
            Elements::F64(v) => (ElementType::Fp64, to_le(v, |x| x.to_le_bytes())),
            Elements::U8(v) => (ElementType::U8, v.clone()),
            Elements::I32(v) => (ElementType::I32, to_le(v, |x| x.to_le_bytes())),
            Elements::I64(v) => (ElementType::I64, to_le(v, |x| x.to_le_bytes())),
        };
        let dimensions = self
            .shape
            .iter()
            .map(|&d| u32::try_from(d))
            .collect::<Result<Vec<u32>, _>>()
            .map_err(|_| {
                format!(
                    "tensor `{name}` has shape {:?}; a tensor dimension may be at most {}",
                    self.shape,
                    u32::MAX
                )
            })?;
        Ok(Tensor {
            name: name.to_string(),
            dimensions,
            ty: ty.into(),
            data,
        })
    }
}

/// The bytes a tensor of `ty` with dimensions `shape` takes, or `None` where that does not fit
/// in a `usize`: dimensions come from guests and uploads, and a product that wrapped would let a
/// huge shape pass as a few bytes.
pub fn byte_size(shape: &[usize], ty: ElementType) -> Option<usize> {
    shape
        .iter()
        .try_fold(ty.size(), |bytes, &d| bytes.checked_mul(d))
}

/// The error for a tensor whose size overflows, naming it and its shape.
pub fn overflow(name: &str, shape: &[usize]) -> String {
    format!(
        "tensor `{name}` has shape {shape:?}, whose size in bytes overflows; no tensor can be that large"
    )
}

/// Whether tensors of this type can be carried to and from the runtimes.
pub fn carried(ty: ElementType) -> Result<(), String> {
    match ty {
        ElementType::Fp16 | ElementType::Bf16 => Err(unsupported(ty)),
        _ => Ok(()),
    }
}

/// The error for an element type the runtimes are not built to carry.
pub fn unsupported(ty: ElementType) -> String {
    format!(
        "{} tensors are not supported; use fp32, fp64, u8, i32 or i64",
        ty.name()
    )
}

fn le<const N: usize, T>(bytes: &[u8], from: fn([u8; N]) -> T) -> Vec<T> {
    bytes
        .chunks_exact(N)
        .map(|c| from(c.try_into().expect("chunks_exact yields N bytes")))
        .collect()
}

fn to_le<const N: usize, T: Copy>(values: &[T], to: fn(T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(|&v| to(v)).collect()
}
