//! Colours and symbols, degraded to what the terminal can show.
//!
//! Over SSH the terminal usually says `TERM=xterm` or `xterm-256color` and no
//! `COLORTERM`, so 24-bit colours would come out as garbage or as the nearest of 16.
//! Every colour the monitor uses is therefore defined once as RGB and converted here
//! to the depth actually available: true colour, the xterm 256-colour palette, or
//! the 16 ANSI colours (for which hand-picked ramps read better than a nearest match).

use ratatui::style::Color;

/// How many colours the monitor may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Colours {
    /// Decide from `COLORTERM` and `TERM`.
    Auto,
    TrueColor,
    #[serde(rename = "256")]
    Ansi256,
    #[serde(rename = "16")]
    Ansi16,
}

impl Colours {
    pub fn name(self) -> &'static str {
        match self {
            Colours::Auto => "auto",
            Colours::TrueColor => "truecolor",
            Colours::Ansi256 => "256",
            Colours::Ansi16 => "16",
        }
    }
}

/// How many colours the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorDepth {
    TrueColor,
    Ansi256,
    Ansi16,
}

impl ColorDepth {
    /// Picks the depth from the configuration, else from `COLORTERM` and `TERM`.
    pub fn detect(setting: Colours, colorterm: Option<&str>, term: Option<&str>) -> ColorDepth {
        match setting {
            Colours::TrueColor => ColorDepth::TrueColor,
            Colours::Ansi256 => ColorDepth::Ansi256,
            Colours::Ansi16 => ColorDepth::Ansi16,
            Colours::Auto => {
                let ct = colorterm.unwrap_or("").to_ascii_lowercase();
                let term = term.unwrap_or("").to_ascii_lowercase();
                if ct == "truecolor" || ct == "24bit" || term.ends_with("-direct") {
                    ColorDepth::TrueColor
                } else if term.contains("256") {
                    ColorDepth::Ansi256
                } else {
                    ColorDepth::Ansi16
                }
            }
        }
    }

    /// From the process environment.
    pub fn from_env(setting: Colours) -> ColorDepth {
        let ct = std::env::var("COLORTERM").ok();
        let term = std::env::var("TERM").ok();
        ColorDepth::detect(setting, ct.as_deref(), term.as_deref())
    }

    pub fn name(self) -> &'static str {
        match self {
            ColorDepth::TrueColor => "truecolor",
            ColorDepth::Ansi256 => "256",
            ColorDepth::Ansi16 => "16",
        }
    }
}

/// An RGB colour, converted on use.
pub use crate::emotion::Rgb;

/// One of the 16 basic terminal colours by its ANSI number (0–15), as a named colour:
/// a 16-colour terminal understands these, not an indexed colour.
fn ansi16(n: u8) -> Color {
    const BASIC: [Color; 16] = [
        Color::Black,
        Color::Red,
        Color::Green,
        Color::Yellow,
        Color::Blue,
        Color::Magenta,
        Color::Cyan,
        Color::Gray,
        Color::DarkGray,
        Color::LightRed,
        Color::LightGreen,
        Color::LightYellow,
        Color::LightBlue,
        Color::LightMagenta,
        Color::LightCyan,
        Color::White,
    ];
    BASIC[usize::from(n & 15)]
}

/// Stops of the spectrogram's colour map (inferno: dark purple through red to pale
/// yellow), perceptually even so loudness reads as brightness.
const INFERNO: [Rgb; 9] = [
    (0, 0, 4),
    (31, 12, 72),
    (85, 15, 109),
    (136, 34, 106),
    (186, 54, 85),
    (227, 89, 51),
    (249, 140, 10),
    (249, 201, 50),
    (252, 255, 164),
];

/// The same map in 16 colours: a ramp a 16-colour terminal shows in order of
/// brightness.
const INFERNO_16: [Color; 7] = [
    Color::Black,
    Color::Blue,
    Color::Magenta,
    Color::Red,
    Color::LightRed,
    Color::Yellow,
    Color::LightYellow,
];

