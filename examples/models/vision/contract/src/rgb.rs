//! RGB images: decoding PNG (any colour type) or raw bytes, and resizing to the model's side.

/// An image as RGB pixels, row by row.
pub struct Rgb {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<[u8; 3]>,
}

/// Decodes PNG bytes, or raw RGB bytes of a `side`×`side` image.
pub fn decode(bytes: &[u8], side: usize) -> Result<Rgb, String> {
    if bytes.starts_with(b"\x89PNG") {
        return decode_png(bytes);
    }
    if bytes.len() != side * side * 3 {
        return Err(format!(
            "{} bytes are neither a PNG nor {side}x{side} RGB ({} bytes)",
            bytes.len(),
            side * side * 3
        ));
    }
    Ok(Rgb {
        width: side,
        height: side,
        pixels: bytes.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect(),
    })
}

fn decode_png(bytes: &[u8]) -> Result<Rgb, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| format!("bad PNG: {e}"))?;
    let mut buffer = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
    let frame = reader
        .next_frame(&mut buffer)
        .map_err(|e| format!("bad PNG: {e}"))?;
    let samples = &buffer[..frame.buffer_size()];
    let channels = match frame.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => return Err(format!("unsupported PNG colour type {other:?}")),
    };
    let pixels = samples
        .chunks_exact(channels)
        .map(|p| match channels {
            1 | 2 => [p[0]; 3],
            _ => [p[0], p[1], p[2]],
        })
        .collect();
    Ok(Rgb {
        width: frame.width as usize,
        height: frame.height as usize,
        pixels,
    })
}

impl Rgb {
    /// Nearest-neighbour resize to `side`×`side`; the same image back if it is that size.
    pub fn resized(self, side: usize) -> Rgb {
        if self.width == side && self.height == side {
            return self;
        }
        let mut pixels = Vec::with_capacity(side * side);
        for y in 0..side {
            let sy = y * self.height / side;
            for x in 0..side {
                pixels.push(self.pixels[sy * self.width + x * self.width / side]);
            }
        }
        Rgb {
            width: side,
            height: side,
            pixels,
        }
    }
}
