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

impl TypedTensor {
    /// The rows of `parts` one after another along the first dimension, or `None` where they
    /// cannot be stacked: a part without dimensions, other inner dimensions or another type.
    pub fn stack(parts: &[&TypedTensor]) -> Option<TypedTensor> {
        let (first, rest) = parts.split_first()?;
        let inner = first.shape.get(1..)?;
        let mut rows = first.shape[0];
        let mut elements = first.elements.clone();
        for part in rest {
            if part.shape.get(1..) != Some(inner) || !elements.extend(&part.elements) {
                return None;
            }
            rows += part.shape[0];
        }
        let mut shape = first.shape.clone();
        shape[0] = rows;
        Some(TypedTensor { shape, elements })
    }

    /// The tensor cut along its first dimension into pieces of `rows` rows each, in order; `None`
    /// where its first dimension is not their sum.
    pub fn split(&self, rows: &[usize]) -> Option<Vec<TypedTensor>> {
        let total = *self.shape.first()?;
        // `is_multiple_of(0)` holds only for 0: an empty tensor splits into empty pieces.
        if rows.iter().sum::<usize>() != total || !self.elements.len().is_multiple_of(total) {
            return None;
        }
        let per_row = self.elements.len().checked_div(total).unwrap_or(0);
        let mut start = 0;
        Some(
            rows.iter()
                .map(|&n| {
                    let mut shape = self.shape.clone();
                    shape[0] = n;
                    let range = start * per_row..(start + n) * per_row;
                    start += n;
                    TypedTensor {
                        shape,
                        elements: self.elements.slice(range),
                    }
                })
                .collect(),
        )
    }
}

impl Elements {
    pub fn len(&self) -> usize {
        match self {
            Elements::F32(v) => v.len(),
            Elements::F64(v) => v.len(),
            Elements::U8(v) => v.len(),
            Elements::I32(v) => v.len(),
            Elements::I64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `more`'s elements; `false` (and nothing appended) where they are of another type.
    fn extend(&mut self, more: &Elements) -> bool {
        match (self, more) {
            (Elements::F32(a), Elements::F32(b)) => a.extend_from_slice(b),
            (Elements::F64(a), Elements::F64(b)) => a.extend_from_slice(b),
            (Elements::U8(a), Elements::U8(b)) => a.extend_from_slice(b),
            (Elements::I32(a), Elements::I32(b)) => a.extend_from_slice(b),
            (Elements::I64(a), Elements::I64(b)) => a.extend_from_slice(b),
            _ => return false,
        }
        true
    }

    fn slice(&self, range: std::ops::Range<usize>) -> Elements {
        match self {
            Elements::F32(v) => Elements::F32(v[range].to_vec()),
            Elements::F64(v) => Elements::F64(v[range].to_vec()),
            Elements::U8(v) => Elements::U8(v[range].to_vec()),
            Elements::I32(v) => Elements::I32(v[range].to_vec()),
            Elements::I64(v) => Elements::I64(v[range].to_vec()),
        }
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
