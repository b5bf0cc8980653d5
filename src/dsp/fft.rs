//! FFT plans shared by the whole process.
//!
//! Planning a real FFT (twiddle tables, picking the SIMD kernels, sizing scratch) costs
//! far more than running one, and the engine builds a front end and a voicing check per
//! stream: `classify` and `eval` start one stream per file, so with a planner per
//! stream a corpus run spent about 0.4 ms of every file planning the same three
//! transforms again. rustfft's planners cache every plan they make, and a plan is an
//! immutable `Arc` that any number of threads may run at once (each with its own
//! buffers), so one planner per float type, locked only while a stream is being set up
//! (never per frame, never on the audio callback), hands every stream the same plans.

use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use realfft::{ComplexToReal, FftNum, RealFftPlanner, RealToComplex};

static PLANNER_F32: LazyLock<Mutex<RealFftPlanner<f32>>> =
    LazyLock::new(|| Mutex::new(RealFftPlanner::new()));
static PLANNER_F64: LazyLock<Mutex<RealFftPlanner<f64>>> =
    LazyLock::new(|| Mutex::new(RealFftPlanner::new()));

/// A float type with a process-wide planner.
pub trait SharedPlanner: FftNum {
    #[doc(hidden)]
    fn planner() -> &'static Mutex<RealFftPlanner<Self>>;
}

impl SharedPlanner for f32 {
    fn planner() -> &'static Mutex<RealFftPlanner<f32>> {
        &PLANNER_F32
    }
}

impl SharedPlanner for f64 {
    fn planner() -> &'static Mutex<RealFftPlanner<f64>> {
        &PLANNER_F64
    }
}

/// The forward real FFT of length `n` (planned once per process).
pub fn forward<T: SharedPlanner>(n: usize) -> Arc<dyn RealToComplex<T>> {
    // A panic elsewhere while holding the lock cannot leave the planner's cache
    // inconsistent (it only ever inserts finished plans), so a poisoned lock is safe
    // to keep using.
    let mut planner = T::planner().lock().unwrap_or_else(PoisonError::into_inner);
    planner.plan_fft_forward(n)
}

/// The inverse real FFT of length `n` (planned once per process).
pub fn inverse<T: SharedPlanner>(n: usize) -> Arc<dyn ComplexToReal<T>> {
    let mut planner = T::planner().lock().unwrap_or_else(PoisonError::into_inner);
    planner.plan_fft_inverse(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_shared_and_transform_correctly() {
        let a = forward::<f32>(768);
        let b = forward::<f32>(768);
        assert!(
            Arc::ptr_eq(&a, &b),
            "the second request must reuse the plan"
        );
        // A round trip through the shared forward and inverse plans gives back the
        // signal times n (realfft does not normalise).
        let n = 768;
        let signal: Vec<f32> = (0..n)
            .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let mut input = signal.clone();
        let mut spectrum = a.make_output_vec();
        a.process(&mut input, &mut spectrum).expect("forward");
        let inv = inverse::<f32>(n);
        let mut back = inv.make_output_vec();
        inv.process(&mut spectrum, &mut back).expect("inverse");
        for (x, y) in signal.iter().zip(&back) {
            assert!((x - y / n as f32).abs() < 1e-5, "{x} vs {}", y / n as f32);
        }
        let c = forward::<f64>(512);
        assert_eq!(c.len(), 512);
    }
}
