"""Users, passwords, sessions, API tokens and sign-in throttling."""
