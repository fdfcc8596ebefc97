//! A distributed Map's `ItemReader`: the items of an object (a JSON array, JSON Lines, CSV) or
//! of a listing, as the service reads them.
//!
//! The service's words where a recorded execution shows them (localstack's
//! `test_base_scenarios.snapshot.json`): a JSON file that is not an array is "Attempting to map
//! over non-iterable node.", duplicate CSV headers "CSV headers cannot contain duplicates.", and
//! CSV values are strings, a short row padded with `""`, a long one cut to the headers.

use serde_json::{Map, Value, json};

use crate::compile::Format;
use crate::errors::{self, Failure};
use crate::objects::ObjectSummary;

/// A reader failure: `States.ItemReaderFailed` with `cause`.
pub(super) fn failed(cause: impl Into<String>) -> Failure {
    Failure::new(errors::ITEM_READER_FAILED, cause)
}

/// The failure of a reader that found more items than the engine runs.
pub(super) fn too_many(limit: usize) -> Failure {
    failed(format!(
        "The Map Run has more than {limit} items, the most sfn-local runs in one Map Run \
         (sfn_local::limits::MAX_MAP_RUN_ITEMS); ReaderConfig.MaxItems reads fewer"
    ))
}

/// The items of an object's bytes, at most `max` of them (`max + 1` tells the caller there
/// were more): lines and rows past `max` are not parsed.
pub(super) fn parse(format: &Format, bytes: &[u8], max: usize) -> Result<Vec<Value>, Failure> {
    match format {
        Format::Json => json_array(bytes, max),
        Format::JsonLines => {
            let text = utf8(bytes)?;
            let mut items = Vec::new();
            for (n, line) in text.lines().enumerate() {
                if items.len() >= max {
                    break;
                }
                if line.trim().is_empty() {
                    continue;
                }
                items.push(serde_json::from_str(line).map_err(|e| {
                    failed(format!(
                        "Line {} of the ItemReader's JSON Lines file does not parse: {e}",
                        n + 1
                    ))
                })?);
            }
            Ok(items)
        }
        Format::Csv { headers, delimiter } => {
            csv(utf8(bytes)?, headers.as_deref(), *delimiter, max)
        }
        Format::Unread(_) => readable(format).map(|()| Vec::new()),
    }
}

/// Fails for a format sfn-local does not read (a manifest, Parquet): checked before the
/// object is fetched, so such a reader never downloads it.
pub(super) fn readable(format: &Format) -> Result<(), Failure> {
    match format {
        Format::Unread(what) => Err(failed(format!("sfn-local does not read {what}"))),
        _ => Ok(()),
    }
}

/// The first `max` elements of a JSON array, read one by one: the elements past `max` are
/// never built, so a file of millions of small items costs `max` items of memory. Anything but
/// an array is the service's "non-iterable node" (checked without building it).
fn json_array(bytes: &[u8], max: usize) -> Result<Vec<Value>, Failure> {
    use serde::Deserializer as _;
    // A byte order mark is skipped, as in JSON Lines and CSV files.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let parse_error =
        |e: serde_json::Error| failed(format!("The ItemReader's JSON file does not parse: {e}"));
    let starts_an_array = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'[');
    if !starts_an_array {
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(parse_error)?;
        return Err(failed("Attempting to map over non-iterable node."));
    }
    let mut items = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let read = deserializer.deserialize_seq(FirstElements {
        items: &mut items,
        max,
    });
    match read {
        // Stopped at `max`: the rest of the file is not read (serde_json then finds no `]`).
        Err(_) if items.len() >= max => Ok(items),
        Err(e) => Err(parse_error(e)),
        Ok(()) => {
            deserializer.end().map_err(parse_error)?;
            Ok(items)
        }
    }
}

/// Collects up to `max` elements of a JSON array.
struct FirstElements<'a> {
    items: &'a mut Vec<Value>,
    max: usize,
}

