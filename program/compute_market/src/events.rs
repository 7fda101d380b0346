//! Event emission: discriminator ‖ borsh payload via sol_log_data.

use crate::sdk::bytes::Writer;
use crate::sdk::log::emit;

pub type Event = Writer<320>;

#[inline(always)]
pub fn start(discriminator: &[u8; 8]) -> Event {
    let mut w = Event::new();
    w.key8(discriminator);
    w
}

pub fn send(w: &Event) {
    emit(w.as_slice());
}

/// An event of exactly `N` bytes built on the stack at its size (hot path: no
/// copy of a 320-byte writer).
#[inline(always)]
pub fn start_sized<const N: usize>(discriminator: &[u8; 8]) -> Writer<N> {
    let mut w = Writer::<N>::new();
    w.key8(discriminator);
    w
}

#[inline(always)]
pub fn send_sized<const N: usize>(w: &Writer<N>) {
    emit(w.as_slice());
}
