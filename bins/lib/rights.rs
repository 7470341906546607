//! Rights (stub).
