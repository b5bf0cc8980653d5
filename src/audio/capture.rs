//! Microphone capture with cpal.
//!
//! The device is opened at its own default rate, sample format and channel count: many
//! USB microphones refuse 16 kHz, and asking for it makes ALSA resample badly or fail.
//! Downmixing and resampling happen later, on the analysis thread.
//!
//! The data callback runs on the audio thread, so it does exactly one thing: convert
//! each sample to `f32` and push it into the ring buffer. It never allocates, locks,
//! blocks or logs. When the ring is full the rest of the buffer is dropped and counted;
//! the engine reports the count. Device errors arrive on cpal's error callback, which is
//! not the real-time path; it records the failure so the engine can stop cleanly.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{ErrorKind, FromSample, SampleFormat, SizedSample};
use ringbuf::HeapRb;
use ringbuf::traits::{Producer, Split};
use serde::Serialize;

use super::{SourceInfo, SourceKind};
use crate::audio::source::{Feed, SourceFailure, SourceGuard, SourceShared, ring_capacity};

/// Seconds of audio the capture ring holds. The analysis thread drains it every few
/// milliseconds; two seconds absorbs a stalled terminal or a slow first inference.
const RING_SECONDS: f32 = 2.0;

/// An input device as `emotty devices` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    pub name: String,
    /// cpal's stable identifier (host-specific).
    pub id: String,
    pub is_default: bool,
    /// The configuration emotty would capture with; `None` when the device cannot report
    /// one (typically: it does not really exist).
    pub channels: Option<u16>,
    pub sample_rate: Option<u32>,
    pub sample_format: Option<String>,
    /// Every rate range the device claims to support, as "min-max" strings.
    pub supported_rates: Vec<String>,
}

/// Errors finding or opening a microphone. Each message is one line and says what to
/// do instead.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(
        "no microphone: this machine has no audio input device (no sound card or sound server); \
         use --input FILE, or --input - to read audio from a pipe"
    )]
    NoDevice,
    #[error("no input device matches \"{wanted}\"; available: {available}")]
    NoMatch { wanted: String, available: String },
    #[error("input device \"{name}\" cannot be opened: {reason}")]
    Open { name: String, reason: String },
    #[error("cannot list audio devices: {0}")]
    Host(String),
}

/// Makes alsa-lib quiet for the whole process.
///
/// alsa-lib prints "ALSA lib pcm.c:…" lines straight to stderr when a device is probed
/// that is not there, which is every device on a headless box. Inside a full-screen UI
/// those lines corrupt the screen; in a headless command they bury the one line that
/// matters. Our own errors say what went wrong, so the library's chatter is dropped.
pub fn silence_alsa() {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::{c_char, c_int};
        // alsa-lib calls the handler with C varargs after `fmt`. A handler that ignores
        // them does not need to declare them: on the C ABIs Linux uses, extra arguments
        // are simply never read.
        unsafe extern "C" fn quiet(
            _file: *const c_char,
            _line: c_int,
            _function: *const c_char,
            _err: c_int,
            _fmt: *const c_char,
        ) {
        }
        type Quiet =
            unsafe extern "C" fn(*const c_char, c_int, *const c_char, c_int, *const c_char);
        type Variadic =
            unsafe extern "C" fn(*const c_char, c_int, *const c_char, c_int, *const c_char, ...);
        // SAFETY: same calling convention; the handler reads none of the variadic
        // arguments (see above). alsa-lib stores the pointer and calls it on errors.
        unsafe {
            let handler: alsa_sys::snd_lib_error_handler_t =
                Some(std::mem::transmute::<Quiet, Variadic>(quiet as Quiet));
            alsa_sys::snd_lib_error_set_handler(handler);
        }
    }
}

/// Runs `f` with the process's stderr pointed at /dev/null.
///
/// Some ALSA plugins bypass alsa-lib's error handler: the JACK plugin, installed on
/// most desktops and many servers, prints "jack server is not running" and friends
/// from libjack itself for every probe. Probing and opening devices is where that
/// happens, so those calls run with stderr closed off. Our own messages are printed
/// afterwards, by the caller.
pub fn quiet_stderr<T>(f: impl FnOnce() -> T) -> T {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let devnull = std::fs::OpenOptions::new().write(true).open("/dev/null");
        // SAFETY: plain descriptor juggling on fd 2; every descriptor we create is
        // closed again, and fd 2 is restored before returning.
        let saved = unsafe { libc::dup(2) };
        if let (Ok(devnull), true) = (devnull, saved >= 0) {
            unsafe { libc::dup2(devnull.as_raw_fd(), 2) };
            let result = f();
            unsafe {
                libc::dup2(saved, 2);
                libc::close(saved);
            }
            return result;
        }
        if saved >= 0 {
            unsafe { libc::close(saved) };
        }
    }
    f()
}

