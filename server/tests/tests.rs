//! End-to-end tests of the reference server over real sockets, plus token
//! validation with the committed development keys. One test binary; shared
//! helpers live in `support`.

mod procs;
mod support;

mod concurrency;
mod decided;
mod edge;
mod faults;
mod history;
mod lockout;
mod process;
mod rows;
mod slow_clients;
mod tokens;
