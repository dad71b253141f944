//! KIS execution notices (kis.md "Realtime data", H0STCNI0/H0STCNI9): the
//! payload is base64 of AES-256-CBC ciphertext under the key and iv the
//! subscription's ack gave, PKCS#7-padded; the plaintext is 26 `^` fields
//! per record. An acknowledgement (CNTG_YN 1) becomes an `order_update`,
//! a fill (CNTG_YN 2) a `fill` and the order's `order_update`. A bad
//! ciphertext or padding is an error, never a panic.

use std::collections::HashMap;

use aes::Aes256;
use arrayvec::ArrayString;
use base64::Engine as _;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, KeyIvInit};

use crate::model::{Events, Fill, OrderId, OrderStatus, OrderUpdate, Side, inline};
use crate::num::Decimal;
use crate::venue::DecodeError;
use crate::venue::fields::field;

use super::records::{TradingDay, for_each_record, time_of_day};

/// A subscription's key and iv (from its ack's `output.key`/`iv`). Secret:
/// `Debug` shows neither.
#[derive(Clone)]
pub(super) struct NoticeKey {
    key: [u8; 32],
    iv: [u8; 16],
}

impl std::fmt::Debug for NoticeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoticeKey(***)")
    }
}

impl NoticeKey {
    /// From the ack's text: 32 and 16 ASCII bytes.
    pub(super) fn new(key: &[u8], iv: &[u8]) -> Option<NoticeKey> {
        Some(NoticeKey {
            key: key.try_into().ok()?,
            iv: iv.try_into().ok()?,
        })
    }

    /// base64, then AES-256-CBC, then PKCS#7 unpadding, into `scratch`
    /// (kept by the codec: no allocation once it has grown).
    pub(super) fn open<'a>(
        &self,
        payload: &[u8],
        scratch: &'a mut Vec<u8>,
    ) -> Result<&'a [u8], DecodeError> {
        scratch.clear();
        base64::engine::general_purpose::STANDARD
            .decode_vec(payload, scratch)
            .map_err(|_| field("notice", "not base64"))?;
        if scratch.is_empty() || scratch.len() % 16 != 0 {
            return Err(field("notice", "not whole AES blocks"));
        }
        cbc::Decryptor::<Aes256>::new(&self.key.into(), &self.iv.into())
            .decrypt_padded_mut::<Pkcs7>(scratch)
            .map_err(|_| field("notice", "bad padding (wrong key or iv?)"))
    }
}

/// Fills per order so far, to tell a partial fill from the last one (the
/// notice carries the order quantity and this fill's, not the total).
#[derive(Debug, Default)]
pub(super) struct FilledSoFar {
    by_order: HashMap<OrderId, Decimal>,
}

/// Orders followed at once (an order leaves when it is filled, canceled
/// or rejected); past this every total is dropped at once (a later fill of
/// such an order reads as partial until its quantity adds up again).
const FOLLOWED: usize = 4096;

impl FilledSoFar {
    fn add(&mut self, order: OrderId, qty: Decimal) -> Decimal {
        if self.by_order.len() >= FOLLOWED && !self.by_order.contains_key(&order) {
            self.by_order.clear();
        }
        let total = self.by_order.entry(order).or_insert(Decimal::ZERO);
        *total = total.checked_add(qty).unwrap_or(*total);
        *total
    }

    fn done(&mut self, order: &OrderId) {
        self.by_order.remove(order);
    }
}

fn text<'a>(value: &'a [u8], name: &'static str) -> Result<&'a str, DecodeError> {
    std::str::from_utf8(value).map_err(|_| field(name, "not text"))
}

fn order_id(value: &[u8], name: &'static str) -> Result<OrderId, DecodeError> {
    inline(text(value, name)?).ok_or(field(name, "too long"))
}

fn decimal(value: &[u8], name: &'static str) -> Result<Decimal, DecodeError> {
    Decimal::parse(value).map_err(|_| field(name, "not a decimal"))
}

