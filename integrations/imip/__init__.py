"""iMIP (RFC 6047): calendar invitations, cancellations and replies carried by email."""
