//! `calculate`: arithmetic the model hands over, evaluated by the `exmex` expression library
//! after a small front end that bounds the input and reads percentages, thousands separators
//! and common spellings (`×`, `÷`, `**`, `π`, `√`).
//!
//! Bounded: the expression's length and parenthesis depth are checked before anything is
//! parsed, and the result must be finite and at most [`MAX_MAGNITUDE`] in size.

use std::cell::Cell;

use exmex::prelude::*;
use exmex::{BinOp, MakeOperators, Operator};
use serde::Serialize;

use sfn_agent_tool::{Tool, ToolError};

use crate::specs::calculate as spec;
pub use crate::specs::calculate::CalculateInput;
use sfn_agent_tool::validation::echo;

/// The longest expression accepted, in characters.
pub const MAX_LENGTH: usize = 500;
/// The deepest parenthesis nesting accepted.
pub const MAX_DEPTH: usize = 20;
/// The deepest nesting of parentheses, powers and negations together.
const MAX_NESTING: usize = 2 * MAX_DEPTH;
/// The largest result accepted, in absolute value.
pub const MAX_MAGNITUDE: f64 = 1e300;

/// Evaluates arithmetic expressions.
#[derive(Debug, Clone, Copy, Default)]
pub struct Calculate;

/// The value of an expression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calculation {
    /// The expression as given.
    pub expression: String,
    /// Its value, rounded to 15 significant digits.
    pub result: f64,
}

/// Why an expression has no value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalcError {
    /// Nothing to evaluate.
    #[error("the expression is empty")]
    Empty,
    /// Longer than [`MAX_LENGTH`].
    #[error(
        "the expression is {0} characters long; the limit is {MAX_LENGTH}: split the calculation into steps"
    )]
    TooLong(usize),
    /// Nested deeper than [`MAX_DEPTH`].
    #[error(
        "parentheses (or chains of powers and signs) are nested more than {MAX_DEPTH} deep: split the calculation into steps"
    )]
    TooDeep,
    /// A `)` without its `(`, or the other way round.
    #[error("the parentheses do not match: {0}")]
    Unbalanced(&'static str),
    /// A character the calculator does not know.
    #[error("`{0}` (at character {1}) is not part of arithmetic")]
    UnexpectedChar(char, usize),
    /// A word that is neither a function nor a constant.
    #[error(
        "`{0}` is not a known function or constant (functions: {FUNCTIONS}; constants: pi, e, tau); variables are not supported"
    )]
    UnknownName(String),
    /// Misplaced `%`.
    #[error("`%` must follow a number or a parenthesis, as in 17% or (a + b)%")]
    MisplacedPercent,
    /// Two numbers (or constants, or a parenthesis and a number) with no operator between them,
    /// as in `1 234`: refused rather than guessed, since a space may be a thousands separator.
    #[error("`{shown}`: two numbers with no operator between them; {fix}")]
    Juxtaposed {
        /// The offending part of the expression.
        shown: String,
        /// What to write instead.
        fix: String,
    },
    /// An operand right after `%`, as in `5 % 3`: `%` is percent here, not a remainder.
    #[error(
        "`{shown}`: `%` means percent here (17% is 0.17), so nothing can follow it directly; \
         for the remainder of {a} divided by {b} write {a} - {b} * floor({a} / {b}); \
         for a percentage write 17% of 2340 or 2340 * 17%"
    )]
    PercentOperand {
        /// The offending part of the expression.
        shown: String,
        /// The dividend, as written (or `a`).
        a: String,
        /// The divisor, as written (or `b`).
        b: String,
    },
    /// The expression does not parse.
    #[error("the expression is not well formed ({0})")]
    Syntax(String),
    /// Division by zero.
    #[error("it divides by zero")]
    DivisionByZero,
    /// A function outside its domain.
    #[error("{0}")]
    Domain(&'static str),
    /// A number or the result is too large.
    #[error("the result is too large (beyond ±{MAX_MAGNITUDE:e})")]
    TooLarge,
    /// Not a number, for another reason.
    #[error("the result is undefined")]
    Undefined,
}

/// The functions, as listed to the model.
const FUNCTIONS: &str = "sqrt, cbrt, abs, exp, ln, log (base 10), log2, log10, sin, cos, tan, \
                         asin, acos, atan, sinh, cosh, tanh, floor, ceil, round, trunc";

impl Tool for Calculate {
    const NAME: &'static str = spec::NAME;
    const DESCRIPTION: &'static str = spec::DESCRIPTION;

    type Input = CalculateInput;
    type Output = Calculation;

    fn example() -> CalculateInput {
        spec::example()
    }

    async fn run(&self, input: CalculateInput) -> Result<Calculation, ToolError> {
        match evaluate(&input.expression) {
            Ok(result) => Ok(Calculation {
                expression: input.expression,
                result,
            }),
            Err(error) => Err(ToolError::BadInput(format!(
                "Cannot evaluate {}: {error}. Fix the expression and call `calculate` again.",
                echo(&format!("{:?}", input.expression))
            ))),
        }
    }
}

