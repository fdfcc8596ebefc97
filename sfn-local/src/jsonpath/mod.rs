//! JSONPath as Step Functions uses it: paths (`$.a[*].b`, `$..c`, filters), reference paths
//! (`$.a.b[0]`, for `ResultPath` and Choice variables), the context object (`$$.`), workflow
//! variables (`$name.field`), payload templates with `.$` keys, and intrinsic functions.
//!
//! `path` parses and selects paths (with their filters), `filter` holds the filters'
//! comparisons, `intrinsics` the `States.*` functions, `template` what a state does with them.

use serde_json::Value;

mod filter;
pub(crate) mod intrinsics;
mod path;
mod template;

pub(crate) use path::Path;
pub(crate) use template::{Expr, IoPath, ResultPath, Template};

/// What a path can start from.
pub(crate) struct Roots<'a> {
    /// `$`: the state's (effective) input.
    pub input: &'a Value,
    /// `$$`: the context object, built on demand (`true`: with `Execution.Input`).
    pub context: &'a dyn Fn(bool) -> Value,
    /// `$name`: workflow variables.
    pub vars: &'a dyn Fn(&str) -> Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::filter::*;
    use super::path::*;
    use super::template::*;
    use super::*;
    use serde_json::json;

    fn no_vars(_: &str) -> Option<Value> {
        None
    }

    fn sel(input: &Value, path: &str) -> Option<Value> {
        let ctx = |_: bool| json!({"Execution": {"Name": "x"}});
        let roots = Roots {
            input,
            context: &ctx,
            vars: &no_vars,
        };
        Path::parse(path).unwrap().select(&roots)
    }

    #[test]
    fn bracket_names_unescape_as_jayway_does() {
        let input = json!({"a'b": 1, "x\\y": 2, "q\"": 3, "n\nl": 4, "é": 5, "a',b": 6, "c": 7});
        assert_eq!(sel(&input, r"$['a\'b']"), Some(json!(1)));
        assert_eq!(sel(&input, r#"$["x\\y"]"#), Some(json!(2)));
        assert_eq!(sel(&input, r#"$["q\""]"#), Some(json!(3)));
        assert_eq!(sel(&input, r"$['n\nl']"), Some(json!(4)));
        assert_eq!(sel(&input, r"$['\u00e9']"), Some(json!(5)));
        assert_eq!(sel(&input, r"$['a\',b','c']"), Some(json!([6, 7])));
        // Malformed names are refused, never a panic.
        for bad in [
            r"$['a\']",
            r"$['\u12']",
            r"$['\uZZZZ']",
            r"$['a'b']",
            r"$['\u00e",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_select_what_they_name() {
        for text in [
            "$.a.b[-1]",
            "$$.Execution.Input",
            "$var.x",
            "$..p",
            "$.a[0:2]",
        ] {
            assert_eq!(Path::parse(text).unwrap().text(), text);
        }
        assert!(Path::parse("a.b").is_err());
        let input = json!({"a": {"b": [1, 2, 3]}});
        assert_eq!(sel(&input, "$.a.b[-1]"), Some(json!(3)));
        assert_eq!(sel(&input, "$.a.b[-4]"), None);
        assert_eq!(sel(&input, "$.a.b[3]"), None);
        assert_eq!(sel(&input, "$.a.x.y"), None);
    }

    #[test]
    fn selects_paths_like_the_service() {
        let input =
            json!({"a": {"b": [1, 2, {"c": "x"}]}, "items": [{"p": 1}, {"p": 5}], "k-y": 3});
        assert_eq!(sel(&input, "$"), Some(input.clone()));
        assert_eq!(sel(&input, "$.a.b[1]"), Some(json!(2)));
        assert_eq!(sel(&input, "$.a.b[-1].c"), Some(json!("x")));
        assert_eq!(sel(&input, "$['k-y']"), Some(json!(3)));
        assert_eq!(sel(&input, "$.items[*].p"), Some(json!([1, 5])));
        assert_eq!(sel(&input, "$..p"), Some(json!([1, 5])));
        assert_eq!(sel(&input, "$.items[?(@.p > 2)]"), Some(json!([{"p": 5}])));
        assert_eq!(sel(&input, "$.a.b[0:2]"), Some(json!([1, 2])));
        assert_eq!(sel(&input, "$.missing"), None);
        assert_eq!(sel(&input, "$$.Execution.Name"), Some(json!("x")));
    }

    #[test]
    fn filters_follow_jayway() {
        let input = json!({
            "items": [
                {"name": "pen", "price": 5, "stock": 10, "tags": ["office"]},
                {"name": "lamp", "price": 25, "stock": 0, "tags": ["home", "light"]},
                {"name": "desk", "price": 120, "stock": 2, "tags": []},
                {"name": "Chair", "price": 60, "stock": 4, "discount": null}
            ],
            "limit": 50,
            "wanted": ["pen", "desk"],
            "nums": [1, 2, 3, 4],
            "scalars": ["a", "b"]
        });
        let names = |path: &str| {
            sel(&input, path)
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names("$.items[?(@.price > 10 && @.stock > 0)]"),
            ["desk", "Chair"]
        );
        assert_eq!(
            names("$.items[?(@.price < 10 || @.price >= 120)]"),
            ["pen", "desk"]
        );
        assert_eq!(
            names("$.items[?((@.price > 10 || @.stock > 5) && !(@.name == 'desk'))]"),
            ["pen", "lamp", "Chair"]
        );
        assert_eq!(names("$.items[?(@.price > $.limit)]"), ["desk", "Chair"]);
        assert_eq!(names("$.items[?(@.name in $.wanted)]"), ["pen", "desk"]);
        assert_eq!(
            names("$.items[?(@.name nin ['pen', 'desk'])]"),
            ["lamp", "Chair"]
        );
        assert_eq!(names("$.items[?(@.name =~ /c.*/i)]"), ["Chair"]);
        assert_eq!(names("$.items[?(@.name =~ /.*e.*/)]"), ["pen", "desk"]);
        assert_eq!(names("$.items[?(@.tags.length() > 1)]"), ["lamp"]);
        assert_eq!(names("$.items[?(@.tags size 0)]"), ["desk"]);
        assert_eq!(names("$.items[?(@.tags empty false)]"), ["pen", "lamp"]);
        assert_eq!(names("$.items[?(@.tags contains 'home')]"), ["lamp"]);
        assert_eq!(names("$.items[?(@.tags anyof ['light', 'x'])]"), ["lamp"]);
        assert_eq!(names("$.items[?(@.discount)]"), ["Chair"]);
        assert_eq!(names("$.items[?(!@.discount)]"), ["pen", "lamp", "desk"]);
        // A missing field is undefined: `!=` is true, the other comparisons false.
        assert_eq!(
            names("$.items[?(@.discount != 1)]"),
            ["pen", "lamp", "desk", "Chair"]
        );
        assert_eq!(names("$.items[?(@.price == '25')]"), ["lamp"]);
        assert_eq!(
            names("$.items[?(@.name == \"a && b\")]"),
            Vec::<String>::new()
        );
        assert_eq!(names("$..[?(@.price > 100)]"), ["desk"]);
        // `@` only matches objects, as the service documents.
        assert_eq!(sel(&input, "$.scalars[?(@ == 'a')]"), Some(json!([])));
        assert_eq!(sel(&input, "$.items.length()"), Some(json!(4)));
        assert_eq!(sel(&input, "$.nums.sum()"), Some(json!(10.0)));
        assert_eq!(sel(&input, "$.nums.avg()"), Some(json!(2.5)));
        assert_eq!(sel(&input, "$.nums.max()"), Some(json!(4.0)));
        assert_eq!(sel(&input, "$..price.min()"), Some(json!(5.0)));
        assert_eq!(
            sel(&input, "$.items[*].tags.length()"),
            Some(json!([1, 2, 0]))
        );
        assert_eq!(sel(&input, "$.nums[0:2]"), Some(json!([1, 2])));
        assert_eq!(sel(&input, "$.nums[-2:]"), Some(json!([3, 4])));
        assert!(Path::parse("$.nums.length().x").is_err());
        assert!(Path::parse("$.items[?(@.a > )]").is_err());
    }

    #[test]
    fn result_path_merges_into_the_raw_input() {
        let input = json!({"a": 1});
        assert_eq!(
            Path::parse("$.a['b c'][0]").unwrap().normalized(),
            "$['a']['b c'][0]"
        );
        let r = |p: Option<Option<String>>| {
            ResultPath::compile(&p)
                .unwrap()
                .apply(&input, json!("r"))
                .unwrap()
        };
        assert_eq!(r(None), json!("r"));
        assert_eq!(r(Some(None)), json!({"a": 1}));
        assert_eq!(
            r(Some(Some("$.x.y".into()))),
            json!({"a": 1, "x": {"y": "r"}})
        );
        let into_string = ResultPath::compile(&Some(Some("$.x".into()))).unwrap();
        let err = into_string.apply(&json!("str"), json!(1));
        assert_eq!(err.unwrap_err().error, crate::errors::RUNTIME);
        // Not a reference path: refused when the machine is compiled.
        assert!(ResultPath::compile(&Some(Some("$.a[*]".into()))).is_err());
        assert!(ResultPath::compile(&Some(Some("$$.Execution".into()))).is_err());
    }

    #[test]
    fn templates_evaluate_dollar_keys_and_variables() {
        let input = json!({"title": "Doctor", "n": [1, 2]});
        let ctx = |_: bool| json!({});
        let vars = |name: &str| (name == "customerName").then(|| json!("María"));
        let roots = Roots {
            input: &input,
            context: &ctx,
            vars: &vars,
        };
        let template = |v: Value| Template::compile(&v).unwrap();
        let out = template(
            json!({"static": "Hello", "title.$": "$.title", "name.$": "$customerName",
                    "not-evaluated": "$customerName", "nested": [{"len.$": "States.ArrayLength($.n)"}]}),
        )
        .evaluate(&roots)
        .unwrap();
        assert_eq!(
            out,
            json!({"static": "Hello", "title": "Doctor", "name": "María",
                   "not-evaluated": "$customerName", "nested": [{"len": 2}]})
        );
        let missing = template(json!({"x.$": "$.nope"}))
            .evaluate(&roots)
            .unwrap_err();
        assert_eq!(missing.error, crate::errors::RUNTIME);
        // A malformed path or intrinsic is refused when compiled, naming its key.
        let bad = Template::compile(&json!({"a": {"x.$": "$.a[?(@.b >)]"}})).unwrap_err();
        assert_eq!(bad.0, "a.x.$");
        let bad = Template::compile(&json!({"x.$": "States.Nope(1)"})).unwrap_err();
        assert_eq!(bad.0, "x.$");
        assert!(bad.1.contains("not an intrinsic function"), "{}", bad.1);
    }

    #[test]
    fn filter_regexes_match_as_the_backtracking_engine_did_in_linear_time() {
        // Side by side with `regress` (JavaScript's reading, what the engine used before).
        let patterns = [
            ("a.*", ""),
            ("hello.*", "i"),
            ("\\d+", ""),
            ("[\\d-]+", ""),
            ("\\w+@\\w+\\.com", ""),
            ("\\W\\D", ""),
            (".*\\bword\\b.*", ""),
            ("(ab|cd){2,3}", ""),
            ("[^a-c]*", ""),
            ("colou?r", "i"),
            ("a\\/b", ""),
            ("line1.line2", "s"),
            ("\\s*x\\s*", ""),
        ];
        let texts = [
            "",
            "a",
            "abc",
            "Hello world",
            "123",
            "12-3",
            "٣",
            "bob@example.com",
            "é1",
            "!a",
            "a word here",
            "aworda",
            "abab",
            "cdcdcd",
            "xyz",
            "Colour",
            "color",
            "a/b",
            "line1\nline2",
            " x ",
            "\u{a0}x",
        ];
        for (pattern, flags) in patterns {
            let ours = FilterRegex::new(pattern, flags).unwrap();
            let theirs = regress::Regex::with_flags(&format!("^(?:{pattern})$"), flags).unwrap();
            for text in texts {
                assert_eq!(
                    ours.0.is_match(text),
                    theirs.find(text).is_some(),
                    "/{pattern}/{flags} on {text:?}"
                );
            }
        }
        // Catastrophic backtracking for a backtracking engine; at once here.
        let started = std::time::Instant::now();
        let nested = FilterRegex::new("(a+)+$", "").unwrap();
        assert!(!nested.0.is_match(&format!("{}!", "a".repeat(40))));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // What only a backtracking engine can do is refused by name.
        let err = FilterRegex::new("(a)\\1", "").unwrap_err();
        assert!(err.contains("backreferences and lookaround"), "{err}");
        assert!(FilterRegex::new("a(?=b)", "").is_err());
    }
}
