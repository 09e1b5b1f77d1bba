//! The pipelined load generator (`--pipeline N`, N > 1): each keep-alive
//! connection writes N requests back to back in one write, then reads the N
//! answers, in order, before the next batch, as an HTTP/1.1 client (or an
//! attacker) may. Requests are written as raw HTTP/1.1 bytes and answers
//! parsed here (status line, `content-length` body; a chunked or
//! unframed answer is an error that drops the connection), so the
//! per-request read and write system calls of both sides are shared by N
//! requests. Latency of an answer is measured from its batch's write.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::load::{Load, Template};

/// One parsed answer at the start of a buffer: its status and its length
/// in bytes (head and body), or `None` while incomplete.
fn parse_answer(buf: &[u8]) -> Result<Option<(u16, usize)>, String> {
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| "answer head not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or("answer without an HTTP/1.1 status line")?;
    let mut length = None;
    for line in lines {
        let (name, value) = line.split_once(':').ok_or("header line without ':'")?;
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| "bad content-length")?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err("chunked answer: not supported by the pipelined driver".into());
        }
    }
    let body = match (length, status) {
        (Some(n), _) => n,
        (None, 204 | 304) | (None, 100..=199) => 0,
        (None, _) => return Err(format!("answer {status} without content-length")),
    };
    let total = head_end + 4 + body;
    Ok((buf.len() >= total).then_some((status, total)))
}

/// One connection's batches until `deadline`; answers counted into `hist`
/// and `statuses`. Returns on the deadline or on any error (the caller
/// reconnects).
async fn batches(
    addr: SocketAddr,
    template: &Template,
    depth: usize,
    deadline: Instant,
    hist: &mut Histogram<u64>,
    statuses: &mut BTreeMap<u16, u64>,
) -> Result<(), String> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    while Instant::now() < deadline {
        let mut batch = Vec::new();
        for _ in 0..depth {
            batch.extend_from_slice(&template.raw(addr));
        }
        let t = Instant::now();
        stream.write_all(&batch).await.map_err(|e| e.to_string())?;
        let mut answered = 0;
        while answered < depth {
            match parse_answer(&buf)? {
                Some((status, used)) => {
                    buf.drain(..used);
                    answered += 1;
                    let _ = hist.record(t.elapsed().as_micros() as u64);
                    *statuses.entry(status).or_insert(0u64) += 1;
                }
                None => {
                    let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
                    if n == 0 {
                        return Err("connection closed mid-batch".into());
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
            }
        }
        if !buf.is_empty() {
            return Err("bytes beyond the batch's answers".into());
        }
    }
    Ok(())
}

/// `conns` keep-alive connections, each sending `template` in batches of
/// `depth` pipelined requests until `duration` is over.
pub async fn drive_pipelined(
    addr: SocketAddr,
    template: &Template,
    conns: usize,
    duration: Duration,
    depth: usize,
) -> Load {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let template = template.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new(3).expect("histogram");
            let mut statuses = BTreeMap::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let done =
                    batches(addr, &template, depth, deadline, &mut hist, &mut statuses).await;
                if done.is_err() {
                    errors += 1;
                }
            }
            (hist, statuses, errors)
        }));
    }
    let mut load = Load::empty();
    let mut errors = 0;
    for t in tasks {
        let (h, s, e) = t.await.expect("load task");
        load.latency_us.add(h).expect("same bounds");
        for (k, v) in s {
            *load.statuses.entry(k).or_insert(0) += v;
        }
        errors += e;
    }
    load.count = load.latency_us.len();
    load.elapsed = started.elapsed();
    load.connection_errors = errors;
    load
}

#[cfg(test)]
mod tests {
    use super::parse_answer;

    #[test]
    fn answers_are_framed_by_content_length() {
        let two = b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        let (status, used) = parse_answer(two).unwrap().unwrap();
        assert_eq!((status, used), (401, two.len() - 38));
        assert_eq!(parse_answer(&two[used..]).unwrap(), Some((200, 38)));
        assert_eq!(parse_answer(&two[..used - 1]).unwrap(), None);
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").is_err());
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
    }
}
