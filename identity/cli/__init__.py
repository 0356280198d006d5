"""The `hawiya` commands, one module per command group; commands.py adds them to the app."""
