//! Field readers the venue decoders share: a typed field error, an exact
//! decimal from a string (or, leniently, a number), and `[price, qty]`
//! level lists.

use crate::json::{Kind, Scanner};
use crate::model::Level;
use crate::num::Decimal;
use crate::venue::DecodeError;

/// A field that is missing or malformed.
pub(crate) fn field(field: &'static str, why: &'static str) -> DecodeError {
    DecodeError::Field { field, why }
}

/// A decimal sent as a string (or a number), exactly from its digits.
pub(crate) fn text_decimal(
    scanner: &mut Scanner<'_>,
    name: &'static str,
) -> Result<Decimal, DecodeError> {
    // Decimals come as strings: the plain shape in one pass.
    if let Some((mantissa, scale)) = scanner.quoted_plain_decimal() {
        return Decimal::new(mantissa, scale).ok_or(field(name, "not an exact decimal"));
    }
    let raw = match scanner.kind()? {
        Kind::String => scanner.string()?.raw,
        _ => scanner.number()?,
    };
    Decimal::parse(raw).map_err(|_| field(name, "not an exact decimal"))
}

/// `[["price","qty"], ...]` appended to `levels`.
pub(crate) fn read_pairs(
    scanner: &mut Scanner<'_>,
    levels: &mut Vec<Level>,
) -> Result<(), DecodeError> {
    scanner.begin_array()?;
    while scanner.next_element()? {
        // `["price","qty"]`, compared in place; any other shape below.
        let start = scanner.position();
        if scanner.literal(b"[") {
            if let Some((price, qty)) = scanner.quoted_plain_decimal().and_then(|price| {
                let qty = scanner
                    .literal(b",")
                    .then(|| scanner.quoted_plain_decimal())??;
                scanner.literal(b"]").then_some((price, qty))
            }) {
                if let (Some(price), Some(qty)) =
                    (Decimal::new(price.0, price.1), Decimal::new(qty.0, qty.1))
                {
                    levels.push(Level { price, qty });
                    continue;
                }
            }
            scanner.rewind(start);
        }
        scanner.begin_array()?;
        if !scanner.next_element()? {
            return Err(field("level", "empty"));
        }
        let price = text_decimal(scanner, "price")?;
        if !scanner.next_element()? {
            return Err(field("level", "no quantity"));
        }
        let qty = text_decimal(scanner, "qty")?;
        while scanner.next_element()? {
            scanner.skip_value()?;
        }
        levels.push(Level { price, qty });
    }
    Ok(())
}
