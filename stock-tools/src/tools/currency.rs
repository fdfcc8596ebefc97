//! `convert_currency`: converts an amount at the latest European Central Bank reference rates,
//! through Frankfurter's v1 API (`/latest?base=…&symbols=…` and `/currencies`,
//! <https://frankfurter.dev/v1/>). No key needed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{ENV_FRANKFURTER_URL, ToolsConfig};
use sfn_agent_tool::{Tool, ToolError};

use crate::specs::convert_currency as spec;
pub use crate::specs::convert_currency::CurrencyInput;
use crate::upstream::{Reply, Upstream};
use sfn_agent_tool::validation::echo;

/// The largest amount converted.
pub const MAX_AMOUNT: f64 = 1e15;

/// Converts amounts between currencies.
#[derive(Debug, Clone)]
pub struct ConvertCurrency {
    rates: Upstream,
    base_url: String,
}

impl ConvertCurrency {
    /// The tool on `config`'s Frankfurter, sending requests with `client`.
    pub fn new(config: &ToolsConfig, client: reqwest::Client) -> Self {
        Self {
            rates: Upstream::new(
                client,
                "the Frankfurter exchange-rate service",
                config.http_timeout,
            ),
            base_url: config.frankfurter_url.clone(),
        }
    }
}

/// A conversion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conversion {
    /// The amount given.
    pub amount: f64,
    /// The currency converted from.
    pub from: String,
    /// The currency converted to.
    pub to: String,
    /// The amount in `to`, rounded to 4 decimals.
    pub converted: f64,
    /// Units of `to` per unit of `from`.
    pub rate: f64,
    /// The working day the rate was published for (`YYYY-MM-DD`); absent for a currency
    /// converted to itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_date: Option<String>,
    /// Where the rate comes from.
    pub source: &'static str,
}

const SOURCE: &str = "European Central Bank reference rates, via Frankfurter";

/// Frankfurter's `/latest` answer: `{"amount", "base", "date", "rates": {code: rate}}`.
#[derive(Debug, Deserialize)]
struct Latest {
    /// The currency the rates are for; checked, so rates for another base are never used.
    #[serde(default)]
    base: Option<String>,
    /// The amount of `base` the rates are for (1 unless asked otherwise).
    #[serde(default)]
    amount: Option<f64>,
    date: String,
    rates: BTreeMap<String, f64>,
}

impl Tool for ConvertCurrency {
    const NAME: &'static str = spec::NAME;
    const DESCRIPTION: &'static str = spec::DESCRIPTION;

    type Input = CurrencyInput;
    type Output = Conversion;

    fn example() -> CurrencyInput {
        spec::example()
    }

    async fn run(&self, input: CurrencyInput) -> Result<Conversion, ToolError> {
        let amount = input.amount;
        if !amount.is_finite() || !(0.0..=MAX_AMOUNT).contains(&amount) {
            return Err(ToolError::BadInput(format!(
                "`amount` must be a number from 0 to {MAX_AMOUNT:e}, not {}.",
                echo(&amount.to_string())
            )));
        }
        let from = currency_code("from", &input.from)?;
        let to = currency_code("to", &input.to)?;
        let (rate, rate_date) = if from == to {
            self.check_known(&[&from]).await?;
            (1.0, None)
        } else {
            let (rate, date) = self.rate(&from, &to).await?;
            (rate, Some(date))
        };
        let converted = ((amount * rate) * 10_000.0).round() / 10_000.0;
        Ok(Conversion {
            amount,
            from,
            to,
            converted,
            rate,
            rate_date,
            source: SOURCE,
        })
    }
}

/// A currency code, trimmed and upper-cased; anything but three letters is refused.
fn currency_code(field: &str, code: &str) -> Result<String, ToolError> {
    let code = code.trim().to_uppercase();
    if code.len() == 3 && code.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(code)
    } else {
        Err(ToolError::BadInput(format!(
            "`{field}` must be a three-letter ISO 4217 currency code such as \"USD\", \"EUR\" or \
             \"JPY\", not {}. Call `convert_currency` again with the code.",
            echo(&format!("{:?}", code))
        )))
    }
}

impl ConvertCurrency {
    async fn rate(&self, from: &str, to: &str) -> Result<(f64, String), ToolError> {
        let url = format!("{}/latest", self.base_url);
        let query = [("base", from.to_string()), ("symbols", to.to_string())];
        match self.rates.get_json::<Latest>(&url, &query).await? {
            Reply::Ok(latest) if latest.base.as_deref().is_some_and(|base| base != from) => {
                Err(self.rates.unavailable(format!(
                    "it answered with rates for {} when asked for {from} (check {ENV_FRANKFURTER_URL})",
                    echo(latest.base.as_deref().unwrap_or_default())
                )))
            }
            Reply::Ok(latest) if latest.amount.is_some_and(|amount| amount != 1.0) => {
                Err(self.rates.unavailable(format!(
                    "it answered with rates for an amount of {} {from}, not 1 (check {ENV_FRANKFURTER_URL})",
                    latest.amount.unwrap_or_default()
                )))
            }
            Reply::Ok(latest) => match latest.rates.get(to) {
                Some(rate) if rate.is_finite() && *rate > 0.0 => Ok((*rate, latest.date)),
                _ => {
                    self.check_known(&[from, to]).await?;
                    Err(self
                        .rates
                        .unavailable(format!("it sent no rate from {from} to {to}")))
                }
            },
            // Frankfurter answers 404 for a currency it has no rates for: name it if so.
            Reply::Refused { status, .. } => {
                self.check_known(&[from, to]).await?;
                Err(self.rates.misconfigured(status, ENV_FRANKFURTER_URL))
            }
        }
    }

    /// Fails with a clear error if any of `codes` is not a currency Frankfurter has rates for.
    async fn check_known(&self, codes: &[&str]) -> Result<(), ToolError> {
        let url = format!("{}/currencies", self.base_url);
        let known: BTreeMap<String, String> = match self.rates.get_json(&url, &[]).await? {
            Reply::Ok(known) => known,
            // `/currencies` takes no parameters: any refusal is a wrong URL or a proxy.
            Reply::Refused { status, .. } => {
                return Err(self.rates.misconfigured(status, ENV_FRANKFURTER_URL));
            }
        };
        let unknown: Vec<String> = codes
            .iter()
            .filter(|code| !known.contains_key(**code))
            .map(|code| format!("\"{code}\""))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let listed = known.keys().cloned().collect::<Vec<_>>().join(", ");
        Err(ToolError::BadInput(format!(
            "{} {} not a currency with ECB reference rates. The known codes are: {listed}. \
             Call `convert_currency` again with one of them.",
            unknown.join(" and "),
            if unknown.len() == 1 { "is" } else { "are" }
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_normalised_or_refused() {
        assert_eq!(currency_code("from", " usd ").ok(), Some("USD".to_string()));
        for bad in ["", "dollars", "US", "U$D", "ÜSD", "12 "] {
            assert!(currency_code("from", bad).is_err(), "{bad}");
        }
    }
}
