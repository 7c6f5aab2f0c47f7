//! What a process and its model worker say to each other over the worker's stdin and stdout:
//! length-prefixed frames, each one message, numbers little-endian and tensors as their raw
//! elements (a vision model's input is megabytes, so no text encoding).

use std::io::{self, Read, Write};
use std::path::PathBuf;

use crate::tensor_data::{Elements, TypedTensor};

/// The largest frame either side accepts: four times the platform's largest declared tensor,
/// so a batch fits, while a corrupt length cannot make the reader allocate without bound.
const MAX_FRAME: u64 = 4 << 30;

/// One message.
#[derive(Debug, PartialEq)]
pub enum Message {
    /// To the worker, first: load ONNX Runtime from `library` and the model in `onnx`, fed
    /// `inputs` and giving `outputs` by name, within `memory_bytes` of address space.
    Load {
        library: PathBuf,
        memory_bytes: u64,
        onnx: Vec<u8>,
        inputs: Vec<String>,
        outputs: Vec<String>,
    },
    /// To the worker: run the model on these inputs.
    Run(Vec<TypedTensor>),
    /// From the worker: the model is loaded.
    Loaded,
    /// From the worker: the outputs of a run.
    Ran(Vec<TypedTensor>),
    /// From the worker: the load or run failed, and why.
    Failed(String),
}

impl Message {
    /// What kind of message it is, for an error that cannot show it whole (a tensor can be
    /// megabytes).
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Load { .. } => "a load",
            Message::Run(_) => "a run",
            Message::Loaded => "`loaded`",
            Message::Ran(_) => "outputs",
            Message::Failed(_) => "a failure",
        }
    }
}

const LOAD: u8 = 1;
const RUN: u8 = 2;
const LOADED: u8 = 3;
const RAN: u8 = 4;
const FAILED: u8 = 5;

/// Writes `message` as one frame and flushes it.
pub fn write(to: &mut impl Write, message: &Message) -> io::Result<()> {
    let mut body = Vec::new();
    match message {
        Message::Load {
            library,
            memory_bytes,
            onnx,
            inputs,
            outputs,
        } => {
            body.push(LOAD);
            put_bytes(&mut body, library.as_os_str().as_encoded_bytes());
            body.extend(memory_bytes.to_le_bytes());
            put_bytes(&mut body, onnx);
            put_names(&mut body, inputs);
            put_names(&mut body, outputs);
        }
        Message::Run(tensors) => {
            body.push(RUN);
            put_tensors(&mut body, tensors);
        }
        Message::Loaded => body.push(LOADED),
        Message::Ran(tensors) => {
            body.push(RAN);
            put_tensors(&mut body, tensors);
        }
        Message::Failed(why) => {
            body.push(FAILED);
            put_bytes(&mut body, why.as_bytes());
        }
    }
    to.write_all(&(body.len() as u64).to_le_bytes())?;
    to.write_all(&body)?;
    to.flush()
}

/// Reads one frame; `None` where the other side closed the stream between frames.
pub fn read(from: &mut impl Read) -> io::Result<Option<Message>> {
    let mut length = [0u8; 8];
    match from.read_exact(&mut length) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let length = u64::from_le_bytes(length);
    if length > MAX_FRAME {
        return Err(invalid(format!(
            "a frame of {length} bytes, above the {MAX_FRAME} allowed"
        )));
    }
    let mut body = vec![0u8; length as usize];
    from.read_exact(&mut body)?;
    decode(&body).map(Some).map_err(invalid)
}

