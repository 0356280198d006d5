"""The register: beneficiaries, their fields and civil IDs, and the CSV import."""
