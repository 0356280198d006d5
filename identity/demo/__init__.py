"""The demo: a synthetic register and what `hawiya demo` loads."""
