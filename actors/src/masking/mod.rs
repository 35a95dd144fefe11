//! PII masking: the pure engine and the actor that applies it to everything leaving the relay.

pub mod engine;

use crate::messages::{Mask, Masked, MaskingError};
use actix::{Actor, Context, Handler};
pub use engine::MaskingEngine;
use std::sync::Arc;

/// The masking actor: owns the compiled engine and masks payloads on request.
pub struct Masker {
    engine: Arc<MaskingEngine>,
}

impl Masker {
    pub fn new(engine: Arc<MaskingEngine>) -> Self {
        Masker { engine }
    }
}

impl Actor for Masker {
    type Context = Context<Self>;
}

impl Handler<Mask> for Masker {
    type Result = Result<Masked, MaskingError>;

    fn handle(&mut self, message: Mask, _ctx: &mut Context<Self>) -> Self::Result {
        let mut payload = message.payload;
        let counts = self.engine.mask_payload(&mut payload);
        Ok(Masked { payload, counts })
    }
}