/// The decrypted records to events (fields by kis.md's H0STCNI0 table).
pub(super) fn decode(
    plain: &[u8],
    count: usize,
    day: &TradingDay,
    wall_ns: i64,
    filled: &mut FilledSoFar,
    out: &mut Events,
) -> Result<(), DecodeError> {
    super::records::check_layout(plain, count, 26)?;
    for_each_record(plain, 26, |r| {
        let get = |index: usize| r.get(index).copied().unwrap_or_default();
        let symbol = inline(text(get(8), "STCK_SHRN_ISCD")?);
        let side = match get(4) {
            b"01" => Some(Side::Sell),
            b"02" => Some(Side::Buy),
            _ => None,
        };
        let ts = time_of_day(get(11)).map(|s| day.ts(s, wall_ns));
        let order = order_id(get(2), "ODER_NO")?;
        match get(13) {
            // A fill: 9 the filled quantity, 10 the fill price.
            b"2" => {
                let qty = decimal(get(9), "CNTG_QTY")?;
                let price = decimal(get(10), "CNTG_UNPR")?;
                let ordered = decimal(get(16), "ODER_QTY")?;
                let total = filled.add(order, qty);
                let status = if total >= ordered {
                    filled.done(&order);
                    OrderStatus::Filled
                } else {
                    OrderStatus::PartiallyFilled
                };
                // KIS gives no fill id: the order, the time and the total
                // filled after it tell one fill from another.
                let mut trade_id = ArrayString::new();
                let parts = [
                    text(get(2), "ODER_NO")?,
                    "-",
                    text(get(11), "STCK_CNTG_HOUR")?,
                    "-",
                ];
                for part in parts {
                    trade_id
                        .try_push_str(part)
                        .map_err(|_| field("ODER_NO", "too long"))?;
                }
                let mut total_text = ArrayString::<48>::new();
                let _ = std::fmt::write(&mut total_text, format_args!("{total}"));
                trade_id
                    .try_push_str(&total_text)
                    .map_err(|_| field("ODER_NO", "too long"))?;
                out.push_order_update(OrderUpdate {
                    order_id: order,
                    client_order_id: None,
                    symbol,
                    side,
                    status,
                    price: None,
                    qty: Some(ordered),
                    filled_qty: Some(total),
                    from_snapshot: false,
                    ts,
                    detail: Default::default(),
                });
                out.push_fill(Fill {
                    order_id: order,
                    client_order_id: None,
                    symbol,
                    side,
                    price,
                    qty,
                    fee: None,
                    fee_asset: None,
                    trade_id,
                    exec_id: None,
                    liquidity: None,
                    ts,
                    derived: false,
                });
            }
            // An order, amend, cancel or reject acknowledgement: 9 the
            // order quantity, 10 the order price.
            b"1" => {
                let rejected = matches!(get(12), b"1" | b"Y");
                let (target, status) = match (rejected, get(5), get(14)) {
                    (true, _, _) => (order, OrderStatus::Rejected),
                    // A cancel, confirmed: the canceled order is the
                    // original one. Merely received (ACPT_YN 1), it ends
                    // nothing yet.
                    (false, b"2", b"2") => (order_id(get(3), "OODER_NO")?, OrderStatus::Canceled),
                    (false, b"2", _) => return Ok(()),
                    // IOC/FOK remainder canceled.
                    (false, _, b"3") => (order, OrderStatus::Canceled),
                    _ => (order, OrderStatus::New),
                };
                if matches!(status, OrderStatus::Canceled | OrderStatus::Rejected) {
                    filled.done(&target);
                }
                if get(5) == b"1" && !rejected {
                    // An amend makes a new order number: the original
                    // ends, the new one is live.
                    let original = order_id(get(3), "OODER_NO")?;
                    if original != order {
                        out.push_order_update(OrderUpdate {
                            order_id: original,
                            client_order_id: None,
                            symbol,
                            side,
                            status: OrderStatus::Canceled,
                            price: None,
                            qty: None,
                            filled_qty: None,
                            from_snapshot: false,
                            ts,
                            detail: Default::default(),
                        });
                    }
                }
                out.push_order_update(OrderUpdate {
                    order_id: target,
                    client_order_id: None,
                    symbol,
                    side,
                    status,
                    price: Some(decimal(get(10), "CNTG_UNPR")?),
                    qty: Some(decimal(get(9), "CNTG_QTY")?),
                    filled_qty: None,
                    from_snapshot: false,
                    ts,
                    detail: Default::default(),
                });
            }
            _ => return Err(field("CNTG_YN", "neither 1 nor 2")),
        }
        Ok(())
    })
}