/// What the monitor draws with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub depth: ColorDepth,
    /// Block and box-drawing characters may be used (a UTF-8 terminal).
    pub unicode: bool,
}

impl Theme {
    pub fn new(depth: ColorDepth, unicode: bool) -> Theme {
        Theme { depth, unicode }
    }

    /// Converts an RGB colour to the terminal's depth; `ansi` is the 16-colour choice.
    pub fn rgb(&self, rgb: Rgb, ansi: Color) -> Color {
        match self.depth {
            ColorDepth::TrueColor => Color::Rgb(rgb.0, rgb.1, rgb.2),
            ColorDepth::Ansi256 => Color::Indexed(to_xterm256(rgb)),
            ColorDepth::Ansi16 => ansi,
        }
    }

    /// The colour of an emotion label (unknown labels are grey).
    pub fn emotion(&self, label: &str) -> Color {
        match (crate::emotion::colour(label), crate::emotion::ansi16(label)) {
            (Some(rgb), Some(n)) => self.rgb(rgb, ansi16(n)),
            _ => self.rgb((150, 150, 150), Color::Gray),
        }
    }

    /// The spectrogram colour of `x` in 0..=1 (quiet to loud).
    pub fn heat(&self, x: f32) -> Color {
        let x = if x.is_finite() {
            x.clamp(0.0, 1.0)
        } else {
            0.0
        };
        match self.depth {
            ColorDepth::Ansi16 => {
                let i = (x * (INFERNO_16.len() - 1) as f32).round() as usize;
                INFERNO_16[i.min(INFERNO_16.len() - 1)]
            }
            _ => {
                let pos = x * (INFERNO.len() - 1) as f32;
                let i = (pos.floor() as usize).min(INFERNO.len() - 2);
                let f = pos - i as f32;
                let (a, b) = (INFERNO[i], INFERNO[i + 1]);
                let mix =
                    |p: u8, q: u8| (f32::from(p) + (f32::from(q) - f32::from(p)) * f).round() as u8;
                self.rgb((mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2)), Color::Reset)
            }
        }
    }

    /// Text that is there but not important (axes, hints, no-speech).
    pub fn dim(&self) -> Color {
        self.rgb((120, 120, 120), Color::DarkGray)
    }

    /// Warnings.
    pub fn warn(&self) -> Color {
        self.rgb((255, 175, 0), Color::Yellow)
    }

    /// Errors, clipping and the recording mark.
    pub fn alert(&self) -> Color {
        self.rgb((235, 60, 50), Color::LightRed)
    }

    /// Good news (speech, recovered).
    pub fn ok(&self) -> Color {
        self.rgb((90, 200, 90), Color::Green)
    }

    /// Panel borders and titles.
    pub fn accent(&self) -> Color {
        self.rgb((110, 160, 230), Color::LightBlue)
    }
}

/// The nearest entry of the xterm 256-colour palette: the 6×6×6 cube or the grey ramp.
pub fn to_xterm256((r, g, b): Rgb) -> u8 {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let nearest = |v: u8| {
        LEVELS
            .iter()
            .enumerate()
            .min_by_key(|(_, l)| (i32::from(**l) - i32::from(v)).abs())
            .map_or(0, |(i, _)| i)
    };
    let (ri, gi, bi) = (nearest(r), nearest(g), nearest(b));
    let cube = (LEVELS[ri], LEVELS[gi], LEVELS[bi]);
    let dist = |c: Rgb| {
        let d = |p: u8, q: u8| (i32::from(p) - i32::from(q)).pow(2);
        d(c.0, r) + d(c.1, g) + d(c.2, b)
    };
    // Grey ramp 232..=255: 8, 18, …, 238.
    let mean = (u32::from(r) + u32::from(g) + u32::from(b)) / 3;
    let gi_ramp = ((mean.saturating_sub(8) + 5) / 10).min(23) as u8;
    let grey = 8 + 10 * gi_ramp;
    if dist((grey, grey, grey)) < dist(cube) {
        232 + gi_ramp
    } else {
        16 + 36 * ri as u8 + 6 * gi as u8 + bi as u8
    }
}

