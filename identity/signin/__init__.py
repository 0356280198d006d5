"""Sign-in by SMS code: the codes, the sessions and the accounts."""