/// Evaluates `expression`: a finite number of at most [`MAX_MAGNITUDE`], rounded to 15
/// significant digits, or why there is none. Never panics and always returns quickly.
pub fn evaluate(expression: &str) -> Result<f64, CalcError> {
    let expression = expression.trim();
    if expression.is_empty() {
        return Err(CalcError::Empty);
    }
    let length = expression.chars().count();
    if length > MAX_LENGTH {
        return Err(CalcError::TooLong(length));
    }
    let chars: Vec<char> = expression.chars().collect();
    let (tokens, spans) = tokenize(&chars)?;
    check_depth(&tokens)?;
    check_adjacent(&tokens, &spans, &chars)?;
    let tokens = percent_convention(tokens);
    let text = to_exmex(&tokens)?;
    let value = run_exmex(&text)?;
    if value.is_nan() {
        return Err(CalcError::Undefined);
    }
    if !value.is_finite() || value.abs() > MAX_MAGNITUDE {
        return Err(CalcError::TooLarge);
    }
    Ok(round_significant(value))
}

fn round_significant(value: f64) -> f64 {
    format!("{value:.14e}").parse::<f64>().unwrap_or(value)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Constant(&'static str),
    Function(&'static str),
    Op(char),
    Open,
    Close,
    Percent,
    Of,
}

/// Known words: the name the model writes → the exmex operator.
fn word(name: &str) -> Option<Token> {
    let function = |f: &'static str| Some(Token::Function(f));
    match name {
        "pi" => Some(Token::Constant("PI")),
        "e" => Some(Token::Constant("E")),
        "tau" => Some(Token::Constant("TAU")),
        "of" => Some(Token::Of),
        "sqrt" => function("sqrt"),
        "cbrt" => function("cbrt"),
        "abs" => function("abs"),
        "exp" => function("exp"),
        "ln" => function("ln"),
        "log" | "log10" => function("log10"),
        "log2" => function("log2"),
        "sin" => function("sin"),
        "cos" => function("cos"),
        "tan" => function("tan"),
        "asin" | "arcsin" => function("asin"),
        "acos" | "arccos" => function("acos"),
        "atan" | "arctan" => function("atan"),
        "sinh" => function("sinh"),
        "cosh" => function("cosh"),
        "tanh" => function("tanh"),
        "floor" => function("floor"),
        "ceil" => function("ceil"),
        "round" => function("round"),
        "trunc" => function("trunc"),
        _ => None,
    }
}

/// Where a token was written: the indices of its first character and of the one after it.
type Span = (usize, usize);

/// The tokens of `chars`, each with its [`Span`].
fn tokenize(chars: &[char]) -> Result<(Vec<Token>, Vec<Span>), CalcError> {
    let mut tokens = Vec::new();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '0'..='9' | '.' => {
                let (number, next) = number(chars, i)?;
                tokens.push(Token::Number(number));
                i = next;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect::<String>().to_lowercase();
                match word(&name) {
                    Some(token) => tokens.push(token),
                    None => return Err(CalcError::UnknownName(echo(&name))),
                }
            }
            '+' => push_op(&mut tokens, '+', &mut i),
            '-' | '−' | '–' => push_op(&mut tokens, '-', &mut i),
            '*' if chars.get(i + 1) == Some(&'*') => {
                tokens.push(Token::Op('^'));
                i += 2;
            }
            '*' | '×' | '·' | '⋅' | '∗' => push_op(&mut tokens, '*', &mut i),
            '/' | '÷' | '∕' => push_op(&mut tokens, '/', &mut i),
            '^' => push_op(&mut tokens, '^', &mut i),
            '²' | '³' => {
                tokens.push(Token::Op('^'));
                tokens.push(Token::Number(if c == '²' { 2.0 } else { 3.0 }));
                i += 1;
            }
            '(' | '[' | '{' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' | ']' | '}' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '%' => {
                tokens.push(Token::Percent);
                i += 1;
            }
            'π' => {
                tokens.push(Token::Constant("PI"));
                i += 1;
            }
            'τ' => {
                tokens.push(Token::Constant("TAU"));
                i += 1;
            }
            '√' => {
                tokens.push(Token::Function("sqrt"));
                i += 1;
            }
            // A trailing "=" or "?" ("2 + 2 =") asks for the value.
            '=' | '?'
                if chars[i + 1..]
                    .iter()
                    .all(|c| c.is_whitespace() || *c == '=' || *c == '?') =>
            {
                i = chars.len();
            }
            other => return Err(CalcError::UnexpectedChar(other, i + 1)),
        }
        spans.resize(tokens.len(), (start, i));
    }
    Ok((tokens, spans))
}

fn push_op(tokens: &mut Vec<Token>, op: char, i: &mut usize) {
    tokens.push(Token::Op(op));
    *i += 1;
}

/// Reads a number at `start`: digits with optional thousands separators (`1,234`), a fraction
/// and an exponent. Returns the value and the index after it.
fn number(chars: &[char], start: usize) -> Result<(f64, usize), CalcError> {
    let digit = |i: usize| chars.get(i).is_some_and(char::is_ascii_digit);
    let mut text = String::new();
    let mut i = start;
    while digit(i) {
        text.push(chars[i]);
        i += 1;
        // A comma followed by exactly three digits is a thousands separator.
        if chars.get(i) == Some(&',')
            && digit(i + 1)
            && digit(i + 2)
            && digit(i + 3)
            && !digit(i + 4)
        {
            i += 1;
        }
    }
    if chars.get(i) == Some(&'.') {
        text.push('.');
        i += 1;
        while digit(i) {
            text.push(chars[i]);
            i += 1;
        }
    }
    if text == "." {
        return Err(CalcError::UnexpectedChar('.', start + 1));
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let sign = matches!(chars.get(i + 1), Some('+' | '-'));
        let first = if sign { i + 2 } else { i + 1 };
        if digit(first) {
            text.push('e');
            if sign {
                text.push(chars[i + 1]);
            }
            i = first;
            while digit(i) {
                text.push(chars[i]);
                i += 1;
            }
        }
    }
    let value: f64 = text
        .parse()
        .map_err(|_| CalcError::Syntax(format!("`{}` is not a number", echo(&text))))?;
    if !value.is_finite() || value.abs() > MAX_MAGNITUDE {
        return Err(CalcError::TooLarge);
    }
    Ok((value, i))
}

