"""Documents: issuing stamped PDFs, checking uploads, document types."""
