use super::*;

#[test]
fn every_emotion_has_its_own_colour() {
    for (i, (a, ca)) in COLOURS.iter().enumerate() {
        assert_eq!(*a, EMOTIONS[i], "the labels' order");
        for (b, cb) in &COLOURS[i + 1..] {
            assert_ne!(ca, cb, "{a} and {b} share a colour");
        }
    }
    assert_eq!(label_colour("happy", 5), (250, 200, 40));
    assert_ne!(label_colour("bored", 0), label_colour("tired", 1));
}

#[test]
fn labels_are_typed_by_name_in_any_case_or_by_number() {
    assert_eq!(parse("Angry"), Some("angry"));
    assert_eq!(parse(" 1 "), Some("neutral"));
    assert_eq!(parse("8"), Some("surprised"));
    assert_eq!(parse("9"), None);
    assert_eq!(parse("bored"), None);
    assert_eq!(index("disgust"), Some(6));
}
