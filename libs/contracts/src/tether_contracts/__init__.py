"""HTTP contracts shared by the gateway and the services behind it."""
