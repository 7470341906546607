//! Classifier (stub).
