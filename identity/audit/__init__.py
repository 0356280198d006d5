"""What happened: the hash-chained audit log, its signed head, and the verification trail."""