/// Refuses operands written side by side where the intent is unclear: two numbers (`1 234`,
/// `2 3 4`, `1.234.567`), constants (`pi pi`, `2e`), a parenthesis and a number (`(1 + 2) 3`),
/// and anything right after `%` (`5 % 3`). Still multiplied: a number before `pi` or `tau`
/// (`2pi`), and anything before a parenthesis or a function (`2(3 + 4)`, `2sqrt(2)`).
fn check_adjacent(tokens: &[Token], spans: &[Span], chars: &[char]) -> Result<(), CalcError> {
    let text = |from: usize, to: usize| -> String {
        chars
            .get(from..to.min(chars.len()))
            .map(|part| part.iter().collect::<String>())
            .unwrap_or_default()
    };
    let span = |i: usize| spans.get(i).copied().unwrap_or((0, 0));
    let mut opens: Vec<usize> = Vec::new();
    // The `(` of the `)` just passed.
    let mut closed: Option<usize> = None;
    for (i, pair) in tokens.windows(2).enumerate() {
        let (before, after) = (&pair[0], &pair[1]);
        match before {
            Token::Open => opens.push(i),
            Token::Close => closed = opens.pop(),
            _ => {}
        }
        let operand_next = matches!(
            after,
            Token::Number(_) | Token::Constant(_) | Token::Function(_) | Token::Open
        );
        match (before, after) {
            (Token::Percent, _) if operand_next => {
                let operand = |j: usize| match tokens.get(j) {
                    Some(Token::Number(_)) => Some(text(span(j).0, span(j).1).trim().to_string()),
                    _ => None,
                };
                let (a, b) = match (i.checked_sub(1).and_then(operand), operand(i + 1)) {
                    (Some(a), Some(b)) => (a, b),
                    _ => ("a".to_string(), "b".to_string()),
                };
                let from = i.checked_sub(1).map_or(span(i).0, |j| span(j).0);
                return Err(CalcError::PercentOperand {
                    shown: echo(&text(from, span(i + 1).1)),
                    a: echo(&a),
                    b: echo(&b),
                });
            }
            (Token::Percent, Token::Percent) => return Err(CalcError::MisplacedPercent),
            (Token::Number(_), Token::Constant("PI" | "TAU")) => {}
            (
                Token::Number(_) | Token::Constant(_) | Token::Close,
                Token::Number(_) | Token::Constant(_),
            ) => {
                let from = match before {
                    Token::Close => closed.map_or(span(i).0, |open| span(open).0),
                    _ => span(i).0,
                };
                return Err(juxtaposed(tokens, spans, i, from, &text));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The error for the operands at `i` and `i + 1` written side by side, shown from character
/// `from`.
fn juxtaposed(
    tokens: &[Token],
    spans: &[Span],
    i: usize,
    from: usize,
    text: &dyn Fn(usize, usize) -> String,
) -> CalcError {
    let span = |j: usize| spans.get(j).copied().unwrap_or((0, 0));
    let written = |j: usize| text(span(j).0, span(j).1);
    let digits = |j: usize| {
        matches!(tokens.get(j), Some(Token::Number(_)))
            && written(j).chars().all(|c| c.is_ascii_digit() || c == ',')
    };
    // `1.234.567`: a second decimal point, read as the start of another number.
    if span(i).1 == span(i + 1).0 && written(i + 1).starts_with('.') {
        return CalcError::Juxtaposed {
            shown: echo(&text(from, span(i + 1).1)),
            fix: "a number has at most one decimal point; write 1234567 or 1,234,567 for a \
                  number with thousands separators, and 1234.5 for a decimal"
                .to_string(),
        };
    }
    if digits(i) && digits(i + 1) {
        // The whole run `1 234 567`.
        let mut last = i + 1;
        while digits(last + 1) {
            last += 1;
        }
        let parts: Vec<String> = (i..=last).map(|j| written(j).replace(',', "")).collect();
        return CalcError::Juxtaposed {
            shown: echo(&text(from, span(last).1)),
            fix: format!(
                "write {} if it is one number (no spaces inside a number; 1,234 is fine), or {}",
                echo(&parts.concat()),
                echo(&parts.join(" * "))
            ),
        };
    }
    let shown = text(from, span(i + 1).1);
    let fix = if matches!(tokens.get(i + 1), Some(Token::Constant("E"))) {
        "write the operator (2 * e); for powers of ten write 2e3 with no space".to_string()
    } else {
        format!(
            "write the operator between them, e.g. {} * {}",
            echo(text(from, span(i).1).trim()),
            echo(written(i + 1).trim())
        )
    };
    CalcError::Juxtaposed {
        shown: echo(&shown),
        fix,
    }
}

/// The pocket-calculator reading of adding or subtracting a percentage: `a + b%` is
/// `a * (1 + b%)` and `a - b%` is `a * (1 - b%)`, where `a` is everything before the `+` or `-`
/// in the same parentheses (`100 + 10% + 10%` is 121) and `b%` is a whole term (a number,
/// constant or parenthesis followed by `%`, with an optional sign). When everything before is
/// itself percentages (`50% + 25%`), the percentages are simply added. `17% of 2340` and
/// `2340 * 17%` are amounts, not percentages, and are unaffected.
fn percent_convention(tokens: Vec<Token>) -> Vec<Token> {
    let n = tokens.len();
    // The matching parenthesis of each `(` and `)` (the tokens are balanced by now).
    let mut partner = vec![usize::MAX; n];
    let mut stack = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Open => stack.push(i),
            Token::Close => {
                if let Some(open) = stack.pop() {
                    partner[i] = open;
                    partner[open] = i;
                }
            }
            _ => {}
        }
    }
    let ends_operand = |i: usize| {
        matches!(
            tokens.get(i),
            Some(Token::Number(_) | Token::Constant(_) | Token::Close | Token::Percent)
        )
    };
    // Whether tokens[from..to] is one percentage: signs, then a primary, then `%`.
    let bare_percent = |from: usize, to: usize| -> bool {
        let (mut a, mut to) = (from, to);
        loop {
            while a < to && matches!(tokens.get(a), Some(Token::Op('+' | '-'))) {
                a += 1;
            }
            // `(10%)`: a percentage in parentheses is still one.
            if to > a + 1
                && tokens.get(a) == Some(&Token::Open)
                && partner.get(a) == Some(&(to - 1))
            {
                a += 1;
                to -= 1;
            } else {
                break;
            }
        }
        if to < a + 2 || tokens.get(to - 1) != Some(&Token::Percent) {
            return false;
        }
        let last = to - 2; // the primary's last token
        let simple =
            |j: usize| matches!(tokens.get(j), Some(Token::Number(_) | Token::Constant(_)));
        let group = |open: usize| {
            tokens.get(open) == Some(&Token::Open) && partner.get(open) == Some(&last)
        };
        match tokens.get(a) {
            Some(Token::Number(_) | Token::Constant(_)) => last == a,
            Some(Token::Open) => group(a),
            Some(Token::Function(_)) => (last == a + 1 && simple(last)) || group(a + 1),
            _ => false,
        }
    };
    let mut opens_before = vec![0usize; n];
    let mut rewrite = vec![false; n];
    let mut closes_after = vec![0usize; n];
    // Each level: the whole expression, and the inside of each parenthesis.
    let mut levels = vec![(0, n)];
    levels.extend(
        tokens
            .iter()
            .enumerate()
            .filter(|(i, t)| **t == Token::Open && partner[*i] != usize::MAX)
            .map(|(i, _)| (i + 1, partner[i])),
    );
    for (start, end) in levels {
        let mut ops = Vec::new();
        let mut i = start;
        while i < end {
            match tokens.get(i) {
                Some(Token::Open) if partner[i] != usize::MAX => i = partner[i],
                Some(Token::Op('+' | '-')) if i > start && ends_operand(i - 1) => ops.push(i),
                _ => {}
            }
            i += 1;
        }
        let mut term_start = start;
        let mut has_amount = false;
        for (k, &op) in ops.iter().enumerate() {
            has_amount |= !bare_percent(term_start, op);
            let term_end = ops.get(k + 1).copied().unwrap_or(end);
            if has_amount && bare_percent(op + 1, term_end) {
                opens_before[start] += 1;
                rewrite[op] = true;
                closes_after[term_end - 1] += 1;
            }
            term_start = op + 1;
        }
    }
    let mut out = Vec::with_capacity(n + 8);
    for (i, token) in tokens.into_iter().enumerate() {
        out.extend(std::iter::repeat_n(Token::Open, opens_before[i]));
        if rewrite[i] {
            out.extend([
                Token::Close,
                Token::Op('*'),
                Token::Open,
                Token::Number(1.0),
            ]);
        }
        out.push(token);
        out.extend(std::iter::repeat_n(Token::Close, closes_after[i]));
    }
    out
}

fn check_depth(tokens: &[Token]) -> Result<(), CalcError> {
    let mut depth: usize = 0;
    for token in tokens {
        match token {
            Token::Open => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(CalcError::TooDeep);
                }
            }
            Token::Close => {
                depth = depth
                    .checked_sub(1)
                    .ok_or(CalcError::Unbalanced("a `)` has no `(`"))?;
            }
            _ => {}
        }
    }
    if depth == 0 {
        Ok(())
    } else {
        Err(CalcError::Unbalanced("a `(` is never closed"))
    }
}

