//! The order state machine: which status may follow which.

/// An order's status, as docs/events.md names them, plus `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Sent, not yet acknowledged.
    PendingNew,
    /// Resting.
    New,
    /// Partly filled, still resting.
    PartiallyFilled,
    /// Done: fully filled.
    Filled,
    /// Done: canceled.
    Canceled,
    /// Done: refused.
    Rejected,
    /// Done: expired (time in force, IOC remainder, dead-man switch).
    Expired,
    /// The request timed out or the connection dropped: the venue's view is
    /// not known until the order shows up again (reconciliation).
    Unknown,
}

/// What a status change means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// A valid change.
    Valid,
    /// The same status again (e.g. a second partial fill): nothing to report.
    Same,
    /// A change the state machine does not allow (reported, then applied if
    /// the venue insists: the venue is the source of truth).
    Invalid,
}

impl OrderStatus {
    /// The lower-case name docs/events.md uses.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingNew => "pending_new",
            OrderStatus::New => "new",
            OrderStatus::PartiallyFilled => "partially_filled",
            OrderStatus::Filled => "filled",
            OrderStatus::Canceled => "canceled",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Expired => "expired",
            OrderStatus::Unknown => "unknown",
        }
    }

    /// Filled, canceled, rejected or expired.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderStatus::Filled
                | OrderStatus::Canceled
                | OrderStatus::Rejected
                | OrderStatus::Expired
        )
    }

    /// Whether `self -> next` is allowed:
    /// pending_new -> new -> partially_filled -> filled / canceled / rejected /
    /// expired; any live state may go to unknown, and unknown may resolve to
    /// anything. A terminal state never changes.
    pub fn transition(self, next: OrderStatus) -> Transition {
        use OrderStatus::*;
        if self == next {
            return Transition::Same;
        }
        let valid = match (self, next) {
            (Filled | Canceled | Rejected | Expired, _) => false,
            (Unknown, _) => true,
            (_, Unknown) => true,
            (PendingNew, _) => true,
            (New, PartiallyFilled | Filled | Canceled | Expired) => true,
            (PartiallyFilled, Filled | Canceled | Expired) => true,
            _ => false,
        };
        if valid {
            Transition::Valid
        } else {
            Transition::Invalid
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::*;
    use super::*;

    #[test]
    fn the_lifecycle_moves_forward_only() {
        assert_eq!(PendingNew.transition(New), Transition::Valid);
        assert_eq!(New.transition(PartiallyFilled), Transition::Valid);
        assert_eq!(
            PartiallyFilled.transition(PartiallyFilled),
            Transition::Same
        );
        assert_eq!(PartiallyFilled.transition(Filled), Transition::Valid);
        assert_eq!(Filled.transition(Canceled), Transition::Invalid);
        assert_eq!(New.transition(PendingNew), Transition::Invalid);
        assert_eq!(New.transition(Rejected), Transition::Invalid);
        assert_eq!(New.transition(Unknown), Transition::Valid);
        assert_eq!(Unknown.transition(Filled), Transition::Valid);
        assert_eq!(Canceled.transition(Unknown), Transition::Invalid);
    }
}