impl<'de> serde::de::Visitor<'de> for FirstElements<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while self.items.len() < self.max {
            match seq.next_element()? {
                Some(item) => self.items.push(item),
                None => return Ok(()),
            }
        }
        Ok(())
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, Failure> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| failed(format!("The ItemReader's file is not UTF-8: {e}")))?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// CSV rows as objects of strings, keyed by the given headers or the first row's.
fn csv(
    text: &str,
    given: Option<&[String]>,
    delimiter: u8,
    max: usize,
) -> Result<Vec<Value>, Failure> {
    let mut rows = Rows {
        text: text.as_bytes(),
        at: 0,
        delimiter,
    };
    let headers: Vec<String> = match given {
        Some(h) => h.to_vec(),
        // One field more than the limit is kept, to tell a row over it.
        None => match rows.next_row(MAX_CSV_HEADERS + 1) {
            Some(row) => row?,
            None => return Ok(Vec::new()),
        },
    };
    if headers.len() > MAX_CSV_HEADERS {
        return Err(failed(format!(
            "The CSV header row has more than {MAX_CSV_HEADERS} fields, the local engine's limit"
        )));
    }
    let mut seen = std::collections::HashSet::new();
    if !headers.iter().all(|h| seen.insert(h.as_str())) {
        return Err(failed("CSV headers cannot contain duplicates."));
    }
    let header_bytes: usize = headers.iter().map(|h| h.len() + CELL_OVERHEAD).sum();
    let mut built = 0usize;
    let mut items = Vec::new();
    while items.len() < max {
        // A row's fields past the headers are cut: they are not kept while it is read either.
        let Some(row) = rows.next_row(headers.len().max(1)) else {
            break;
        };
        let row = row?;
        // Every row repeats every header: bound what they add up to, not only the file.
        built = built
            .saturating_add(header_bytes)
            .saturating_add(row.iter().map(String::len).sum());
        if built > crate::limits::MAX_CSV_ITEMS_BYTES {
            return Err(failed(format!(
                "The CSV rows' headers and values take more than {} bytes, the local engine's limit ({} headers a row)",
                crate::limits::MAX_CSV_ITEMS_BYTES,
                headers.len()
            )));
        }
        let mut object = Map::new();
        for (i, header) in headers.iter().enumerate() {
            let value = row.get(i).cloned().unwrap_or_default();
            object.insert(header.clone(), Value::String(value));
        }
        items.push(Value::Object(object));
    }
    Ok(items)
}

/// A cell's memory beyond its text: the key's and value's allocations and the map entry.
const CELL_OVERHEAD: usize = 64;

/// The most fields a CSV header row may have: as many cells as the rows' memory limit holds
/// (a row of commas is that many empty fields, each an allocation).
const MAX_CSV_HEADERS: usize = crate::limits::MAX_CSV_ITEMS_BYTES / CELL_OVERHEAD;

/// A CSV reader (RFC 4180: quoted fields, `""` for a quote, CRLF or LF), row by row.
struct Rows<'t> {
    text: &'t [u8],
    at: usize,
    delimiter: u8,
}

impl Rows<'_> {
    /// The next non-empty row's first `keep` fields (`keep` at least one: the others are read
    /// past, not kept); `None` at the end.
    fn next_row(&mut self, keep: usize) -> Option<Result<Vec<String>, Failure>> {
        loop {
            if self.at >= self.text.len() {
                return None;
            }
            let start = self.at;
            let row = self.row(keep);
            // An empty line holds no row (the fields kept cannot tell: `,x` keeps one, empty).
            if row.is_ok()
                && self.text[start..self.at]
                    .iter()
                    .all(|&b| b == b'\n' || b == b'\r')
            {
                continue;
            }
            return Some(row);
        }
    }

    fn row(&mut self, keep: usize) -> Result<Vec<String>, Failure> {
        let mut fields = Vec::new();
        let mut field = Vec::new();
        let mut quoted = false;
        let text = self.text;
        while self.at < text.len() {
            let c = text[self.at];
            self.at += 1;
            if quoted {
                if c == b'"' {
                    if text.get(self.at) == Some(&b'"') {
                        field.push(b'"');
                        self.at += 1;
                    } else {
                        quoted = false;
                    }
                } else {
                    field.push(c);
                }
            } else if c == b'"' && field.is_empty() {
                quoted = true;
            } else if c == self.delimiter {
                if fields.len() < keep {
                    fields.push(String::from_utf8_lossy(&field).into_owned());
                }
                field.clear();
            } else if c == b'\n' {
                break;
            } else if c == b'\r' {
                // CRLF, or a lone CR (old Mac files), ends the row as LF does.
                if text.get(self.at) == Some(&b'\n') {
                    self.at += 1;
                }
                break;
            } else {
                field.push(c);
            }
        }
        if quoted {
            return Err(failed("The CSV file has a quoted field that does not end"));
        }
        if fields.len() < keep {
            fields.push(String::from_utf8_lossy(&field).into_owned());
        }
        Ok(fields)
    }
}