/// Writes the tokens as an exmex expression, fixing what exmex reads differently from the usual
/// rules: `^` is right-associative (`2^3^2` is 2^9) and binds tighter than a negation (`-2^2`
/// is -4), so a power's exponent and a negation's operand become groups of their own. Also, `%`
/// divides the operand before it by 100, `of` multiplies, and juxtaposition (`2pi`, `2(3+4)`)
/// multiplies.
fn to_exmex(tokens: &[Token]) -> Result<String, CalcError> {
    const NEEDS_PARENTHESES: &str = "a function needs its argument in parentheses, as in sqrt(2)";
    let mut out = Emitter::default();
    // Where each open parenthesis starts in the output (at its function name, if any).
    let mut groups: Vec<usize> = Vec::new();
    // Where the operand that just ended starts, if the last token ended one.
    let mut operand_start: Option<usize> = None;
    // Whether the last token was a function name, which must be followed by its argument.
    let mut after_function = false;
    for token in tokens {
        if after_function {
            after_function = false;
            let function_at = out.len().saturating_sub(1);
            match token {
                Token::Open => {
                    groups.push(function_at);
                    out.open_explicit()?;
                    operand_start = None;
                }
                // `√2`, `sqrt 2`: a bare number or constant as the argument.
                Token::Number(_) | Token::Constant(_) => {
                    out.push(format!("({})", literal(token)));
                    operand_start = Some(function_at);
                }
                _ => return Err(CalcError::Syntax(NEEDS_PARENTHESES.to_string())),
            }
            continue;
        }
        let starts_operand = matches!(
            token,
            Token::Number(_) | Token::Constant(_) | Token::Function(_) | Token::Open
        );
        if starts_operand && operand_start.is_some() {
            out.close_implicit();
            out.push("*".to_string());
        }
        match token {
            Token::Number(_) | Token::Constant(_) => {
                operand_start = Some(out.len());
                out.push(literal(token));
            }
            Token::Function(f) => {
                out.push((*f).to_string());
                after_function = true;
                operand_start = None;
            }
            Token::Open => {
                groups.push(out.len());
                out.open_explicit()?;
                operand_start = None;
            }
            Token::Close => {
                let start = groups
                    .pop()
                    .ok_or(CalcError::Unbalanced("a `)` has no `(`"))?;
                if out.last() == Some("(") {
                    return Err(CalcError::Syntax("`()` is empty".to_string()));
                }
                out.close_explicit();
                operand_start = Some(start);
            }
            Token::Percent => {
                let start = operand_start.ok_or(CalcError::MisplacedPercent)?;
                out.insert(start, "(".to_string());
                out.push("/".to_string());
                out.push("100".to_string());
                out.push(")".to_string());
                operand_start = Some(start);
            }
            Token::Op('^') => {
                if operand_start.is_none() {
                    return Err(CalcError::Syntax(
                        "`^` needs a number before it".to_string(),
                    ));
                }
                out.push("^".to_string());
                out.open_implicit()?;
                operand_start = None;
            }
            Token::Op(op) if operand_start.is_none() => {
                // A sign: `-x` becomes `(0 - x)`, with x running up to the next + - * /.
                if *op == '-' {
                    out.open_implicit()?;
                    out.push("0".to_string());
                    out.push("-".to_string());
                } else if *op != '+' {
                    return Err(CalcError::Syntax(format!(
                        "`{op}` needs a number before it"
                    )));
                }
            }
            Token::Op(op) => {
                out.close_implicit();
                out.push(op.to_string());
                operand_start = None;
            }
            Token::Of => {
                if operand_start.is_none() {
                    return Err(CalcError::Syntax(
                        "`of` must follow a percentage, as in 17% of 2340".to_string(),
                    ));
                }
                out.close_implicit();
                out.push("*".to_string());
                operand_start = None;
            }
        }
    }
    if after_function {
        return Err(CalcError::Syntax(NEEDS_PARENTHESES.to_string()));
    }
    out.close_implicit();
    Ok(out.finish())
}

