//! Shell command-line classification (POSIX splitting). Being built.
