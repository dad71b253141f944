//! One JSON line per gateway event: venue events as `decode` prints them
//! (with the exchange name added), the gateway's own as
//! `{"type":"gateway",...}`. `orderwire run` prints them live, `demo
//! --events` writes them, `orderwire replay` prints them from a capture:
//! the same events give the same lines.

use orderwire_engine::gateway::{GatewayEvent, Outputs};
use orderwire_protocol::model::{Event, Events, write_event_json, write_json_string};

/// The type a gateway event is counted under.
pub fn gateway_event_type(event: &GatewayEvent) -> &'static str {
    match event {
        GatewayEvent::Market(e)
        | GatewayEvent::Reply(e)
        | GatewayEvent::Account(e)
        | GatewayEvent::Problem(e) => e.type_name(),
        GatewayEvent::Fill(_) => "fill",
        GatewayEvent::Order(_) => "order_state",
        GatewayEvent::Answered { .. } => "answered",
        GatewayEvent::TimedOut { .. } => "timed_out",
        GatewayEvent::Released { .. } => "released",
        GatewayEvent::Dropped { .. } => "dropped",
        GatewayEvent::Connection(_) => "connection",
        GatewayEvent::Recycle { .. } => "recycle",
        GatewayEvent::Error(_) => "error",
        GatewayEvent::SubscriptionSilent { .. } => "subscription_silent",
        GatewayEvent::SubscriptionResumed { .. } => "subscription_resumed",
        _ => "other",
    }
}

/// One JSON line: venue events as `decode` prints them (with the exchange
/// name added), the gateway's own as `{"type":"gateway",...}`.
pub fn write_gateway_event(
    venue: &str,
    exchange: &str,
    event: &GatewayEvent,
    outputs: &Outputs,
    scratch: &mut Events,
    out: &mut Vec<u8>,
) {
    let venue_event = match event {
        GatewayEvent::Market(e)
        | GatewayEvent::Reply(e)
        | GatewayEvent::Account(e)
        | GatewayEvent::Problem(e) => Some(e),
        _ => None,
    };
    let fill;
    let venue_event = match (venue_event, event) {
        (Some(e), _) => Some(e),
        (None, GatewayEvent::Fill(f)) => {
            // The fill goes where its event indexes.
            scratch.clear();
            scratch.push_fill(f.clone());
            fill = Event::Fill(0);
            Some(&fill)
        }
        _ => None,
    };
    if let Some(event) = venue_event {
        if matches!(event, Event::Book(_)) {
            scratch.levels.clear();
            scratch.levels.extend_from_slice(&outputs.levels);
        }
        write_event_json(venue, event, scratch, out);
        // `"exchange":` after the venue's fields.
        if out.last() == Some(&b'}') {
            out.pop();
            out.extend_from_slice(b",\"exchange\":");
            write_json_string(exchange, out);
            out.push(b'}');
        }
        return;
    }
    out.extend_from_slice(b"{\"venue\":");
    write_json_string(venue, out);
    out.extend_from_slice(b",\"exchange\":");
    write_json_string(exchange, out);
    if let GatewayEvent::Error(error) = event {
        // Typed: whose fault, and the codec's own message.
        out.extend_from_slice(b",\"type\":\"error\",\"blame\":");
        write_json_string(error.blame.as_str(), out);
        out.extend_from_slice(b",\"message\":");
        write_json_string(&error.kind.to_string(), out);
        out.push(b'}');
        return;
    }
    out.extend_from_slice(b",\"type\":\"gateway\",\"event\":");
    write_json_string(gateway_event_type(event), out);
    out.extend_from_slice(b",\"detail\":");
    write_json_string(&format!("{event:?}"), out);
    out.push(b'}');
}
