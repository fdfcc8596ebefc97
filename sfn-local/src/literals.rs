//! An expression's text outside its string literals: what the pre-scans that bound recursion
//! (JSONata nesting, JSONPath filter terms) and the `$formatNumber` guard look at.

/// The characters of `text` outside its string literals, with their byte offsets. A literal
/// opens and closes with one of `quotes`, which are not given; inside one, `\` escapes the next
/// character.
pub(crate) fn outside_literals<'a>(
    text: &'a str,
    quotes: &'a [char],
) -> impl Iterator<Item = (usize, char)> + 'a {
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices();
    std::iter::from_fn(move || {
        loop {
            let (i, c) = chars.next()?;
            match quote {
                Some(_) if c == '\\' => {
                    chars.next();
                }
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if quotes.contains(&c) => quote = Some(c),
                None => return Some((i, c)),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_their_escapes_are_skipped() {
        let seen: String = outside_literals(r#"a("x\")",'(')b"#, &['"', '\''])
            .map(|(_, c)| c)
            .collect();
        assert_eq!(seen, "a(,)b");
        let offsets: Vec<usize> = outside_literals("é(", &['"']).map(|(i, _)| i).collect();
        assert_eq!(offsets, vec![0, 2]);
    }
}
