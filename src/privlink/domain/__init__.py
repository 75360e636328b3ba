"""Pure domain: validation, states and errors. Imports no I/O library."""
