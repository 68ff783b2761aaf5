"""The UI's screens: board, check-in, new booking, booking detail, members, technicians, waitlist, dialogs."""