/// ALSA's "null" device captures endless zeros: useful to ALSA, misleading as a
/// microphone, so it is not offered.
fn is_null_device(id: Option<&str>) -> bool {
    id == Some("alsa:null")
}

/// Lists input devices with the configuration each would be captured with.
pub fn list_input_devices() -> Result<Vec<DeviceInfo>, CaptureError> {
    quiet_stderr(list_input_devices_noisy)
}

fn list_input_devices_noisy() -> Result<Vec<DeviceInfo>, CaptureError> {
    silence_alsa();
    let host = cpal::default_host();
    let default_id = host.default_input_device().and_then(|d| d.id().ok());
    let devices = host
        .input_devices()
        .map_err(|e| CaptureError::Host(e.to_string()))?;
    let mut out = Vec::new();
    for device in devices {
        let id = device.id().ok();
        if is_null_device(id.as_ref().map(|i| i.to_string()).as_deref()) {
            continue;
        }
        let name = device_name(&device);
        let config = device.default_input_config().ok();
        let supported_rates = device
            .supported_input_configs()
            .map(|configs| {
                let mut rates: Vec<String> = configs
                    .map(|c| {
                        if c.min_sample_rate() == c.max_sample_rate() {
                            c.min_sample_rate().to_string()
                        } else {
                            format!("{}-{}", c.min_sample_rate(), c.max_sample_rate())
                        }
                    })
                    .collect();
                rates.sort();
                rates.dedup();
                rates
            })
            .unwrap_or_default();
        out.push(DeviceInfo {
            is_default: id.is_some() && id == default_id,
            id: id.map(|i| i.to_string()).unwrap_or_default(),
            name,
            channels: config.as_ref().map(|c| c.channels()),
            sample_rate: config.as_ref().map(|c| c.sample_rate()),
            sample_format: config.as_ref().map(|c| c.sample_format().to_string()),
            supported_rates,
        });
    }
    Ok(out)
}

/// Usable input devices: those that can report a capture configuration.
pub fn usable(devices: &[DeviceInfo]) -> impl Iterator<Item = &DeviceInfo> {
    devices.iter().filter(|d| d.sample_rate.is_some())
}

fn device_name(device: &cpal::Device) -> String {
    device
        .description()
        .map(|d| d.name().to_string())
        .or_else(|_| device.id().map(|id| id.to_string()))
        .unwrap_or_else(|_| "unknown device".to_string())
}

/// Picks the device: the first whose name or id contains `wanted`
/// (case-insensitively), or the default input device.
fn pick_device(wanted: Option<&str>) -> Result<cpal::Device, CaptureError> {
    let host = cpal::default_host();
    let Some(wanted) = wanted else {
        return host.default_input_device().ok_or(CaptureError::NoDevice);
    };
    let needle = wanted.to_lowercase();
    let devices: Vec<cpal::Device> = host
        .input_devices()
        .map_err(|e| CaptureError::Host(e.to_string()))?
        .collect();
    let mut names = Vec::new();
    for device in devices {
        let name = device_name(&device);
        let id = device.id().map(|i| i.to_string()).unwrap_or_default();
        if is_null_device(Some(&id)) {
            continue;
        }
        if name.to_lowercase().contains(&needle) || id.to_lowercase().contains(&needle) {
            return Ok(device);
        }
        // Only devices that can capture are worth naming: ALSA lists every plugin it
        // knows (rate converters, JACK, OSS), even on a machine without a sound card.
        if device.default_input_config().is_ok() {
            names.push(name);
        }
    }
    Err(CaptureError::NoMatch {
        wanted: wanted.to_string(),
        available: if names.is_empty() {
            "none (this machine has no usable audio input device)".to_string()
        } else {
            names.join(", ")
        },
    })
}

