//! Turning an image of one handwritten digit into the 64 features the model was trained on:
//! scikit-learn's digits are 8×8 images whose values run from 0 (paper) to 16 (ink).

use crate::image::Grey;

pub const SIDE: usize = 8;
pub const FEATURES: usize = SIDE * SIDE;
const INK: f32 = 16.0;

/// Averages the image down to 8×8 and scales it so ink is 16 and paper 0. Whether the ink is dark
/// on light paper or light on dark is read from the image's border, which is paper.
pub fn from_image(image: &Grey) -> Result<[f32; FEATURES], String> {
    if image.width < SIDE || image.height < SIDE {
        return Err(format!(
            "the image is {}×{}; it must be at least {SIDE}×{SIDE}",
            image.width, image.height
        ));
    }
    let dark_ink = border_mean(image) > 0.5;
    let mut features = [0.0; FEATURES];
    for (cell, feature) in features.iter_mut().enumerate() {
        let (row, col) = (cell / SIDE, cell % SIDE);
        let rows = row * image.height / SIDE..(row + 1) * image.height / SIDE;
        let cols = col * image.width / SIDE..(col + 1) * image.width / SIDE;
        let count = (rows.len() * cols.len()) as f32;
        let sum: f32 = rows
            .flat_map(|y| cols.clone().map(move |x| image.pixels[y * image.width + x]))
            .sum();
        let brightness = sum / count;
        *feature = if dark_ink {
            1.0 - brightness
        } else {
            brightness
        } * INK;
    }
    Ok(features)
}

/// Checks 64 numbers given directly, in the model's own scale.
pub fn from_numbers(numbers: &[f64]) -> Result<[f32; FEATURES], String> {
    if numbers.len() != FEATURES {
        return Err(format!(
            "expected {FEATURES} numbers (an 8×8 image, row by row), got {}",
            numbers.len()
        ));
    }
    let mut features = [0.0; FEATURES];
    for (feature, &n) in features.iter_mut().zip(numbers) {
        if !(0.0..=INK as f64).contains(&n) {
            return Err(format!(
                "{n} is outside 0..=16, the range of the training data"
            ));
        }
        *feature = n as f32;
    }
    Ok(features)
}

fn border_mean(image: &Grey) -> f32 {
    let (w, h) = (image.width, image.height);
    let border: Vec<f32> = (0..w)
        .flat_map(|x| [image.pixels[x], image.pixels[(h - 1) * w + x]])
        .chain((0..h).flat_map(|y| [image.pixels[y * w], image.pixels[y * w + w - 1]]))
        .collect();
    border.iter().sum::<f32>() / border.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An 8×8 digit drawn at `scale`× with dark ink on white, as a person would send it.
    fn drawn(digit: &[f32; FEATURES], scale: usize) -> Grey {
        let side = SIDE * scale;
        let pixels = (0..side * side)
            .map(|i| 1.0 - digit[(i / side / scale) * SIDE + (i % side) / scale] / INK)
            .collect();
        Grey {
            width: side,
            height: side,
            pixels,
        }
    }

    #[test]
    fn a_drawn_digit_comes_back_as_its_features_whatever_its_size() {
        let mut digit = [0.0; FEATURES];
        for (i, v) in digit.iter_mut().enumerate() {
            if (2..6).contains(&(i % SIDE)) && (1..7).contains(&(i / SIDE)) {
                *v = (i % 17) as f32;
            }
        }
        for scale in [1, 3, 4] {
            let features = from_image(&drawn(&digit, scale)).unwrap();
            for (got, want) in features.iter().zip(digit) {
                assert!((got - want).abs() < 1e-4, "scale {scale}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn light_ink_on_dark_paper_reads_the_same() {
        let mut digit = [0.0; FEATURES];
        digit[27] = 16.0;
        let mut image = drawn(&digit, 2);
        image.pixels.iter_mut().for_each(|p| *p = 1.0 - *p);
        assert_eq!(from_image(&image).unwrap()[27], 16.0);
    }

    #[test]
    fn wrong_inputs_say_what_was_expected() {
        assert!(
            from_numbers(&[1.0; 10])
                .unwrap_err()
                .contains("expected 64 numbers")
        );
        assert!(
            from_numbers(&[20.0; 64])
                .unwrap_err()
                .contains("outside 0..=16")
        );
        let tiny = Grey {
            width: 4,
            height: 4,
            pixels: vec![0.0; 16],
        };
        assert!(from_image(&tiny).unwrap_err().contains("at least 8×8"));
    }
}
