"""What a connector persists: connections, link sync state, webhook registrations, the
deliveries and events it has already handled, and reconciliation cursors."""
