use super::*;

#[test]
fn every_emotion_has_its_own_colour_face_and_emoji() {
    for (i, a) in EMOTIONS.iter().enumerate() {
        for b in &EMOTIONS[i + 1..] {
            assert_ne!(colour(a), colour(b), "{a} and {b} share a colour");
            assert_ne!(
                ansi16(a),
                ansi16(b),
                "{a} and {b} share a 16-colour stand-in"
            );
            assert_ne!(emoji(a), emoji(b), "{a} and {b} share an emoji");
            assert_ne!(ascii_face(a), ascii_face(b), "{a} and {b} share a face");
        }
    }
    assert_eq!(
        (emoji("angry"), ascii_face("angry"), ansi16("angry")),
        ("😠", ">:(", Some(1))
    );
    assert_eq!(
        (emoji("bored"), ascii_face("bored"), ansi16("bored")),
        ("🙂", ":?", None)
    );
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