/// A `listObjectsV2` item, as the service gives it.
pub(super) fn listed(object: ObjectSummary) -> Value {
    json!({
        "Etag": object.etag,
        "Key": object.key,
        "LastModified": object.last_modified,
        "Size": object.size,
        "StorageClass": object.storage_class,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_first_row(text: &str) -> Vec<Value> {
        parse(
            &Format::Csv {
                headers: None,
                delimiter: b',',
            },
            text.as_bytes(),
            usize::MAX,
        )
        .unwrap()
    }

    #[test]
    fn csv_fields_past_the_headers_are_not_kept_and_a_header_row_is_bounded() {
        // A million empty fields past the two headers: read past, not kept.
        let text = format!("A,B\n1,2{}\n", ",".repeat(1_000_000));
        assert_eq!(csv_first_row(&text), vec![json!({"A": "1", "B": "2"})]);
        let commas = ",".repeat(MAX_CSV_HEADERS);
        let format = Format::Csv {
            headers: None,
            delimiter: b',',
        };
        let error = parse(&format, commas.as_bytes(), usize::MAX).expect_err("too many headers");
        assert!(format!("{error:?}").contains("more than"), "{error:?}");
    }

    #[test]
    fn csv_rows_are_padded_cut_and_quoted() {
        let items = csv_first_row("A,B\n1,\"x, \"\"y\"\"\"\n2\n3,4,5\r\n\n");
        assert_eq!(
            items,
            vec![
                json!({"A": "1", "B": "x, \"y\""}),
                json!({"A": "2", "B": ""}),
                json!({"A": "3", "B": "4"}),
            ]
        );
    }

    #[test]
    fn json_lines_and_limits() {
        let items = parse(
            &Format::JsonLines,
            b"{\"q\":1}\n\n{\"q\":2}\n{\"q\":3}\n",
            2,
        )
        .unwrap();
        assert_eq!(items, vec![json!({"q": 1}), json!({"q": 2})]);
        let bad = parse(&Format::JsonLines, b"{\"q\":1}\n{oops\n", 10).unwrap_err();
        assert_eq!(bad.error, errors::ITEM_READER_FAILED);
        assert!(bad.cause.starts_with("Line 2 "), "{}", bad.cause);
        let object = parse(&Format::Json, b"{\"a\":1}", 10).unwrap_err();
        assert_eq!(object.cause, "Attempting to map over non-iterable node.");
        let first = parse(&Format::Json, b" [1, [2], {\"a\": 3}, 4, 5]", 3).unwrap();
        assert_eq!(first, vec![json!(1), json!([2]), json!({"a": 3})]);
        let all = parse(&Format::Json, b"[1, 2]", 3).unwrap();
        assert_eq!(all, vec![json!(1), json!(2)]);
        let broken = parse(&Format::Json, b"[1, 2", 3).unwrap_err();
        assert!(broken.cause.contains("does not parse"), "{}", broken.cause);
        let trailing = parse(&Format::Json, b"[1] x", 3).unwrap_err();
        assert!(
            trailing.cause.contains("does not parse"),
            "{}",
            trailing.cause
        );
    }

    #[test]
    fn a_byte_order_mark_and_lone_carriage_returns_are_read() {
        assert_eq!(
            csv_first_row("A,B\r1,2\r3,4\r"),
            vec![json!({"A": "1", "B": "2"}), json!({"A": "3", "B": "4"})]
        );
        assert_eq!(csv_first_row("\u{feff}A\r\n1\r\n"), vec![json!({"A": "1"})]);
        let json = parse(&Format::Json, b"\xEF\xBB\xBF[1, 2]", 10).unwrap();
        assert_eq!(json, vec![json!(1), json!(2)]);
        let lines = parse(&Format::JsonLines, b"\xEF\xBB\xBF{\"q\":1}\n", 10).unwrap();
        assert_eq!(lines, vec![json!({"q": 1})]);
    }

    #[test]
    fn an_unterminated_quote_is_a_named_error() {
        let e = parse(
            &Format::Csv {
                headers: Some(vec!["A".into()]),
                delimiter: b',',
            },
            b"\"never ends",
            10,
        )
        .unwrap_err();
        assert_eq!(e.error, errors::ITEM_READER_FAILED);
    }
}
