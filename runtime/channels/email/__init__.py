"""The e-mail channel: a mailbox polled over IMAP (IDLE where offered), replies sent over SMTP.

See README.md in this package for the settings and the loop rules."""
