//! The event loop: one thread, one mio `Poll`, every connection.
//!
//! Each turn drains the command queue, waits for readiness (epoll, or a
//! zero-timeout poll when busy-polling), drives the ready connections, fires
//! due deadlines, and hands events to the event queue. The queue never
//! blocks the loop: when it is full, events wait in `overflow` and the loop
//! stops reading sockets until there is room again, so TCP pushes back on
//! the server and nothing is dropped.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use mio::{Events, Poll, Registry, Token};

use crate::clock::Clock;
use crate::config::{ConnHooks, WaitStrategy};
use crate::connection::{Connection, Outbox};
use crate::event::{Command, ConnError, Disconnect, EngineEvent, Rejection};
use crate::pool::BufferPool;
use crate::timers::Timers;

pub(crate) const WAKER: Token = Token(usize::MAX);

/// How long a blocked loop sleeps at most while events wait for room.
const OVERFLOW_RETRY: Duration = Duration::from_micros(200);

/// What `Engine::start` hands the reactor thread.
pub(crate) struct ReactorParts<H: ConnHooks> {
    pub(crate) poll: Poll,
    /// The command queue (threaded); None when the caller drives the loop
    /// itself and hands commands in directly (inline).
    pub(crate) commands: Option<Receiver<Command>>,
    pub(crate) events: EventSink,
    pub(crate) pool: BufferPool,
    pub(crate) sleeping: Arc<AtomicBool>,
    pub(crate) clock: Clock,
    pub(crate) wait: WaitStrategy,
    pub(crate) spin_before_block: Duration,
    pub(crate) seed: u64,
    /// The driver's per-connect hooks.
    pub(crate) hooks: H,
}

pub(crate) struct Reactor<H: ConnHooks> {
    poll: Poll,
    commands: Option<Receiver<Command>>,
    sleeping: Arc<AtomicBool>,
    clock: Clock,
    wait: WaitStrategy,
    /// In `Block` mode, keep polling without sleeping for this long (ns)
    /// after the last command or socket event.
    spin_before_block: u64,
    last_activity: u64,
    state: State<H>,
}

/// Everything the loop mutates while it drives a connection.
struct State<H: ConnHooks> {
    slots: Vec<Option<Connection>>,
    by_id: HashMap<u32, usize>,
    timers: Timers,
    outbox: Queue<H>,
    seed: u64,
    /// The shutdown deadline, once asked to stop.
    stopping: Option<u64>,
}

/// Where events go: the bounded queue to a user thread (threaded), or a
/// local queue the same thread drains after each turn (inline: no hop, no
/// atomic; it is emptied by the caller between turns, so it holds at most
/// one turn's events).
pub(crate) enum EventSink {
    /// The bounded lock-free queue of a threaded engine.
    Channel(Sender<EngineEvent>),
    /// The caller's own queue, on the caller's thread.
    Local(VecDeque<EngineEvent>),
}

/// The event queue with its overflow.
struct Queue<H: ConnHooks> {
    events: EventSink,
    overflow: VecDeque<EngineEvent>,
    pool: BufferPool,
    hooks: H,
}

impl<H: ConnHooks> Outbox for Queue<H> {
    #[inline]
    fn emit(&mut self, event: EngineEvent) {
        let events = match &mut self.events {
            EventSink::Local(events) => return events.push_back(event),
            EventSink::Channel(events) => events,
        };
        if !self.overflow.is_empty() {
            self.overflow.push_back(event);
            return;
        }
        match events.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(event)) => self.overflow.push_back(event),
            // No receiver: the Engine handle is gone; nobody can be told.
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    fn pool(&self) -> &BufferPool {
        &self.pool
    }

    fn hooks(&mut self) -> &mut dyn ConnHooks {
        &mut self.hooks
    }
}

impl<H: ConnHooks> Queue<H> {
    /// Moves waiting events into the queue; returns whether none wait.
    fn drain_overflow(&mut self) -> bool {
        let EventSink::Channel(events) = &self.events else {
            // A local queue never overflows.
            return true;
        };
        while let Some(event) = self.overflow.pop_front() {
            match events.try_send(event) {
                Ok(()) => {}
                Err(TrySendError::Full(event)) => {
                    self.overflow.push_front(event);
                    return false;
                }
                Err(TrySendError::Disconnected(_)) => self.overflow.clear(),
            }
        }
        true
    }
}

