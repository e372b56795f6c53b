//! The `receive-dodo-event` function: functions/src/routes/receive_dodo_event.rs.
functions::main!(receive_dodo_event);
