//! The tools: weather, calculator, currency conversion, time.

pub mod calculate;
pub mod currency;
pub mod time;
pub mod weather;

pub use calculate::{Calculate, CalculateInput};
pub use currency::{ConvertCurrency, CurrencyInput};
pub use time::{CurrentTime, CurrentTimeInput};
pub use weather::{GetWeather, Units, WeatherInput};
