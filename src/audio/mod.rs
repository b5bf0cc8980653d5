//! Getting audio in: decoding files and pipes, capturing from microphones.

pub mod capture;
pub mod decode;
pub mod source;
pub mod wav;
