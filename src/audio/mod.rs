//! Getting audio in: decoding files and pipes, capturing from microphones.

pub mod decode;
