//! Wire shapes of the families whose objects are built for the answer rather
//! than stored as they are shown. (Dodo's objects are the stored domain types,
//! shown through `Grant::presented` and `LicenseKey::view`.)

pub mod appsmarket;
pub mod lrm;