fn invalid(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

fn decode(body: &[u8]) -> Result<Message, String> {
    let mut cursor = Cursor { rest: body };
    let message = match cursor.u8()? {
        LOAD => {
            let library = cursor.text()?.into();
            let memory_bytes = cursor.u64()?;
            let onnx = cursor.bytes()?.to_vec();
            let inputs = cursor.names()?;
            let outputs = cursor.names()?;
            Message::Load {
                library,
                memory_bytes,
                onnx,
                inputs,
                outputs,
            }
        }
        RUN => Message::Run(cursor.tensors()?),
        LOADED => Message::Loaded,
        RAN => Message::Ran(cursor.tensors()?),
        FAILED => Message::Failed(cursor.text()?),
        other => return Err(format!("a message of unknown kind {other}")),
    };
    if !cursor.rest.is_empty() {
        return Err(format!("{} bytes after the message", cursor.rest.len()));
    }
    Ok(message)
}

fn put_bytes(body: &mut Vec<u8>, bytes: &[u8]) {
    body.extend((bytes.len() as u64).to_le_bytes());
    body.extend_from_slice(bytes);
}

fn put_names(body: &mut Vec<u8>, names: &[String]) {
    body.extend((names.len() as u64).to_le_bytes());
    for name in names {
        put_bytes(body, name.as_bytes());
    }
}

fn put_tensors(body: &mut Vec<u8>, tensors: &[TypedTensor]) {
    body.extend((tensors.len() as u64).to_le_bytes());
    for tensor in tensors {
        body.extend((tensor.shape.len() as u64).to_le_bytes());
        for &d in &tensor.shape {
            body.extend((d as u64).to_le_bytes());
        }
        let (kind, bytes) = match &tensor.elements {
            Elements::F32(v) => (0, le(v, |x| x.to_le_bytes())),
            Elements::F64(v) => (1, le(v, |x| x.to_le_bytes())),
            Elements::U8(v) => (2, v.clone()),
            Elements::I32(v) => (3, le(v, |x| x.to_le_bytes())),
            Elements::I64(v) => (4, le(v, |x| x.to_le_bytes())),
        };
        body.push(kind);
        put_bytes(body, &bytes);
    }
}

fn le<const N: usize, T: Copy>(values: &[T], to: fn(T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(|&v| to(v)).collect()
}

/// Reads a frame's body front to back; every length is checked against what is left.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8], String> {
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.rest.len())
            .ok_or_else(|| format!("{n} bytes asked for, {} left", self.rest.len()))?;
        let (taken, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(taken)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("took 8 bytes"),
        ))
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.u64()?;
        self.take(n)
    }

    fn text(&mut self) -> Result<String, String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|e| e.to_string())
    }

    fn names(&mut self) -> Result<Vec<String>, String> {
        (0..self.u64()?).map(|_| self.text()).collect()
    }

    fn tensors(&mut self) -> Result<Vec<TypedTensor>, String> {
        (0..self.u64()?).map(|_| self.tensor()).collect()
    }

    fn tensor(&mut self) -> Result<TypedTensor, String> {
        let shape = (0..self.u64()?)
            .map(|_| usize::try_from(self.u64()?).map_err(|e| e.to_string()))
            .collect::<Result<Vec<usize>, String>>()?;
        let kind = self.u8()?;
        let bytes = self.bytes()?;
        let elements = match kind {
            0 => Elements::F32(from_le(bytes, f32::from_le_bytes)?),
            1 => Elements::F64(from_le(bytes, f64::from_le_bytes)?),
            2 => Elements::U8(bytes.to_vec()),
            3 => Elements::I32(from_le(bytes, i32::from_le_bytes)?),
            4 => Elements::I64(from_le(bytes, i64::from_le_bytes)?),
            other => return Err(format!("a tensor of unknown element kind {other}")),
        };
        let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        if count != Some(elements.len()) {
            return Err(format!(
                "a tensor of shape {shape:?} with {} elements",
                elements.len()
            ));
        }
        Ok(TypedTensor { shape, elements })
    }
}

fn from_le<const N: usize, T>(bytes: &[u8], from: fn([u8; N]) -> T) -> Result<Vec<T>, String> {
    if !bytes.len().is_multiple_of(N) {
        return Err(format!("{} bytes of {N}-byte elements", bytes.len()));
    }
    Ok(bytes
        .chunks_exact(N)
        .map(|c| from(c.try_into().expect("chunks_exact yields N bytes")))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(message: Message) {
        let mut frame = Vec::new();
        write(&mut frame, &message).unwrap();
        let mut reader = frame.as_slice();
        assert_eq!(read(&mut reader).unwrap(), Some(message));
        assert_eq!(read(&mut reader).unwrap(), None, "one frame, then the end");
    }

    #[test]
    fn every_message_comes_back_as_it_was_sent() {
        round_trip(Message::Load {
            library: "/opt/libonnxruntime.so".into(),
            memory_bytes: 4 << 30,
            onnx: vec![8, 1, 0, 255],
            inputs: vec!["image".into(), "mask".into()],
            outputs: vec!["scores".into()],
        });
        round_trip(Message::Run(vec![
            TypedTensor {
                shape: vec![2, 3],
                elements: Elements::F32(vec![0.5, -1.0, f32::MAX, 0.0, 1e-30, 7.0]),
            },
            TypedTensor {
                shape: vec![0],
                elements: Elements::I64(vec![]),
            },
        ]));
        round_trip(Message::Ran(vec![TypedTensor {
            shape: vec![1, 2],
            elements: Elements::U8(vec![3, 4]),
        }]));
        round_trip(Message::Loaded);
        round_trip(Message::Failed("ONNX Runtime said no".into()));
    }

    #[test]
    fn a_frame_cut_short_or_lying_about_its_contents_is_an_error_not_a_panic() {
        let mut frame = Vec::new();
        write(
            &mut frame,
            &Message::Ran(vec![TypedTensor {
                shape: vec![2, 2],
                elements: Elements::I32(vec![1, 2, 3, 4]),
            }]),
        )
        .unwrap();
        for cut in 8..frame.len() {
            assert!(read(&mut &frame[..cut]).is_err(), "cut at {cut}");
        }
        // The shape says 2 × 2, the data carries 3 elements.
        let mut lying = frame.clone();
        let shape_at = 8 + 1 + 8 + 8;
        lying[shape_at + 8..shape_at + 16].copy_from_slice(&3u64.to_le_bytes());
        let error = read(&mut lying.as_slice()).unwrap_err();
        assert!(error.to_string().contains("shape [2, 3]"), "{error}");
        // A length no worker could send.
        let huge = (MAX_FRAME + 1).to_le_bytes();
        assert!(read(&mut huge.as_slice()).is_err());
    }
}
