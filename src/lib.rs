//! `restate-classify`: classify economic indicators through a six-stage pipeline run as durable
//! workflows on a multi-node Restate cluster.
//!
//! The binary (`src/main.rs`) is a thin clap front-end over these modules; everything here returns
//! typed errors (`thiserror`) so that the binary can report them with context.

/// Declares a settings section once: the struct, each field an `Option` that clap fills from its
/// flag and environment variable and serde from the YAML file, and `over`, which layers one
/// source over another field by field (flags and environment over the file over defaults).
macro_rules! settings_section {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident: $ty:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: $ty,
            )*
        }

        impl $name {
            /// These settings over `base`, field by field: what is set here wins.
            pub fn over(self, base: Self) -> Self {
                Self { $( $field: crate::Layer::layer(self.$field, base.$field), )* }
            }
        }

        impl crate::Layer for $name {
            fn layer(self, base: Self) -> Self {
                self.over(base)
            }
        }
    };
}

/// How one setting of a [`settings_section!`] layers over another.
pub(crate) trait Layer {
    /// `self` over `base`.
    fn layer(self, base: Self) -> Self;
}

impl<T> Layer for Option<T> {
    fn layer(self, base: Self) -> Self {
        self.or(base)
    }
}

/// Maps (per-stage settings, prices) merge key by key, the upper layer's entry winning.
impl<K: Ord, V> Layer for std::collections::BTreeMap<K, V> {
    fn layer(self, mut base: Self) -> Self {
        base.extend(self);
        base
    }
}

pub mod app;
pub mod bench;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod dataset;
pub mod db;
pub mod host;
pub mod import;
pub mod llm;
pub mod pipeline;
pub mod report;
pub mod restate;
pub mod service;
pub mod sim;
pub mod submit;
pub mod tools;
