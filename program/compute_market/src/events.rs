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
