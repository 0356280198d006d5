"""The digital ID: credentials, their tokens, the status lists and the signing keys' life."""
