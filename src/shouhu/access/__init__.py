"""Who may do what: roles, row scopes and field rules, decided in one place (policy.py)."""
