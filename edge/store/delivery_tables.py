"""Tables of service delivery (reports, feedback, conflicts with the customer): see edge/services/delivery.py."""