/// The exmex text being written, with the implicit groups (a power's exponent, a negation's
/// operand) still open at each parenthesis level.
#[derive(Default)]
struct Emitter {
    out: Vec<String>,
    /// Open implicit groups per parenthesis level; the last is the current level.
    implicit: Vec<usize>,
    /// Open groups of both kinds.
    depth: usize,
}

impl Emitter {
    fn len(&self) -> usize {
        self.out.len()
    }

    fn last(&self) -> Option<&str> {
        self.out.last().map(String::as_str)
    }

    fn push(&mut self, text: String) {
        self.out.push(text);
    }

    fn insert(&mut self, at: usize, text: String) {
        self.out.insert(at.min(self.out.len()), text);
    }

    fn open(&mut self) -> Result<(), CalcError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(CalcError::TooDeep);
        }
        self.out.push("(".to_string());
        Ok(())
    }

    fn open_explicit(&mut self) -> Result<(), CalcError> {
        self.implicit.push(0);
        self.open()
    }

    fn open_implicit(&mut self) -> Result<(), CalcError> {
        if self.implicit.is_empty() {
            self.implicit.push(0);
        }
        if let Some(count) = self.implicit.last_mut() {
            *count += 1;
        }
        self.open()
    }

    /// Closes the implicit groups of the current level.
    fn close_implicit(&mut self) {
        if let Some(count) = self.implicit.last_mut() {
            for _ in 0..*count {
                self.out.push(")".to_string());
            }
            self.depth = self.depth.saturating_sub(*count);
            *count = 0;
        }
    }

    /// Closes the current level's implicit groups, then its parenthesis.
    fn close_explicit(&mut self) {
        self.close_implicit();
        self.implicit.pop();
        self.depth = self.depth.saturating_sub(1);
        self.out.push(")".to_string());
    }

    fn finish(self) -> String {
        self.out.join(" ")
    }
}

