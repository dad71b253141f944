//! Building orders in one line: `NewOrder::limit("BTC/USD", Side::Buy,
//! "0.001", "80000").post_only().build()?`. Amounts come from text, from
//! decimals, or from floats through [`Decimal::from_f64`] at the venue's
//! precision (never silently); a missing client id is generated, unique in
//! the process ([`next_client_order_id`]). Nothing here panics: every
//! problem is a [`BuildError`] from `build`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{ClientOrderId, NewOrder, OrderKind, Side, Symbol, TimeInForce, inline};
use crate::num::{Decimal, DecimalError};

/// Why an order could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The pair is longer than a symbol holds (32 bytes).
    #[error("symbol {0:?} is too long")]
    Symbol(String),
    /// The client id is longer than 48 bytes.
    #[error("client order id {0:?} is too long")]
    ClientId(String),
    /// An amount is not a decimal.
    #[error("{what}: {error}")]
    Amount {
        /// `qty` or `price`.
        what: &'static str,
        /// Why.
        error: DecimalError,
    },
}

/// An amount an order takes: text (`"0.001"`), a [`Decimal`], or a float
/// made exact first ([`Decimal::from_f64`]).
pub trait IntoAmount {
    /// The exact decimal.
    fn into_amount(self) -> Result<Decimal, DecimalError>;
}

impl IntoAmount for &str {
    fn into_amount(self) -> Result<Decimal, DecimalError> {
        self.parse()
    }
}

impl IntoAmount for &String {
    fn into_amount(self) -> Result<Decimal, DecimalError> {
        self.parse()
    }
}

impl IntoAmount for Decimal {
    fn into_amount(self) -> Result<Decimal, DecimalError> {
        Ok(self)
    }
}

impl IntoAmount for Result<Decimal, DecimalError> {
    fn into_amount(self) -> Result<Decimal, DecimalError> {
        self
    }
}

/// An order being built (see the module docs).
#[derive(Clone, Debug)]
#[must_use = "an order builder does nothing until `build`"]
pub struct OrderBuilder {
    symbol: String,
    side: Side,
    kind: OrderKind,
    qty: Result<Decimal, DecimalError>,
    price: Option<Result<Decimal, DecimalError>>,
    time_in_force: TimeInForce,
    post_only: bool,
    client_id: Option<String>,
}

impl NewOrder {
    /// A good-till-canceled limit order.
    pub fn limit(
        symbol: &str,
        side: Side,
        qty: impl IntoAmount,
        price: impl IntoAmount,
    ) -> OrderBuilder {
        OrderBuilder::new(
            symbol,
            side,
            OrderKind::Limit,
            qty,
            Some(price.into_amount()),
        )
    }

    /// A market order.
    pub fn market(symbol: &str, side: Side, qty: impl IntoAmount) -> OrderBuilder {
        OrderBuilder::new(symbol, side, OrderKind::Market, qty, None)
    }
}

impl OrderBuilder {
    fn new(
        symbol: &str,
        side: Side,
        kind: OrderKind,
        qty: impl IntoAmount,
        price: Option<Result<Decimal, DecimalError>>,
    ) -> OrderBuilder {
        OrderBuilder {
            symbol: symbol.to_owned(),
            side,
            kind,
            qty: qty.into_amount(),
            price,
            time_in_force: if kind == OrderKind::Market {
                TimeInForce::ImmediateOrCancel
            } else {
                TimeInForce::GoodTillCanceled
            },
            post_only: false,
            client_id: None,
        }
    }

    /// Rejected by the venue rather than take liquidity.
    pub fn post_only(mut self) -> OrderBuilder {
        self.post_only = true;
        self
    }

    /// Its time in force.
    pub fn tif(mut self, time_in_force: TimeInForce) -> OrderBuilder {
        self.time_in_force = time_in_force;
        self
    }

    /// Its client id (else one is generated).
    pub fn client_id(mut self, id: &str) -> OrderBuilder {
        self.client_id = Some(id.to_owned());
        self
    }

