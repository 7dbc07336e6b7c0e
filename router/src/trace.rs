//! W3C Trace Context: the router continues the client's trace (its `traceparent` header)
//! or starts one, and every subgraph fetch of the request carries the router's span as
//! the parent. Subgraphs put it on the events they publish, so one trace id follows a
//! request through the events it causes.

use http::{HeaderMap, HeaderValue};

pub const TRACEPARENT: &str = "traceparent";

/// A `traceparent`: version 00, a trace id, the parent span's id, and the sampled flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: [u8; 16],
    pub parent_id: [u8; 8],
    pub sampled: bool,
}

impl TraceParent {
    /// The router's span for a request: a child of the client's `traceparent` when it
    /// sent a valid one, otherwise the root of a new trace.
    pub fn for_request(headers: &HeaderMap) -> TraceParent {
        let client = headers
            .get(TRACEPARENT)
            .and_then(|v| v.to_str().ok())
            .and_then(TraceParent::parse);
        match client {
            Some(parent) => TraceParent {
                parent_id: span_id(),
                ..parent
            },
            None => TraceParent {
                trace_id: *uuid::Uuid::new_v4().as_bytes(),
                parent_id: span_id(),
                sampled: true,
            },
        }
    }

    /// Parses `00-<32 hex>-<16 hex>-<2 hex>`; later versions may append fields. All-zero
    /// ids and version `ff` are invalid.
    pub fn parse(text: &str) -> Option<TraceParent> {
        let mut parts = text.trim().split('-');
        let version = parts.next()?;
        let (trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?);
        if version.len() != 2 || version.eq_ignore_ascii_case("ff") {
            return None;
        }
        let version = u8::from_str_radix(version, 16).ok()?;
        if version == 0 && parts.next().is_some() {
            return None;
        }
        let trace_id: [u8; 16] = hex(trace)?;
        let parent_id: [u8; 8] = hex(parent)?;
        let [flags] = hex::<1>(flags)?;
        if trace_id == [0; 16] || parent_id == [0; 8] {
            return None;
        }
        Some(TraceParent {
            trace_id,
            parent_id,
            sampled: flags & 1 == 1,
        })
    }

    /// The header value, lowercase hex as the spec requires.
    pub fn header_value(&self) -> HeaderValue {
        let mut text = String::with_capacity(55);
        text.push_str("00-");
        push_hex(&mut text, &self.trace_id);
        text.push('-');
        push_hex(&mut text, &self.parent_id);
        text.push_str(if self.sampled { "-01" } else { "-00" });
        // Only ASCII hex digits and dashes.
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

fn span_id() -> [u8; 8] {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let mut id = [0; 8];
    id.copy_from_slice(&bytes[8..]);
    // Never all zeros (invalid): the random half has 62 random bits; force one.
    id[0] |= 1;
    id
}

fn hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != N * 2 {
        return None;
    }
    let mut out = [0; N];
    for (i, byte) in out.iter_mut().enumerate() {
        let pair = text.get(i * 2..i * 2 + 2)?;
        if !pair
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 15)] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_and_writes_the_spec_example() {
        let parent = TraceParent::parse(CLIENT).unwrap();
        assert!(parent.sampled);
        assert_eq!(parent.header_value(), CLIENT);
    }

    #[test]
    fn refuses_malformed_values() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
        // A later version may carry more fields; the first four are read.
        assert!(
            TraceParent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more")
                .is_some()
        );
    }

    #[test]
    fn continues_the_clients_trace_with_a_span_of_its_own() {
        let mut headers = HeaderMap::new();
        headers.insert(TRACEPARENT, HeaderValue::from_static(CLIENT));
        let ours = TraceParent::for_request(&headers);
        let client = TraceParent::parse(CLIENT).unwrap();
        assert_eq!(ours.trace_id, client.trace_id);
        assert_ne!(ours.parent_id, client.parent_id);

        headers.insert(TRACEPARENT, HeaderValue::from_static("garbage"));
        let fresh = TraceParent::for_request(&headers);
        assert_ne!(fresh.trace_id, client.trace_id);
        assert_ne!(fresh.trace_id, TraceParent::for_request(&headers).trace_id);
        let text = fresh.header_value();
        assert_eq!(TraceParent::parse(text.to_str().unwrap()), Some(fresh));
    }
}