/// Whether the locale promises UTF-8 (`LC_ALL`, then `LC_CTYPE`, then `LANG`).
pub fn locale_is_utf8(lc_all: Option<&str>, lc_ctype: Option<&str>, lang: Option<&str>) -> bool {
    let v = [lc_all, lc_ctype, lang]
        .into_iter()
        .flatten()
        .find(|v| !v.is_empty())
        .unwrap_or("");
    let v = v.to_ascii_lowercase();
    // No locale at all: modern systems and terminals default to UTF-8.
    v.is_empty() || v.contains("utf-8") || v.contains("utf8")
}

/// Whether emoji are likely to be drawn (and drawn two cells wide): a UTF-8 locale and
/// not the Linux console, whose font has none.
pub fn emoji_likely(unicode: bool, term: Option<&str>) -> bool {
    unicode && term != Some("linux") && term != Some("vt100") && term != Some("dumb")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_follows_colorterm_then_term_and_the_setting_wins() {
        let d = |ct: Option<&str>, t: Option<&str>| ColorDepth::detect(Colours::Auto, ct, t);
        assert_eq!(d(Some("truecolor"), Some("xterm")), ColorDepth::TrueColor);
        assert_eq!(d(Some("24bit"), None), ColorDepth::TrueColor);
        assert_eq!(d(None, Some("xterm-256color")), ColorDepth::Ansi256);
        assert_eq!(d(None, Some("tmux-256color")), ColorDepth::Ansi256);
        // Plain xterm over SSH: 16 colours.
        assert_eq!(d(None, Some("xterm")), ColorDepth::Ansi16);
        assert_eq!(d(None, None), ColorDepth::Ansi16);
        assert_eq!(
            ColorDepth::detect(Colours::Ansi256, Some("truecolor"), None),
            ColorDepth::Ansi256
        );
    }

    #[test]
    fn colours_degrade_to_the_depth() {
        let t = Theme::new(ColorDepth::TrueColor, true);
        assert_eq!(t.emotion("angry"), Color::Rgb(230, 50, 40));
        let t = Theme::new(ColorDepth::Ansi256, true);
        assert!(matches!(t.emotion("angry"), Color::Indexed(_)));
        assert!(matches!(t.heat(0.5), Color::Indexed(_)));
        let t = Theme::new(ColorDepth::Ansi16, true);
        assert_eq!(t.emotion("angry"), Color::Red);
        assert_eq!(t.heat(0.0), Color::Black);
        assert_eq!(t.heat(1.0), Color::LightYellow);
        assert_eq!(t.heat(f32::NAN), Color::Black);
    }

    #[test]
    fn xterm256_picks_cube_and_grey_entries() {
        assert_eq!(to_xterm256((0, 0, 0)), 16);
        assert_eq!(to_xterm256((255, 255, 255)), 231);
        assert_eq!(to_xterm256((255, 0, 0)), 196);
        // A mid grey is better served by the grey ramp than by the cube.
        let g = to_xterm256((128, 128, 128));
        assert!((232..=255).contains(&g), "{g}");
    }

    #[test]
    fn locale_and_emoji_guesses() {
        assert!(locale_is_utf8(None, None, Some("en_US.UTF-8")));
        assert!(!locale_is_utf8(Some("C"), None, Some("en_US.UTF-8")));
        assert!(!locale_is_utf8(None, None, Some("POSIX")));
        assert!(emoji_likely(true, Some("xterm")));
        assert!(!emoji_likely(true, Some("linux")));
        assert!(!emoji_likely(false, Some("xterm")));
    }
}