/// A number or constant as exmex reads it: plain decimals (exmex has no exponent notation).
fn literal(token: &Token) -> String {
    match token {
        Token::Number(n) => format!("{n}"),
        Token::Constant(c) => (*c).to_string(),
        _ => String::new(),
    }
}

/// A domain error or division by zero seen by an operator during one evaluation. Operators are
/// plain `fn`s, so they report through this thread-local; parse and evaluation run on one
/// thread, with nothing awaited in between.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    DivisionByZero,
    Domain(&'static str),
}

thread_local! {
    static FAULT: Cell<Option<Fault>> = const { Cell::new(None) };
}

fn fault(f: Fault) -> f64 {
    FAULT.with(|cell| {
        if cell.get().is_none() {
            cell.set(Some(f));
        }
    });
    f64::NAN
}

fn domain(ok: bool, value: f64, message: &'static str) -> f64 {
    if ok {
        value
    } else {
        fault(Fault::Domain(message))
    }
}

/// The calculator's operators: exmex's float operators with checked division and domains.
#[derive(Debug, Clone)]
struct CalcOps;

impl MakeOperators<f64> for CalcOps {
    fn make<'a>() -> Vec<Operator<'a, f64>> {
        vec![
            Operator::make_bin(
                "^",
                BinOp {
                    apply: |a, b| {
                        if a == 0.0 && b < 0.0 {
                            fault(Fault::DivisionByZero)
                        } else if a < 0.0 && b.fract() != 0.0 && b.is_finite() {
                            fault(Fault::Domain(
                                "a negative number raised to a fractional power is not a real number",
                            ))
                        } else {
                            a.powf(b)
                        }
                    },
                    prio: 4,
                    is_commutative: false,
                },
            ),
            Operator::make_bin(
                "*",
                BinOp {
                    apply: |a, b| a * b,
                    prio: 2,
                    is_commutative: true,
                },
            ),
            Operator::make_bin(
                "/",
                BinOp {
                    apply: |a, b| {
                        if b == 0.0 {
                            fault(Fault::DivisionByZero)
                        } else {
                            a / b
                        }
                    },
                    prio: 3,
                    is_commutative: false,
                },
            ),
            Operator::make_bin_unary(
                "+",
                BinOp {
                    apply: |a, b| a + b,
                    prio: 0,
                    is_commutative: true,
                },
                |a| a,
            ),
            Operator::make_bin_unary(
                "-",
                BinOp {
                    apply: |a, b| a - b,
                    prio: 1,
                    is_commutative: false,
                },
                |a| -a,
            ),
            Operator::make_unary("abs", f64::abs),
            Operator::make_unary("sin", f64::sin),
            Operator::make_unary("cos", f64::cos),
            Operator::make_unary("tan", f64::tan),
            Operator::make_unary("asin", |a| {
                domain(
                    (-1.0..=1.0).contains(&a),
                    a.asin(),
                    "asin needs a value from -1 to 1",
                )
            }),
            Operator::make_unary("acos", |a| {
                domain(
                    (-1.0..=1.0).contains(&a),
                    a.acos(),
                    "acos needs a value from -1 to 1",
                )
            }),
            Operator::make_unary("atan", f64::atan),
            Operator::make_unary("sinh", f64::sinh),
            Operator::make_unary("cosh", f64::cosh),
            Operator::make_unary("tanh", f64::tanh),
            Operator::make_unary("floor", f64::floor),
            Operator::make_unary("round", f64::round),
            Operator::make_unary("ceil", f64::ceil),
            Operator::make_unary("trunc", f64::trunc),
            Operator::make_unary("exp", f64::exp),
            Operator::make_unary("sqrt", |a| {
                domain(
                    a >= 0.0,
                    a.sqrt(),
                    "the square root of a negative number is not a real number",
                )
            }),
            Operator::make_unary("cbrt", f64::cbrt),
            Operator::make_unary("ln", |a| {
                domain(
                    a > 0.0,
                    a.ln(),
                    "the logarithm is only defined for numbers above 0",
                )
            }),
            Operator::make_unary("log2", |a| {
                domain(
                    a > 0.0,
                    a.log2(),
                    "the logarithm is only defined for numbers above 0",
                )
            }),
            Operator::make_unary("log10", |a| {
                domain(
                    a > 0.0,
                    a.log10(),
                    "the logarithm is only defined for numbers above 0",
                )
            }),
            Operator::make_constant("PI", std::f64::consts::PI),
            Operator::make_constant("E", std::f64::consts::E),
            Operator::make_constant("TAU", std::f64::consts::TAU),
        ]
    }
}

type CalcExpr = FlatEx<f64, CalcOps>;

fn run_exmex(text: &str) -> Result<f64, CalcError> {
    FAULT.with(|cell| cell.set(None));
    let outcome = std::panic::catch_unwind(|| -> Result<f64, CalcError> {
        let expr = CalcExpr::parse(text).map_err(|e| CalcError::Syntax(short(&e.to_string())))?;
        if let Some(name) = expr.var_names().first() {
            return Err(CalcError::UnknownName(echo(name)));
        }
        expr.eval(&[])
            .map_err(|e| CalcError::Syntax(short(&e.to_string())))
    });
    let fault = FAULT.with(Cell::take);
    match fault {
        Some(Fault::DivisionByZero) => Err(CalcError::DivisionByZero),
        Some(Fault::Domain(message)) => Err(CalcError::Domain(message)),
        None => match outcome {
            Ok(result) => result,
            Err(_) => Err(CalcError::Syntax(
                "the expression could not be parsed".to_string(),
            )),
        },
    }
}