/// Opens a microphone (by name substring, or the default) and starts capturing.
pub fn open(wanted: Option<&str>) -> Result<(Feed, SourceGuard), CaptureError> {
    quiet_stderr(|| open_noisy(wanted))
}

fn open_noisy(wanted: Option<&str>) -> Result<(Feed, SourceGuard), CaptureError> {
    silence_alsa();
    let device = pick_device(wanted)?;
    let name = device_name(&device);
    // On ALSA a machine without a sound card still has a "default" device; it fails
    // here, when asked for a configuration. That is the no-microphone case.
    let config = device.default_input_config().map_err(|e| {
        if wanted.is_none()
            && matches!(
                e.kind(),
                ErrorKind::DeviceNotAvailable | ErrorKind::HostUnavailable
            )
        {
            CaptureError::NoDevice
        } else {
            CaptureError::Open {
                name: name.clone(),
                reason: e.to_string(),
            }
        }
    })?;
    let sample_rate = config.sample_rate();
    let channels = config.channels();
    let format = config.sample_format();
    let rb = HeapRb::<f32>::new(ring_capacity(sample_rate, channels, RING_SECONDS));
    let (producer, consumer) = rb.split();
    let shared = Arc::new(SourceShared::default());
    let stream_config: cpal::StreamConfig = config.into();
    let open_err = |e: cpal::Error| CaptureError::Open {
        name: name.clone(),
        reason: e.to_string(),
    };
    let stream = match format {
        SampleFormat::I8 => build::<i8>(&device, &stream_config, producer, &shared),
        SampleFormat::I16 => build::<i16>(&device, &stream_config, producer, &shared),
        SampleFormat::I32 => build::<i32>(&device, &stream_config, producer, &shared),
        SampleFormat::I64 => build::<i64>(&device, &stream_config, producer, &shared),
        SampleFormat::U8 => build::<u8>(&device, &stream_config, producer, &shared),
        SampleFormat::U16 => build::<u16>(&device, &stream_config, producer, &shared),
        SampleFormat::U32 => build::<u32>(&device, &stream_config, producer, &shared),
        SampleFormat::U64 => build::<u64>(&device, &stream_config, producer, &shared),
        SampleFormat::F32 => build::<f32>(&device, &stream_config, producer, &shared),
        SampleFormat::F64 => build::<f64>(&device, &stream_config, producer, &shared),
        SampleFormat::I24 => build::<cpal::I24>(&device, &stream_config, producer, &shared),
        SampleFormat::U24 => build::<cpal::U24>(&device, &stream_config, producer, &shared),
        other => {
            return Err(CaptureError::Open {
                name,
                reason: format!("unsupported sample format {other}"),
            });
        }
    }
    .map_err(open_err)?;
    stream.play().map_err(|e| CaptureError::Open {
        name: name.clone(),
        reason: e.to_string(),
    })?;
    let info = SourceInfo {
        kind: SourceKind::Microphone,
        name,
        sample_rate,
        channels,
        format: format.to_string(),
    };
    Ok((
        Feed {
            info,
            consumer,
            shared: shared.clone(),
        },
        SourceGuard::Capture {
            stream: Some(Box::new(stream)),
            shared,
        },
    ))
}

fn build<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    mut producer: ringbuf::HeapProd<f32>,
    shared: &Arc<SourceShared>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let data_shared = shared.clone();
    let err_shared = shared.clone();
    device.build_input_stream(
        *config,
        // The real-time path: convert and copy, count what does not fit. Nothing else.
        move |data: &[T], _: &cpal::InputCallbackInfo| {
            let pushed = producer.push_iter(data.iter().map(|s| s.to_sample::<f32>()));
            let dropped = data.len() - pushed;
            if dropped > 0 {
                data_shared
                    .dropped
                    .fetch_add(dropped as u64, Ordering::Relaxed);
            }
            data_shared
                .written
                .fetch_add(pushed as u64, Ordering::Relaxed);
        },
        move |err: cpal::Error| match err.kind() {
            // Recoverable: the stream keeps running.
            ErrorKind::Xrun | ErrorKind::RealtimeDenied | ErrorKind::DeviceChanged => {}
            _ => err_shared.fail(SourceFailure::DeviceLost(err.to_string())),
        },
        None,
    )
}
