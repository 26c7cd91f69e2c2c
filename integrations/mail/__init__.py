"""Email: rendering templates into messages, and the transports that deliver them."""
