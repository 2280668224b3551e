//! Core functions on real published text: the dataset loaders, and the lexical judge's false
//! positives and recall (one test binary).

mod judge;
mod loaders;
