//! What an embedding program names, in one `use orderwire::prelude::*`.

pub use orderwire_engine::gateway::{
    ConnectionEvent, Exchange, ExchangeConfig, ExchangeError, ExchangeHandle, GatewayConfig,
    GatewayEvent, InlineExchange, Outputs, Registry, RegistryError, RequestCallback, RequestEnd,
    RequestOutcome, Submission, SubmitError, Ticket, WaitError, WhenDisconnected, WhenLimited,
    print_requests,
};
pub use orderwire_engine::{ConnectionConfig, EngineConfig, TlsConfig};
pub use orderwire_protocol::model::{
    AmendOrder, BuildError, CancelOrders, ClientOrderId, Event, Method, NewOrder, OrderKind,
    OrderRef, OrderStatus, Request, Side, Subscription, Symbol, TimeInForce,
};
pub use orderwire_protocol::num::Decimal;
pub use orderwire_protocol::secret::Secret;
pub use orderwire_protocol::venue::Venue;
pub use orderwire_protocol::venue::binance::{BinanceApi, BinanceStreams};
pub use orderwire_protocol::venue::digifinex::DigiFinex;
pub use orderwire_protocol::venue::kraken::Kraken;
pub use orderwire_protocol::venue::upbit::Upbit;
