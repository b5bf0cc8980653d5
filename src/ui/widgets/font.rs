//! A 3×5 pixel capital-letter font, drawn with half blocks in three rows.
//!
//! The current emotion has to be readable from across the room, at 80×24 where the
//! probability panel has about 11 rows for the name and all eight bars. Three rows of
//! half blocks give five pixel rows, enough for legible capitals, at four columns per
//! letter ("SURPRISED" takes 36).

/// Each glyph: five rows of three pixels, `#` set.
fn glyph(c: char) -> [&'static str; 5] {
    match c.to_ascii_uppercase() {
        'A' => [".#.", "#.#", "###", "#.#", "#.#"],
        'B' => ["##.", "#.#", "##.", "#.#", "##."],
        'C' => [".##", "#..", "#..", "#..", ".##"],
        'D' => ["##.", "#.#", "#.#", "#.#", "##."],
        'E' => ["###", "#..", "##.", "#..", "###"],
        'F' => ["###", "#..", "##.", "#..", "#.."],
        'G' => [".##", "#..", "#.#", "#.#", ".##"],
        'H' => ["#.#", "#.#", "###", "#.#", "#.#"],
        'I' => ["###", ".#.", ".#.", ".#.", "###"],
        'J' => ["..#", "..#", "..#", "#.#", ".#."],
        'K' => ["#.#", "#.#", "##.", "#.#", "#.#"],
        'L' => ["#..", "#..", "#..", "#..", "###"],
        'M' => ["#.#", "###", "###", "#.#", "#.#"],
        'N' => ["##.", "#.#", "#.#", "#.#", "#.#"],
        'O' => [".#.", "#.#", "#.#", "#.#", ".#."],
        'P' => ["##.", "#.#", "##.", "#..", "#.."],
        'Q' => [".#.", "#.#", "#.#", "##.", ".##"],
        'R' => ["##.", "#.#", "##.", "#.#", "#.#"],
        'S' => [".##", "#..", ".#.", "..#", "##."],
        'T' => ["###", ".#.", ".#.", ".#.", ".#."],
        'U' => ["#.#", "#.#", "#.#", "#.#", "###"],
        'V' => ["#.#", "#.#", "#.#", "#.#", ".#."],
        'W' => ["#.#", "#.#", "###", "###", "#.#"],
        'X' => ["#.#", "#.#", ".#.", "#.#", "#.#"],
        'Y' => ["#.#", "#.#", ".#.", ".#.", ".#."],
        'Z' => ["###", "..#", ".#.", "#..", "###"],
        '0' => ["###", "#.#", "#.#", "#.#", "###"],
        '1' => [".#.", "##.", ".#.", ".#.", "###"],
        '2' => ["##.", "..#", ".#.", "#..", "###"],
        '3' => ["##.", "..#", ".#.", "..#", "##."],
        '4' => ["#.#", "#.#", "###", "..#", "..#"],
        '5' => ["###", "#..", "##.", "..#", "##."],
        '6' => [".##", "#..", "###", "#.#", "###"],
        '7' => ["###", "..#", ".#.", ".#.", ".#."],
        '8' => ["###", "#.#", "###", "#.#", "###"],
        '9' => ["###", "#.#", "###", "..#", "##."],
        '-' => ["...", "...", "###", "...", "..."],
        _ => ["...", "...", "...", "...", "..."],
    }
}

/// Columns `text` takes in the big font.
pub fn width(text: &str) -> usize {
    let n = text.chars().count();
    if n == 0 { 0 } else { n * 4 - 1 }
}

/// The three text rows of `text` in the big font.
pub fn render(text: &str) -> [String; 3] {
    let mut rows = [String::new(), String::new(), String::new()];
    for (i, c) in text.chars().enumerate() {
        let g = glyph(c);
        // Pixel rows 0..5 plus a blank sixth, two per text row.
        let px = |r: usize, col: usize| r < 5 && g[r].as_bytes()[col] == b'#';
        for (row, out) in rows.iter_mut().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            for col in 0..3 {
                out.push(match (px(2 * row, col), px(2 * row + 1, col)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_are_three_rows_and_four_columns_each() {
        let rows = render("Angry");
        assert_eq!(width("Angry"), 19);
        for r in &rows {
            assert_eq!(r.chars().count(), 19);
        }
        // "A": .#. / #.# / ### / #.# / #.# → ▄▀▄ / █▀█ / ▀ ▀
        assert!(rows[0].starts_with("▄▀▄"), "{rows:?}");
        assert!(rows[1].starts_with("█▀█"), "{rows:?}");
        assert!(rows[2].starts_with("▀ ▀"), "{rows:?}");
    }
}