impl<H: ConnHooks> Reactor<H> {
    pub(crate) fn new(parts: ReactorParts<H>) -> Reactor<H> {
        Reactor {
            poll: parts.poll,
            commands: parts.commands,
            sleeping: parts.sleeping,
            clock: parts.clock,
            wait: parts.wait,
            spin_before_block: crate::clock::nanos(parts.spin_before_block),
            last_activity: 0,
            state: State {
                slots: Vec::new(),
                by_id: HashMap::new(),
                timers: Timers::default(),
                outbox: Queue {
                    events: parts.events,
                    overflow: VecDeque::with_capacity(1024),
                    pool: parts.pool,
                    hooks: parts.hooks,
                },
                seed: parts.seed,
                stopping: None,
            },
        }
    }

    /// Runs until shut down or until every handle is gone; returns how many
    /// events could not be delivered.
    pub(crate) fn run(mut self) -> usize {
        let mut events = Events::with_capacity(1024);
        while !self.turn(&mut events, None) {}
        self.answer_pending_commands();
        self.state.outbox.emit(EngineEvent::Stopped);
        self.flush_before_exit();
        self.state.outbox.overflow.len()
    }

    /// One turn of the loop: commands, readiness (waiting at most the
    /// earlier of the loop's own deadline and `cap`), the ready
    /// connections, due deadlines. Returns whether the loop is finished
    /// (shut down, every connection gone, or epoll failed).
    pub(crate) fn turn(&mut self, events: &mut Events, cap: Option<Duration>) -> bool {
        let now = self.clock.now_ns();
        let disconnected = self.drain_commands(now);
        let queue_has_room = self.state.outbox.drain_overflow();
        if queue_has_room {
            self.resume_deferred_reads(now);
        }
        if disconnected && self.state.stopping.is_none() {
            // Every Engine handle is gone: stop as if asked, quickly.
            self.begin_shutdown(now, Duration::from_millis(100));
        }
        if self.finished(now) {
            return true;
        }
        let mut timeout = self.poll_timeout(now);
        if let Some(cap) = cap {
            timeout = Some(timeout.map_or(cap, |t| t.min(cap)));
        }
        if timeout != Some(Duration::ZERO) {
            self.sleeping.store(true, Ordering::SeqCst);
            // A command, or a driver deadline moved earlier, between the
            // timeout's computation and `sleeping`: the submitter saw the
            // loop awake and did not wake it, so look again now.
            let sooner = self.state.outbox.hooks.deadline_ns().is_some_and(|at| {
                timeout.is_none_or(|t| at < now.saturating_add(crate::clock::nanos(t)))
            });
            if sooner || self.commands.as_ref().is_some_and(|c| !c.is_empty()) {
                self.sleeping.store(false, Ordering::SeqCst);
                return false;
            }
        }
        let polled = self.poll.poll(events, timeout);
        self.sleeping.store(false, Ordering::SeqCst);
        if let Err(error) = polled {
            if error.kind() != std::io::ErrorKind::Interrupted {
                // epoll itself failed: nothing can be driven any more.
                self.fail_everything(error);
                return true;
            }
        }
        let now = self.clock.now_ns();
        if events.iter().any(|e| e.token() != WAKER) {
            self.last_activity = now;
        }
        let reads_allowed = self.state.outbox.overflow.is_empty();
        let registry = self.poll.registry();
        for event in events.iter() {
            let slot = event.token().0;
            if let Some(Some(conn)) = self.state.slots.get_mut(slot) {
                conn.on_ready(registry, event, now, &mut self.state.outbox, reads_allowed);
                self.state.timers.set(slot, conn.deadline());
            }
        }
        self.fire_timers(now);
        if self
            .state
            .outbox
            .hooks
            .deadline_ns()
            .is_some_and(|at| at <= now)
        {
            self.state.outbox.hooks.on_deadline(now);
        }
        self.reap();
        false
    }

    /// The events a turn or a command left in a local sink (inline).
    pub(crate) fn local_events(&mut self) -> Option<&mut VecDeque<EngineEvent>> {
        match &mut self.state.outbox.events {
            EventSink::Local(events) => Some(events),
            EventSink::Channel(_) => None,
        }
    }

