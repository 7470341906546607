//! Audit log (stub).
