//! Reassembles fragmented WebSocket messages (continuation frames) under a size limit.

use actix_http::ws::Item;
use awc::ws::Frame;
use bytes::{Bytes, BytesMut};
use thiserror::Error;

/// A complete message from the control plane.
#[derive(Debug, Clone, PartialEq)]
pub enum Assembled {
    Text(String),
    Binary(Bytes),
}

/// Why a fragmented message was rejected.
#[derive(Debug, Error, PartialEq)]
pub enum ReassemblyError {
    #[error("message exceeds {limit} bytes")]
    TooLarge { limit: usize },
    #[error("continuation frame without a first frame")]
    UnexpectedContinuation,
    #[error("new message started before the previous one ended")]
    Interleaved,
    #[error("text message is not valid UTF-8")]
    InvalidUtf8,
}

/// Collects the pieces of one fragmented message at a time.
#[derive(Debug)]
pub struct Reassembler {
    limit: usize,
    partial: Option<(bool, BytesMut)>,
}

impl Reassembler {
    /// A reassembler accepting messages up to `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Reassembler {
            limit,
            partial: None,
        }
    }

    /// Feeds one data frame; returns a message when one is complete. Control frames are not data frames
    /// and are passed through as `Ok(None)`.
    pub fn push(&mut self, frame: Frame) -> Result<Option<Assembled>, ReassemblyError> {
        match frame {
            Frame::Text(bytes) => self.whole(true, bytes),
            Frame::Binary(bytes) => self.whole(false, bytes),
            Frame::Continuation(item) => self.piece(item),
            Frame::Ping(_) | Frame::Pong(_) | Frame::Close(_) => Ok(None),
        }
    }

    fn whole(&mut self, is_text: bool, bytes: Bytes) -> Result<Option<Assembled>, ReassemblyError> {
        if self.partial.is_some() {
            self.partial = None;
            return Err(ReassemblyError::Interleaved);
        }
        self.check_size(bytes.len())?;
        finish(is_text, bytes).map(Some)
    }

    fn piece(&mut self, item: Item) -> Result<Option<Assembled>, ReassemblyError> {
        match item {
            Item::FirstText(bytes) => self.start(true, bytes),
            Item::FirstBinary(bytes) => self.start(false, bytes),
            Item::Continue(bytes) => self.extend(bytes).map(|_| None),
            Item::Last(bytes) => {
                self.extend(bytes)?;
                let (is_text, buffer) = self
                    .partial
                    .take()
                    .ok_or(ReassemblyError::UnexpectedContinuation)?;
                finish(is_text, buffer.freeze()).map(Some)
            }
        }
    }

    fn start(&mut self, is_text: bool, bytes: Bytes) -> Result<Option<Assembled>, ReassemblyError> {
        if self.partial.is_some() {
            self.partial = None;
            return Err(ReassemblyError::Interleaved);
        }
        self.check_size(bytes.len())?;
        self.partial = Some((is_text, BytesMut::from(&bytes[..])));
        Ok(None)
    }

    fn extend(&mut self, bytes: Bytes) -> Result<(), ReassemblyError> {
        let limit = self.limit;
        let Some((_, buffer)) = self.partial.as_mut() else {
            return Err(ReassemblyError::UnexpectedContinuation);
        };
        if buffer.len() + bytes.len() > limit {
            self.partial = None;
            return Err(ReassemblyError::TooLarge { limit });
        }
        buffer.extend_from_slice(&bytes);
        Ok(())
    }

    fn check_size(&self, len: usize) -> Result<(), ReassemblyError> {
        if len > self.limit {
            return Err(ReassemblyError::TooLarge { limit: self.limit });
        }
        Ok(())
    }
}

fn finish(is_text: bool, bytes: Bytes) -> Result<Assembled, ReassemblyError> {
    if !is_text {
        return Ok(Assembled::Binary(bytes));
    }
    String::from_utf8(bytes.to_vec())
        .map(Assembled::Text)
        .map_err(|_| ReassemblyError::InvalidUtf8)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn text(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn whole_frames_pass_through() {
        let mut r = Reassembler::new(100);
        assert_eq!(
            r.push(Frame::Text(text("hi"))).unwrap(),
            Some(Assembled::Text("hi".into()))
        );
        assert_eq!(r.push(Frame::Ping(text("p"))).unwrap(), None);
    }

    #[test]
    fn fragments_are_joined() {
        let mut r = Reassembler::new(100);
        assert_eq!(
            r.push(Frame::Continuation(Item::FirstText(text("{\"a\""))))
                .unwrap(),
            None
        );
        assert_eq!(
            r.push(Frame::Continuation(Item::Continue(text(":"))))
                .unwrap(),
            None
        );
        let done = r.push(Frame::Continuation(Item::Last(text("1}")))).unwrap();
        assert_eq!(done, Some(Assembled::Text("{\"a\":1}".into())));
    }

    #[test]
    fn oversized_messages_are_refused_and_state_resets() {
        let mut r = Reassembler::new(4);
        r.push(Frame::Continuation(Item::FirstText(text("abc"))))
            .unwrap();
        assert_eq!(
            r.push(Frame::Continuation(Item::Continue(text("de")))),
            Err(ReassemblyError::TooLarge { limit: 4 })
        );
        assert_eq!(
            r.push(Frame::Text(text("ok"))).unwrap(),
            Some(Assembled::Text("ok".into()))
        );
        assert_eq!(
            r.push(Frame::Binary(text("12345"))),
            Err(ReassemblyError::TooLarge { limit: 4 })
        );
    }

    #[test]
    fn protocol_violations_are_errors() {
        let mut r = Reassembler::new(100);
        assert_eq!(
            r.push(Frame::Continuation(Item::Last(text("x")))),
            Err(ReassemblyError::UnexpectedContinuation)
        );
        r.push(Frame::Continuation(Item::FirstBinary(text("x"))))
            .unwrap();
        assert_eq!(
            r.push(Frame::Text(text("y"))),
            Err(ReassemblyError::Interleaved)
        );
        assert_eq!(
            r.push(Frame::Text(Bytes::from_static(&[0xff, 0xfe]))),
            Err(ReassemblyError::InvalidUtf8)
        );
    }
}
