//! Decoding the images a camera or a person sends: PNG (any colour type, 8 or 16 bits) and PGM
//! (`P2` text or `P5` binary), into grey levels from 0.0 (black) to 1.0 (white).

/// A greyscale image, row by row.
#[derive(Debug)]
pub struct Grey {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<f32>,
}

/// Decodes PNG or PGM bytes, telling them apart by their first bytes.
pub fn decode(bytes: &[u8]) -> Result<Grey, String> {
    if bytes.starts_with(b"\x89PNG") {
        decode_png(bytes)
    } else if bytes.starts_with(b"P5") || bytes.starts_with(b"P2") {
        decode_pgm(bytes)
    } else {
        Err("the image is neither PNG nor PGM".into())
    }
}

fn decode_png(bytes: &[u8]) -> Result<Grey, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    // Palettes become RGB and 16-bit samples become 8-bit, so only four layouts remain.
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
        .map(|px| {
            let luma = if channels >= 3 {
                0.299 * px[0] as f32 + 0.587 * px[1] as f32 + 0.114 * px[2] as f32
            } else {
                px[0] as f32
            };
            luma / 255.0
        })
        .collect();
    Ok(Grey {
        width: frame.width as usize,
        height: frame.height as usize,
        pixels,
    })
}

fn decode_pgm(bytes: &[u8]) -> Result<Grey, String> {
    let binary = bytes.starts_with(b"P5");
    let mut pos = 2;
    let mut header = [0usize; 3];
    for field in &mut header {
        *field = next_number(bytes, &mut pos)
            .ok_or("bad PGM header: expected width, height and maximum")?;
    }
    let [width, height, max] = header;
    if max == 0 || max > 65535 {
        return Err(format!("bad PGM maximum value {max}"));
    }
    let count = width.checked_mul(height).ok_or("PGM too large")?;
    let values: Vec<usize> = if binary {
        pos += 1; // The single whitespace byte after the header.
        let size = if max > 255 { 2 } else { 1 };
        let data = bytes
            .get(pos..pos + count * size)
            .ok_or("PGM data shorter than width × height")?;
        data.chunks_exact(size)
            .map(|b| b.iter().fold(0, |v, &x| v * 256 + x as usize))
            .collect()
    } else {
        (0..count)
            .map(|_| next_number(bytes, &mut pos))
            .collect::<Option<_>>()
            .ok_or("PGM has fewer values than width × height")?
    };
    let pixels = values.into_iter().map(|v| v as f32 / max as f32).collect();
    Ok(Grey {
        width,
        height,
        pixels,
    })
}

/// The next decimal number, skipping white space and `#` comments.
fn next_number(bytes: &[u8], pos: &mut usize) -> Option<usize> {
    loop {
        match bytes.get(*pos)? {
            b'#' => {
                while *bytes.get(*pos)? != b'\n' {
                    *pos += 1;
                }
            }
            b if b.is_ascii_whitespace() => *pos += 1,
            _ => break,
        }
    }
    let start = *pos;
    while bytes.get(*pos).is_some_and(u8::is_ascii_digit) {
        *pos += 1;
    }
    std::str::from_utf8(&bytes[start..*pos]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_binary_pgm_agree() {
        let text = decode(b"P2\n# a comment\n2 2\n255\n0 255\n128 64\n").unwrap();
        let binary = decode(b"P5\n2 2\n255\n\x00\xff\x80\x40").unwrap();
        assert_eq!((text.width, text.height), (2, 2));
        assert_eq!(text.pixels, binary.pixels);
        assert_eq!(text.pixels[1], 1.0);
    }

    #[test]
    fn truncated_pgm_says_what_is_missing() {
        assert!(
            decode(b"P5\n4 4\n255\n\x00")
                .unwrap_err()
                .contains("shorter")
        );
        assert!(decode(b"P2\n4\n").unwrap_err().contains("header"));
        assert!(
            decode(b"GIF89a")
                .unwrap_err()
                .contains("neither PNG nor PGM")
        );
    }
}
