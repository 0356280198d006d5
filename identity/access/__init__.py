"""Who may call us: agencies and their keys, back-office tokens, staff users and roles."""
