//! The emotions' colours, in one place so a report looks like the screen: the monitor
//! ([`crate::ui::theme`]) converts them to the terminal's colour depth and the SVG
//! export ([`crate::session::svg`]) writes them as they are.

/// An RGB colour.
pub type Rgb = (u8, u8, u8);

/// The eight emotions' colours, in the corpus order (neutral, calm, happy, sad, angry,
/// fearful, disgust, surprised): distinct hues, with low-arousal emotions cool and
/// high-arousal ones warm.
pub const EMOTIONS: [(&str, Rgb); 8] = [
    ("neutral", (170, 170, 170)),
    ("calm", (80, 170, 220)),
    ("happy", (250, 200, 40)),
    ("sad", (70, 100, 220)),
    ("angry", (230, 50, 40)),
    ("fearful", (160, 80, 200)),
    ("disgust", (90, 180, 60)),
    ("surprised", (255, 130, 40)),
];

/// Colours for the labels of a model with classes of its own, taken in turn.
const OTHERS: [Rgb; 6] = [
    (200, 120, 180),
    (110, 200, 230),
    (230, 230, 120),
    (130, 130, 240),
    (140, 220, 140),
    (220, 220, 220),
];

/// The colour of one of the eight emotions, `None` for any other label.
pub fn emotion(label: &str) -> Option<Rgb> {
    EMOTIONS.iter().find(|(l, _)| *l == label).map(|(_, c)| *c)
}

/// The colour of the `index`-th label of a model: its emotion colour, or one of a
/// few distinct others for labels that are not among the eight.
pub fn label(label: &str, index: usize) -> Rgb {
    emotion(label).unwrap_or(OTHERS[index % OTHERS.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_emotion_has_its_own_colour() {
        for (i, (a, ca)) in EMOTIONS.iter().enumerate() {
            assert_eq!(*a, crate::corpus::EMOTIONS[i], "corpus order");
            for (b, cb) in &EMOTIONS[i + 1..] {
                assert_ne!(ca, cb, "{a} and {b} share a colour");
            }
        }
        assert_eq!(label("happy", 5), (250, 200, 40));
        assert_ne!(label("bored", 0), label("tired", 1));
    }
}
