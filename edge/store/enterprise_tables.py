"""Tables of enterprise (fleet) accounts: see edge/services/enterprise.py."""
