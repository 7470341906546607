//! The escalation classifier: puts a Bash command, a permission-prompt message or a tool call
//! on the four axes (taste, architecture, ethics, reversibility) by the rules of a [`Policy`].
//!
//! The policy is YAML: the shipped `hooks/policy.yaml` (embedded), then the user's and the
//! project's files on top (see [`Policy::load`]); the format is described at the top of the
//! shipped file. serde_yaml stays inside this module.

mod input;
mod policy;

#[cfg(test)]
mod tests;

pub use input::Input;
pub use policy::Policy;