fn short(text: &str) -> String {
    text.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(expression: &str) -> f64 {
        match evaluate(expression) {
            Ok(v) => v,
            Err(e) => panic!("{expression}: {e}"),
        }
    }

    #[test]
    fn arithmetic_follows_the_usual_rules() {
        assert_eq!(value("1 + 2 * 3"), 7.0);
        assert_eq!(value("(1 + 2) * 3"), 9.0);
        assert_eq!(value("8 / 2 * 4"), 16.0);
        assert_eq!(value("10 - 4 - 3"), 3.0);
        assert_eq!(value("10 - 4 + 3"), 9.0);
        assert_eq!(value("2 ^ 3 ^ 2"), 512.0);
        assert_eq!(value("2 ** 10"), 1024.0);
        assert_eq!(value("-3 + 5"), 2.0);
        assert_eq!(value("2 * -3"), -6.0);
        assert_eq!(value("0.1 + 0.2"), 0.3);
        assert_eq!(value("7 / 2"), 3.5);
        assert_eq!(value("1.5e3 + 1,234.5"), 2734.5);
    }

    #[test]
    fn negation_binds_looser_than_power() {
        assert_eq!(value("-2^2"), -4.0);
        assert_eq!(value("2^-1"), 0.5);
        assert_eq!(value("12 / -3 * 2"), -8.0);
        assert_eq!(value("--2"), 2.0);
        assert_eq!(value("+2 - -2"), 4.0);
        assert_eq!(value("-50%"), -0.5);
        assert_eq!(value("2^3(4)"), 32.0);
        assert_eq!(value("(2^3)^2"), 64.0);
        assert_eq!(value("-(2^2)^2"), -16.0);
        assert_eq!(value("9^2^-1"), 3.0);
    }

    #[test]
    fn long_chains_of_powers_and_signs_are_bounded() {
        let powers = ["1"; 100].join("^");
        assert_eq!(evaluate(&powers), Err(CalcError::TooDeep));
        let signs = "-".repeat(100) + "1";
        assert_eq!(evaluate(&signs), Err(CalcError::TooDeep));
        assert_eq!(evaluate(&["2"; 5].join("^")), Err(CalcError::TooLarge));
        assert_eq!(evaluate(&["1"; 200].join("+")), Ok(200.0));
    }

    #[test]
    fn percentages_divide_by_a_hundred() {
        assert_eq!(value("17% of 2340"), 397.8);
        assert_eq!(value("2340 * 17%"), 397.8);
        assert_eq!(value("2340 * (1 + 17%)"), 2737.8);
        assert_eq!(value("(10 + 40)%"), 0.5);
        assert_eq!(value("50%"), 0.5);
    }

    #[test]
    fn functions_and_constants() {
        assert_eq!(value("sqrt(16)"), 4.0);
        assert_eq!(value("√16"), 4.0);
        assert_eq!(value("log(1000)"), 3.0);
        assert_eq!(value("ln(e)"), 1.0);
        assert_eq!(value("2pi"), value("2 * pi"));
        assert_eq!(value("cos(pi)"), -1.0);
        assert_eq!(value("3²"), 9.0);
        assert_eq!(value("6 × 7"), 42.0);
        assert_eq!(value("84 ÷ 2"), 42.0);
        assert_eq!(value("2(3 + 4)"), 14.0);
        assert_eq!(value("round(2.5) + floor(-1.5)"), 1.0);
        assert_eq!(value("2 + 2 ="), 4.0);
    }

    #[test]
    fn faults_are_named() {
        assert_eq!(evaluate("1/0"), Err(CalcError::DivisionByZero));
        assert_eq!(evaluate("5 / (2 - 2)"), Err(CalcError::DivisionByZero));
        assert_eq!(evaluate("0^-1"), Err(CalcError::DivisionByZero));
        assert!(matches!(evaluate("sqrt(-1)"), Err(CalcError::Domain(_))));
        assert!(matches!(evaluate("ln(0)"), Err(CalcError::Domain(_))));
        assert!(matches!(evaluate("asin(2)"), Err(CalcError::Domain(_))));
        assert!(matches!(evaluate("(-8)^(1/3)"), Err(CalcError::Domain(_))));
        assert_eq!(evaluate("10^400"), Err(CalcError::TooLarge));
        assert_eq!(evaluate("1e999"), Err(CalcError::TooLarge));
        assert_eq!(evaluate("exp(1000)"), Err(CalcError::TooLarge));
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert_eq!(evaluate(""), Err(CalcError::Empty));
        assert_eq!(evaluate("   "), Err(CalcError::Empty));
        assert!(matches!(evaluate("x + 1"), Err(CalcError::UnknownName(_))));
        assert!(matches!(
            evaluate("import os"),
            Err(CalcError::UnknownName(_))
        ));
        assert!(matches!(evaluate("2 + + "), Err(CalcError::Syntax(_))));
        assert!(matches!(evaluate("(1 + 2"), Err(CalcError::Unbalanced(_))));
        assert!(matches!(evaluate("1 + 2)"), Err(CalcError::Unbalanced(_))));
        assert!(matches!(evaluate("()"), Err(CalcError::Syntax(_))));
        assert!(matches!(evaluate("%"), Err(CalcError::MisplacedPercent)));
        assert!(matches!(
            evaluate("2 @ 3"),
            Err(CalcError::UnexpectedChar('@', 3))
        ));
        assert!(matches!(evaluate("{x}"), Err(CalcError::UnknownName(_))));
        assert!(matches!(evaluate("sqrt"), Err(CalcError::Syntax(_))));
    }

    fn message(expression: &str) -> String {
        match evaluate(expression) {
            Ok(v) => panic!("{expression}: expected an error, got {v}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn numbers_side_by_side_are_refused_not_multiplied() {
        assert_eq!(
            message("1 234"),
            "`1 234`: two numbers with no operator between them; write 1234 if it is one \
             number (no spaces inside a number; 1,234 is fine), or 1 * 234"
        );
        assert!(message("1 234 + 1").starts_with("`1 234`: two numbers"));
        let run = message("1\u{2009}234\u{2009}567");
        assert!(run.contains("write 1234567 if"), "{run}");
        assert!(message("2 3 4").contains("write 234 if it is one number"));
        assert!(matches!(
            evaluate("pi pi"),
            Err(CalcError::Juxtaposed { .. })
        ));
        assert!(message("pi pi").contains("e.g. pi * pi"));
        assert!(matches!(evaluate("2e"), Err(CalcError::Juxtaposed { .. })));
        assert!(matches!(
            evaluate("1.5e 3"),
            Err(CalcError::Juxtaposed { .. })
        ));
        assert!(message("1.234.567").contains("at most one decimal point"));
        assert!(message("(1 + 2) 3").starts_with("`(1 + 2) 3`: two numbers"));
        assert!(matches!(
            evaluate("2 (3) 4"),
            Err(CalcError::Juxtaposed { .. })
        ));
        assert!(matches!(
            evaluate("√2 3"),
            Err(CalcError::Juxtaposed { .. })
        ));
        // Still multiplied: a coefficient before pi or tau, anything before ( or a function.
        assert_eq!(value("2pi"), value("2 * pi"));
        assert_eq!(value("2 π"), value("2 * pi"));
        assert_eq!(value("2(3 + 4)"), 14.0);
        assert_eq!(value("(1 + 2)(3 + 4)"), 21.0);
        assert_eq!(value("2sqrt(9)"), 6.0);
        assert_eq!(value("1,234 + 1"), 1235.0);
    }

    #[test]
    fn a_number_after_percent_is_not_a_remainder() {
        assert_eq!(
            message("5 % 3"),
            "`5 % 3`: `%` means percent here (17% is 0.17), so nothing can follow it directly; \
             for the remainder of 5 divided by 3 write 5 - 3 * floor(5 / 3); for a percentage \
             write 17% of 2340 or 2340 * 17%"
        );
        assert!(matches!(
            evaluate("17%2340"),
            Err(CalcError::PercentOperand { .. })
        ));
        assert!(matches!(
            evaluate("(7)%(2)"),
            Err(CalcError::PercentOperand { .. })
        ));
        assert!(message("(7)%(2)").contains("write a - b * floor(a / b)"));
        assert_eq!(value("5 - 3 * floor(5 / 3)"), 2.0);
    }

    #[test]
    fn adding_a_percentage_follows_the_calculator_convention() {
        assert_eq!(value("2340 + 17%"), 2737.8);
        assert_eq!(value("100 - 10%"), 90.0);
        assert_eq!(value("100 + -10%"), 90.0);
        assert_eq!(value("100 + 10% + 10%"), 121.0);
        assert_eq!(value("5 + 3 + 10%"), 8.8);
        assert_eq!(value("2 * 3 + 50%"), 9.0);
        assert_eq!(value("(100 + 10%) * 2"), 220.0);
        assert_eq!(value("1 + (100 - 10%)"), 91.0);
        assert_eq!(value("sqrt(100 - 19%)"), 9.0);
        assert_eq!(value("200 + (10 + 40)%"), 300.0);
        assert_eq!(value("100 + (10%)"), 110.0);
        assert_eq!(value("100 + (-(10%))"), 90.0);
        assert_eq!(evaluate("100 + 10%%"), Err(CalcError::MisplacedPercent));
        // The documented spelling keeps its value.
        assert_eq!(value("2340 * (1 + 17%)"), 2737.8);
        // Percentages among themselves add; amounts after `+` are amounts.
        assert_eq!(value("50% + 25%"), 0.75);
        assert_eq!(value("2340 + 17% of 100"), 2357.0);
        assert_eq!(value("2340 + 17% * 100"), 2357.0);
        assert_eq!(value("17% of 2340 - 1"), 396.8);
    }

    #[test]
    fn bounds_are_checked_before_parsing() {
        let deep = format!("{}1{}", "(".repeat(21), ")".repeat(21));
        assert_eq!(evaluate(&deep), Err(CalcError::TooDeep));
        let ok = format!("{}1{}", "(".repeat(20), ")".repeat(20));
        assert_eq!(evaluate(&ok), Ok(1.0));
        let long = "1+".repeat(300) + "1";
        assert_eq!(evaluate(&long), Err(CalcError::TooLong(601)));
    }
}
