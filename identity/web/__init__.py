"""The issuing side's HTTP face; blueprints.py installs the edges and registers every blueprint."""