    /// The driver's per-connect hooks (inline: the driver reaches what it
    /// owns through them between turns).
    pub(crate) fn hooks_mut(&mut self) -> &mut H {
        &mut self.state.outbox.hooks
    }

    /// See [`Reactor::hooks_mut`].
    pub(crate) fn hooks(&self) -> &H {
        &self.state.outbox.hooks
    }

    /// Carries out a command now, on the caller's thread (inline).
    pub(crate) fn command_now(&mut self, command: Command) {
        let now = self.clock.now_ns();
        self.last_activity = now;
        self.command(command, now);
    }

    /// Starts the close handshakes of every connection (inline shutdown).
    pub(crate) fn shut_down_now(&mut self, grace: Duration) {
        let now = self.clock.now_ns();
        self.begin_shutdown(now, grace);
    }

    /// After the last turn (inline): `Stopped`.
    pub(crate) fn stopped(&mut self) {
        self.state.outbox.emit(EngineEvent::Stopped);
    }

    fn poll_timeout(&self, now: u64) -> Option<Duration> {
        if self.wait == WaitStrategy::BusyPoll
            || now.saturating_sub(self.last_activity) < self.spin_before_block
        {
            return Some(Duration::ZERO);
        }
        let next = match (
            self.state.timers.next(),
            self.state.outbox.hooks.deadline_ns(),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut timeout = next.map(|deadline| Duration::from_nanos(deadline.saturating_sub(now)));
        // Events waiting for room: a user thread that makes room does not
        // wake the reactor, so it must look again soon. Checked now, not at
        // the top of the turn: the reads resumed since may have refilled it.
        if !self.state.outbox.overflow.is_empty() {
            timeout = Some(timeout.map_or(OVERFLOW_RETRY, |t| t.min(OVERFLOW_RETRY)));
        }
        if let Some(stop) = self.state.stopping {
            let until_stop = Duration::from_nanos(stop.saturating_sub(now));
            timeout = Some(timeout.map_or(until_stop, |t| t.min(until_stop)));
        }
        timeout
    }

    /// Returns whether the command queue has no sender left.
    fn drain_commands(&mut self, now: u64) -> bool {
        loop {
            // Inline: commands were carried out when they were given.
            let Some(commands) = &self.commands else {
                return false;
            };
            match commands.try_recv() {
                Ok(command) => {
                    self.last_activity = now;
                    self.command(command, now);
                }
                Err(crossbeam_channel::TryRecvError::Empty) => return false,
                Err(crossbeam_channel::TryRecvError::Disconnected) => return true,
            }
        }
    }

    fn command(&mut self, command: Command, now: u64) {
        let registry = self.poll.registry();
        let state = &mut self.state;
        match command {
            Command::Shutdown { grace } => self.begin_shutdown(now, grace),
            Command::Connect { .. } if state.stopping.is_some() => {
                state.outbox.emit(EngineEvent::Rejected {
                    command,
                    reason: Rejection::Closing,
                })
            }
            Command::Connect {
                conn,
                config,
                addrs,
            } => {
                if state.by_id.contains_key(&conn.0) {
                    return state.outbox.emit(EngineEvent::Rejected {
                        command: Command::Connect {
                            conn,
                            config,
                            addrs,
                        },
                        reason: Rejection::Invalid(format!("connection {} exists", conn.0)),
                    });
                }
                let slot = state
                    .slots
                    .iter()
                    .position(Option::is_none)
                    .unwrap_or_else(|| {
                        state.slots.push(None);
                        state.slots.len() - 1
                    });
                state.seed = state
                    .seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                match Connection::new(conn, Token(slot), *config, addrs, state.seed, now) {
                    Ok(connection) => {
                        state.timers.set(slot, connection.deadline());
                        state.slots[slot] = Some(connection);
                        state.by_id.insert(conn.0, slot);
                        // The first attempt starts now, not at the next turn.
                        fire_slot(state, registry, slot, now);
                    }
                    Err(error) => {
                        state.outbox.emit(EngineEvent::Disconnected {
                            conn,
                            reason: Disconnect::Failed(error),
                        });
                        state.outbox.emit(EngineEvent::Closed { conn });
                    }
                }
            }
            Command::Send { conn, .. }
            | Command::Ping { conn, .. }
            | Command::Pong { conn, .. }
            | Command::Close { conn, .. }
            | Command::Disconnect { conn }
            | Command::Reconnect { conn } => {
                let Some(&slot) = state.by_id.get(&conn.0) else {
                    return state.outbox.emit(EngineEvent::Rejected {
                        command,
                        reason: Rejection::UnknownConnection,
                    });
                };
                if let Some(Some(connection)) = state.slots.get_mut(slot) {
                    connection.command(registry, command, now, &mut state.outbox);
                    state.timers.set(slot, connection.deadline());
                }
            }
        }
        self.reap();
    }

    fn begin_shutdown(&mut self, now: u64, grace: Duration) {
        if self.state.stopping.is_some() {
            return;
        }
        self.state.stopping = Some(now.saturating_add(crate::clock::nanos(grace)));
        let registry = self.poll.registry();
        for (slot, conn) in self.state.slots.iter_mut().enumerate() {
            if let Some(conn) = conn {
                conn.shut_down(registry, now, &mut self.state.outbox);
                self.state.timers.set(slot, conn.deadline());
            }
        }
        self.reap();
    }

    fn finished(&mut self, now: u64) -> bool {
        let Some(stop) = self.state.stopping else {
            return false;
        };
        if now >= stop {
            let registry = self.poll.registry();
            for conn in self.state.slots.iter_mut().flatten() {
                conn.abort(registry, Disconnect::Requested, now, &mut self.state.outbox);
            }
            self.reap();
        }
        self.state.slots.iter().all(Option::is_none)
    }

    fn fire_timers(&mut self, now: u64) {
        let registry = self.poll.registry();
        // Each due connection fires once per turn, even if its next deadline
        // is already past.
        for slot in 0..self.state.timers.len() {
            if self.state.timers.is_due(slot, now) {
                fire_slot(&mut self.state, registry, slot, now);
            }
        }
    }

    fn resume_deferred_reads(&mut self, now: u64) {
        let registry = self.poll.registry();
        for (slot, conn) in self.state.slots.iter_mut().enumerate() {
            if let Some(conn) = conn {
                conn.resume_deferred_read(registry, now, &mut self.state.outbox);
                self.state.timers.set(slot, conn.deadline());
            }
        }
    }

    /// Frees the slots of connections that are gone for good.
    fn reap(&mut self) {
        for (slot, entry) in self.state.slots.iter_mut().enumerate() {
            if entry.as_ref().is_some_and(Connection::is_dead) {
                if let Some(conn) = entry.take() {
                    self.state.by_id.remove(&conn.id.0);
                }
                self.state.timers.set(slot, None);
            }
        }
    }

    fn fail_everything(&mut self, error: std::io::Error) {
        let registry = self.poll.registry();
        let now = self.clock.now_ns();
        // Every connection is told why; `Stopped` follows.
        for conn in self.state.slots.iter_mut().flatten() {
            let reason = Disconnect::Failed(ConnError::Io(std::io::Error::new(
                error.kind(),
                format!("the reactor's epoll failed: {error}"),
            )));
            conn.abort(registry, reason, now, &mut self.state.outbox);
        }
        self.reap();
    }

    /// Every command still queued comes back as `Rejected`.
    fn answer_pending_commands(&mut self) {
        let Some(commands) = &self.commands else {
            return;
        };
        while let Ok(command) = commands.try_recv() {
            self.state.outbox.emit(EngineEvent::Rejected {
                command,
                reason: Rejection::Closing,
            });
        }
    }

    /// The last events wait for room for at most a second, then the reactor
    /// exits; `Engine::shutdown` reports any it could not deliver.
    fn flush_before_exit(&mut self) {
        let give_up = self.clock.now_ns() + 1_000_000_000;
        while !self.state.outbox.drain_overflow() && self.clock.now_ns() < give_up {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
}

fn fire_slot<H: ConnHooks>(state: &mut State<H>, registry: &Registry, slot: usize, now: u64) {
    if let Some(Some(conn)) = state.slots.get_mut(slot) {
        conn.on_timeout(registry, now, &mut state.outbox);
        state.timers.set(slot, conn.deadline());
    }
}
