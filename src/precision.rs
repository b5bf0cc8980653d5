//! The precision numbers are written with, in JSON, CSV, session files and manifests:
//! times to the millisecond, probabilities and ratios to four decimals, levels to a
//! tenth of a decibel. More digits would only be the noise of the arithmetic, and files
//! a person reads stay readable.

/// Seconds, to the millisecond.
pub fn seconds(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

/// A probability, ratio or score in [-1, 1], to four decimals.
pub fn ratio(x: impl Into<f64>) -> f64 {
    (x.into() * 1e4).round() / 1e4
}

/// A level in dB, to a tenth.
pub fn decibels(x: impl Into<f64>) -> f64 {
    (x.into() * 10.0).round() / 10.0
}

/// [`ratio`] for a field stored as `f32`: the nearest `f32`, which prints as the same
/// four decimals.
pub fn ratio_f32(x: f32) -> f32 {
    ratio(x) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_number_keeps_its_digits() {
        assert_eq!(seconds(1.23456), 1.235);
        assert_eq!(ratio(0.123_456), 0.1235);
        assert_eq!(ratio(-0.999_96), -1.0);
        assert_eq!(decibels(-23.456), -23.5);
        assert_eq!(ratio_f32(0.123_456).to_string(), "0.1235");
    }
}