    /// The order, or what is wrong with it.
    pub fn build(self) -> Result<NewOrder, BuildError> {
        let symbol: Symbol =
            inline(&self.symbol).ok_or_else(|| BuildError::Symbol(self.symbol.clone()))?;
        let client_order_id = match &self.client_id {
            Some(id) => inline(id).ok_or_else(|| BuildError::ClientId(id.clone()))?,
            None => next_client_order_id(),
        };
        let qty = self
            .qty
            .map_err(|error| BuildError::Amount { what: "qty", error })?;
        let price = self.price.transpose().map_err(|error| BuildError::Amount {
            what: "price",
            error,
        })?;
        Ok(NewOrder {
            client_order_id,
            symbol,
            side: self.side,
            kind: self.kind,
            price,
            qty,
            time_in_force: self.time_in_force,
            post_only: self.post_only,
        })
    }
}

impl TryFrom<OrderBuilder> for NewOrder {
    type Error = BuildError;

    fn try_from(builder: OrderBuilder) -> Result<NewOrder, BuildError> {
        builder.build()
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static PREFIX: OnceLock<String> = OnceLock::new();

/// Sets the prefix of generated client ids (before the first is made; a
/// later call changes nothing and returns false). Keep it short: Kraken
/// takes free-text ids of up to 18 characters.
pub fn set_client_order_id_prefix(prefix: &str) -> bool {
    PREFIX.set(prefix.to_owned()).is_ok()
}

/// A client order id unique in this process: the prefix (default `ow` and
/// five base-36 characters drawn at random once per process, so runs do
/// not repeat each other's ids) and a counter in base 36, 18 characters or
/// fewer for any realistic count (Kraken's free-text limit; Binance takes
/// 36). The randomness is std's per-process hash seed: no clock is read.
pub fn next_client_order_id() -> ClientOrderId {
    let prefix = PREFIX.get_or_init(|| {
        use std::hash::BuildHasher;
        let random = std::collections::hash_map::RandomState::new().hash_one(0u8);
        format!("ow{}-", base36(random % 60_466_176))
    });
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut id = ClientOrderId::new();
    // A prefix too long for the id is cut; the counter is kept whole.
    let counter = base36(n);
    let room = id.capacity().saturating_sub(counter.len());
    for c in prefix.chars() {
        if id.len() + c.len_utf8() > room || id.try_push(c).is_err() {
            break;
        }
    }
    // 13 base-36 digits at most: always fits behind the cut prefix.
    let _ = id.try_push_str(&counter);
    id
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        // Below 36: one digit.
        out.push(DIGITS[usize::try_from(n % 36).unwrap_or(0)]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_order_in_one_line_with_a_generated_id() {
        let order = NewOrder::limit("BTC/USD", Side::Buy, "0.001", "80000")
            .post_only()
            .build()
            .unwrap();
        assert_eq!(order.symbol.as_str(), "BTC/USD");
        assert_eq!(order.qty.to_string(), "0.001");
        assert_eq!(order.price.map(|p| p.to_string()).as_deref(), Some("80000"));
        assert!(order.post_only);
        assert_eq!(order.time_in_force, TimeInForce::GoodTillCanceled);
        assert!(order.client_order_id.starts_with("ow"));
        assert!(order.client_order_id.len() <= 18);
        let next = NewOrder::market("BTC/USD", Side::Sell, "1")
            .build()
            .unwrap();
        assert_ne!(next.client_order_id, order.client_order_id, "unique");
        assert_eq!(next.price, None);
    }

    #[test]
    fn floats_come_in_only_exactly_at_the_venues_precision() {
        let price = Decimal::from_f64(80000.0, 1).unwrap();
        assert_eq!(price.to_string(), "80000.0");
        assert_eq!(
            Decimal::from_f64(0.001, 8).unwrap().to_string(),
            "0.00100000"
        );
        assert_eq!(
            Decimal::from_f64(0.1 + 0.2, 8),
            Err(DecimalError::Inexact),
            "0.30000000000000004 is no 8-place decimal"
        );
        assert_eq!(Decimal::from_f64(f64::NAN, 2), Err(DecimalError::Inexact));
        let order = NewOrder::limit("BTC/USD", Side::Buy, Decimal::from_f64(0.001, 8), price)
            .client_id("mine-1")
            .build()
            .unwrap();
        assert_eq!(order.client_order_id.as_str(), "mine-1");
        let refused =
            NewOrder::limit("BTC/USD", Side::Buy, Decimal::from_f64(0.1 + 0.2, 8), "1").build();
        assert!(matches!(
            refused,
            Err(BuildError::Amount { what: "qty", .. })
        ));
        assert!(matches!(
            NewOrder::limit("X".repeat(40).as_str(), Side::Buy, "1", "1").build(),
            Err(BuildError::Symbol(_))
        ));
    }
}
