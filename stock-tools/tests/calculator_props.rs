//! The calculator under property tests: any string gives a value or an error, never a panic,
//! quickly, and within the bounds.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use stock_tools::tools::calculate::{CalcError, MAX_LENGTH, MAX_MAGNITUDE, evaluate};

fn check(expression: &str) {
    let started = Instant::now();
    let outcome = evaluate(expression);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{expression:?} took {:?}",
        started.elapsed()
    );
    match outcome {
        Ok(value) => {
            assert!(value.is_finite(), "{expression:?} → {value}");
            assert!(value.abs() <= MAX_MAGNITUDE, "{expression:?} → {value}");
            assert!(expression.trim().chars().count() <= MAX_LENGTH);
        }
        Err(CalcError::TooLong(n)) => assert!(n > MAX_LENGTH),
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

/// Strings made of the calculator's own vocabulary, so many of them parse.
fn arithmetic() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        "[0-9]{1,4}(\\.[0-9]{1,3})?",
        Just("pi".to_string()),
        Just("e".to_string()),
        Just("1e300".to_string()),
        Just("0".to_string()),
        "(sqrt|ln|log|sin|cos|tan|asin|acos|exp|abs|floor)",
        "[-+*/^%()]",
        Just(" of ".to_string()),
        Just("**".to_string()),
        Just("×".to_string()),
        Just("√".to_string()),
        Just(",".to_string()),
    ];
    prop::collection::vec(atom, 0..60).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn any_string_is_a_value_or_an_error(expression in any::<String>()) {
        check(&expression);
    }

    #[test]
    fn any_arithmetic_like_string_is_a_value_or_an_error(expression in arithmetic()) {
        check(&expression);
    }

    #[test]
    fn long_strings_are_refused_by_length(expression in "[0-9+*/()-]{501,2000}") {
        prop_assert!(matches!(evaluate(&expression), Err(CalcError::TooLong(_))));
    }
}
