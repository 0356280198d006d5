"""The checking side's HTTP face; blueprints.py registers its blueprints."""
