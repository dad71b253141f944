//! Property tests for exact decimals: text round trips, agreement with an
//! independent big-integer reading, and ordering.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "test data and figures: small counters made into bytes and lengths"
)]

use orderwire_protocol::num::Decimal;
use proptest::prelude::*;

/// Canonical decimal text: no leading zeros, at least one integer digit.
fn decimal_text() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        "[1-9][0-9]{0,17}|0",
        proptest::option::of("[0-9]{1,18}"),
    )
        .prop_map(|(negative, integer, fraction)| {
            let mut text = String::new();
            if negative
                && !(integer == "0"
                    && fraction
                        .as_deref()
                        .is_none_or(|f| f.bytes().all(|b| b == b'0')))
            {
                text.push('-');
            }
            text.push_str(&integer);
            if let Some(fraction) = fraction {
                text.push('.');
                text.push_str(&fraction);
            }
            text
        })
}

proptest! {
    #[test]
    fn text_round_trips_exactly(text in decimal_text()) {
        let value: Decimal = text.parse().unwrap();
        prop_assert_eq!(value.to_string(), text.clone());
        let mut out = Vec::new();
        value.write_to(&mut out);
        prop_assert_eq!(out, text.into_bytes());
    }

    #[test]
    fn exponent_forms_equal_their_plain_forms(mantissa in -10i64.pow(15)..10i64.pow(15), exponent in -12i32..12) {
        let text = format!("{mantissa}e{exponent}");
        let value: Decimal = text.parse().unwrap();
        // Independent reading: scale the integer by hand.
        let expected = if exponent >= 0 {
            Decimal::new(i128::from(mantissa) * 10i128.pow(exponent as u32), 0).unwrap()
        } else {
            Decimal::new(i128::from(mantissa), (-exponent) as u8).unwrap()
        };
        prop_assert_eq!(value, expected);
        prop_assert_eq!(value.to_string().parse::<Decimal>().unwrap(), value);
    }

    #[test]
    fn order_agrees_with_integer_order_at_a_common_scale(
        a in -10i64.pow(17)..10i64.pow(17), sa in 0u8..10,
        b in -10i64.pow(17)..10i64.pow(17), sb in 0u8..10,
    ) {
        let x = Decimal::new(i128::from(a), sa).unwrap();
        let y = Decimal::new(i128::from(b), sb).unwrap();
        let common = sa.max(sb);
        let ax = i128::from(a) * 10i128.pow(u32::from(common - sa));
        let by = i128::from(b) * 10i128.pow(u32::from(common - sb));
        prop_assert_eq!(x.cmp(&y), ax.cmp(&by));
        prop_assert_eq!(x.checked_add(y).unwrap(), Decimal::new(ax + by, common).unwrap());
        prop_assert_eq!(x.checked_sub(y).unwrap(), Decimal::new(ax - by, common).unwrap());
    }

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
        let _ = Decimal::parse(&bytes);
    }

    #[test]
    fn serde_json_numbers_parse_to_the_same_text(value in -1.0e9f64..1.0e9) {
        // Whatever number text serde_json writes, we read it exactly: the
        // decimal's value equals the text's value (checked by re-parsing).
        let text = serde_json::to_string(&value).unwrap();
        let decimal: Decimal = text.parse().unwrap();
        prop_assert_eq!(decimal.to_string().parse::<f64>().unwrap(), value);
    }
}
